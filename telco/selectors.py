"""Reads shared by every app."""

from django.db.models import Manager, Model, QuerySet

from telco.ids import parse_id


def row_with_id(rows: QuerySet | Manager, raw_id) -> Model | None:
    """The row of `rows` whose id is `raw_id` as a client sent it (text or number); None when no
    row has it or it is not an id at all (so a malformed id reads as unknown, never a 500)."""
    pk = parse_id(raw_id)
    return rows.filter(pk=pk).first() if pk is not None else None
