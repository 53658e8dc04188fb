"""Checks and writes the catalog services share: unique names, validity periods, rows named
by the client's ids, and saving a merge patch."""

from telco import clock
from telco.exceptions import DomainError
from telco.ids import parse_id


def check_name_free(model, name: str, *, label: str, instance=None) -> None:
    """Refuse a `name` that another row of `model` (other than `instance`) already has."""
    others = model.objects.filter(name=name)
    if instance is not None:
        others = others.exclude(pk=instance.pk)
    if others.exists():
        raise DomainError(f"A {label} named '{name}' exists.", field="name")


def save_changes(row, changes: dict):
    """Set the patched fields on `row`, stamp `last_update` and save those fields only."""
    for field, value in changes.items():
        setattr(row, field, value)
    row.last_update = clock.now()
    row.save(update_fields=[*changes, "last_update"])
    return row


def rows_with_ids(model, ids: list[str], *, field: str, label: str) -> list:
    """The rows of `model` the client's `ids` name, in their order, in one query; an id that
    names none raises `DomainError(field=<field>[<index>].id)`."""
    parsed = [parse_id(raw) for raw in ids]
    found = model.objects.in_bulk([i for i in parsed if i is not None])
    for index, (raw, row_id) in enumerate(zip(ids, parsed, strict=True)):
        if row_id not in found:
            raise DomainError(f"{label} '{raw}' does not exist.", field=f"{field}[{index}].id")
    return [found[i] for i in parsed]


def check_validity(valid_from, valid_to) -> None:
    """A validity period, when both ends are given, ends after it starts."""
    if valid_from and valid_to and valid_to <= valid_from:
        raise DomainError("The end must be after the start.", field="validFor.endDateTime")


def check_validity_patch(row, changes: dict) -> None:
    """The validity period `row` would have once `changes` apply ends after it starts."""
    check_validity(changes.get("valid_from", row.valid_from), changes.get("valid_to", row.valid_to))
