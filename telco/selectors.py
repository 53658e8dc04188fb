"""Reads shared by every app."""

from django.db.models import Manager, Model, QuerySet


def row_with_id(rows: QuerySet | Manager, raw_id) -> Model | None:
    """The row of `rows` whose id is `raw_id` as a client sent it (text or number); None when no
    row has it or it is not an id at all (so a malformed id reads as unknown, never a 500)."""
    raw = str(raw_id)
    return rows.filter(pk=int(raw)).first() if raw.isdigit() else None
