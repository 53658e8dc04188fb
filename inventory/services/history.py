"""The state history rows that products and services share: a creation, a change that keeps
the state."""

from django.db.models import Model


def record_creation(history: type[Model], fk: str, instance: Model, state: str, by: str) -> None:
    """The first history row of `instance` (its foreign key `fk` on `history`): born in `state`."""
    history.objects.create(**{fk: instance}, from_state="", to_state=state, changed_by=by)


def record_unchanged(
    history: type[Model], fk: str, instance: Model, field: str, by: str, reason: str
) -> None:
    """A history row for a change that keeps the state (new plan, new characteristics)."""
    state = getattr(instance, field)
    history.objects.create(
        **{fk: instance}, from_state=state, to_state=state, changed_by=by, reason=reason
    )
