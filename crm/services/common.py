"""Checks and writes every CRM service shares: attributes a caller may give, validity periods,
and saving the child rows (media, documents, profiles, contacts) of a new or changed owner."""

from collections.abc import Iterable

from telco.exceptions import DomainError


def check_valid_for(valid_from, valid_to, field: str) -> None:
    """A validity period, when both ends are given, ends after it starts (`field` names the end)."""
    if valid_from is not None and valid_to is not None and valid_to <= valid_from:
        raise DomainError("The end of the validity comes after its start.", field=field)


def is_current(row, now) -> bool:
    """`row` (with `valid_from` and `valid_to`) is in force at `now`."""
    return (row.valid_from is None or row.valid_from <= now) and (
        row.valid_to is None or row.valid_to > now
    )


def refuse_unknown_attributes(data: Iterable[str], known: Iterable[str], noun: str) -> None:
    """An attribute not in `known` is refused (the first one, by name)."""
    unknown = set(data) - set(known)
    if unknown:
        raise DomainError(f"Unknown {noun} attribute '{sorted(unknown)[0]}'.")


def known_attributes(data: dict, known: Iterable[str], noun: str) -> dict:
    """`data` with its text stripped; an attribute not in `known` is refused."""
    refuse_unknown_attributes(data, known, noun)
    return {key: value.strip() if isinstance(value, str) else value for key, value in data.items()}


def save_children(rows: list, **owner) -> None:
    """Save unsaved child rows (media, documents, profiles, contacts) under `owner` in one
    INSERT, e.g. `save_children(media, party=party)`."""
    if not rows:
        return
    for row in rows:
        for field, value in owner.items():
            setattr(row, field, value)
    type(rows[0]).objects.bulk_create(rows)
