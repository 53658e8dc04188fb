"""The one way an entity changes state: allowed moves declared as data, a history row per move."""

from collections.abc import Mapping
from contextlib import nullcontext

from django.db import connection, models, transaction

from telco import clock
from telco.exceptions import InvalidTransition


class StateChange(models.Model):
    """Abstract history row: from, to, who, when, why. Each stateful model has a concrete one."""

    from_state = models.CharField(max_length=32, blank=True)
    to_state = models.CharField(max_length=32)
    changed_at = models.DateTimeField(default=clock.now)
    changed_by = models.CharField(max_length=150, blank=True)
    reason = models.TextField(blank=True)

    class Meta:
        abstract = True
        ordering = ["changed_at", "id"]

    def __str__(self):
        return f"{self.from_state} → {self.to_state}"


def check_transition(transitions: Mapping, current: str, target: str, label: str) -> None:
    if target not in transitions.get(current, ()):
        raise InvalidTransition(f"{label} cannot move from '{current}' to '{target}'.")


def transition(
    instance: models.Model,
    target: str,
    *,
    transitions: Mapping,
    history: type[StateChange],
    history_fk: str,
    field: str = "state",
    by: str = "",
    reason: str = "",
    extra_updates: Mapping | None = None,
    is_locked: bool = False,
) -> models.Model:
    """Move `instance` to `target`: lock the row, refuse an illegal move, save, write history.

    `extra_updates` are other fields written in the same UPDATE (completion date, reason...).
    `is_locked`: the caller read `instance` under its row lock in this transaction, so it is
    not read again. Returns the refreshed instance.
    """
    model = type(instance)
    # Inside the caller's transaction no savepoint is needed: a refused move raises before any
    # write, and a failed write aborts the caller's transaction anyway. The savepoint's two
    # round trips per move were a fifth of an activation's queries.
    with nullcontext() if connection.in_atomic_block else transaction.atomic():
        locked = instance if is_locked else model.objects.select_for_update().get(pk=instance.pk)
        current = getattr(locked, field)
        check_transition(transitions, current, target, model._meta.verbose_name.capitalize())
        setattr(locked, field, target)
        fields = [field]
        for name, value in (extra_updates or {}).items():
            setattr(locked, name, value)
            fields.append(name)
        if hasattr(locked, "last_update"):
            locked.last_update = clock.now()
            fields.append("last_update")
        locked.save(update_fields=fields)
        history.objects.create(
            **{history_fk: locked},
            from_state=current,
            to_state=target,
            changed_by=by,
            reason=reason,
        )
    for name in fields:
        setattr(instance, name, getattr(locked, name))
    return instance


def transition_many(
    instances: list[models.Model],
    target: str,
    *,
    transitions: Mapping,
    history: type[StateChange],
    history_fk: str,
    field: str = "state",
    by: str = "",
    reason: str = "",
    extra_updates: Mapping | None = None,
) -> None:
    """`transition` for several rows of one model at once, in three statements whatever their
    number: lock them (in id order, as every locker does), refuse if any move is illegal
    (nothing written), one UPDATE, one INSERT of the history rows. The instances are updated."""
    if not instances:
        return
    model = type(instances[0])
    label = model._meta.verbose_name.capitalize()
    ids = sorted({instance.pk for instance in instances})
    with nullcontext() if connection.in_atomic_block else transaction.atomic():
        current = dict(
            model.objects.select_for_update()
            .filter(pk__in=ids)
            .order_by("pk")
            .values_list("pk", field)
        )
        for pk in ids:
            check_transition(transitions, current[pk], target, label)
        updates = {field: target, **(extra_updates or {})}
        if any(f.name == "last_update" for f in model._meta.concrete_fields):
            updates["last_update"] = clock.now()
        model.objects.filter(pk__in=ids).update(**updates)
        history.objects.bulk_create(
            history(
                **{f"{history_fk}_id": pk},
                from_state=current[pk],
                to_state=target,
                changed_by=by,
                reason=reason,
            )
            for pk in ids
        )
    for instance in instances:
        for name, value in updates.items():
            setattr(instance, name, value)
