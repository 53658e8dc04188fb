"""The one way an entity changes state: allowed moves declared as data, a history row per move."""

from collections.abc import Collection, Mapping

from django.db import connection, models

from telco import clock
from telco.db import prepared_cursor
from telco.exceptions import InvalidTransition
from telco.transactions import atomic_in_caller


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
    only_from: Collection[str] | None = None,
    increments: Collection[str] = (),
    guard: tuple[str, list] | None = None,
    durable: bool = True,
) -> models.Model | None:
    """Move `instance` to `target`: lock the row, refuse an illegal move, save, write history.

    `extra_updates` are other fields written in the same UPDATE (completion date, reason...);
    `increments` are counters (attempts) raised by one in it. With `only_from`, a row found
    (once locked) in another state was moved meanwhile by someone else: it is left as it is and
    None is returned, as a conditional UPDATE would. Any other illegal move raises
    `InvalidTransition`, nothing written. Returns `instance`, its written fields updated.

    `guard` is an UPDATE (SQL, parameters) that runs first and must change a row for the move
    to happen, else nothing moves and None is returned: a step starts only while its order
    runs, and the UPDATE that records the order's progress takes the order's lock first.

    `durable=False`, for a move made in a transaction of its own: it commits without waiting
    for its WAL to reach the disk (`synchronous_commit` off for that transaction). A crash may
    then lose it, and the moves made after it, never an earlier one; for records whose loss
    only makes work be done again, idempotently (a workflow step's start and end). Inside a
    caller's transaction it is ignored: that commit stays durable.

    On PostgreSQL the lock, the checked UPDATE and the history row are one statement: a state
    move is the unit of every workflow (an activation makes about thirty), and three round
    trips and three compiled querysets each were most of their cost.
    """
    model = type(instance)
    updates = {field: target, **(extra_updates or {})}
    if any(each.name == "last_update" for each in model._meta.concrete_fields):
        updates["last_update"] = clock.now()
    allowed = [state for state, targets in transitions.items() if target in targets]
    if only_from is not None:
        allowed = [state for state in allowed if state in only_from]
    arguments = (instance, field, updates, increments, allowed, history, history_fk, by, reason)
    if connection.vendor == "postgresql":
        asynchronous = not durable and not connection.in_atomic_block
        current, written = _move_in_one_statement(*arguments, guard, asynchronous=asynchronous)
    else:
        current, written = _move_by_orm(*arguments, guard)
    if current is GUARD_REFUSED:
        return None
    if written is None:
        if only_from is not None and current not in only_from:
            return None
        check_transition(transitions, current, target, model._meta.verbose_name.capitalize())
    for name, value in {**updates, **(written or {})}.items():
        setattr(instance, name, value)
    return instance


# What the move functions return as the state found when the guard changed no row.
GUARD_REFUSED = object()


def _assignments(model, updates: Mapping) -> tuple[list[str], list]:
    """The SET clauses (`column = %s`) of `updates` (field name -> value) and their values."""
    assignments, values = [], []
    for name, value in updates.items():
        model_field = model._meta.get_field(name)
        if isinstance(value, models.Model):
            value = value.pk
        assignments.append(f"{connection.ops.quote_name(model_field.column)} = %s")
        values.append(model_field.get_db_prep_save(value, connection))
    return assignments, values


# A CTE of the move's statement, joined so that it runs: `synchronous_commit` off for the
# statement's own transaction (`set_config`'s third argument: local to it).
ASYNCHRONOUS_COMMIT = """,
        asynchronous_commit AS (SELECT set_config('synchronous_commit', 'off', true))"""


def _move_in_one_statement(
    instance,
    field,
    updates,
    increments,
    allowed,
    history,
    history_fk,
    by,
    reason,
    guard,
    *,
    asynchronous: bool = False,
) -> tuple[str, dict | None]:
    """(the state found under the lock, the incremented counters or None when not moved).
    `asynchronous`: the statement is its own transaction and commits without a WAL flush."""
    model = type(instance)
    meta, quote = model._meta, connection.ops.quote_name
    table, pk = quote(meta.db_table), quote(meta.pk.column)
    state = quote(meta.get_field(field).column)
    assignments, values = _assignments(model, updates)
    counters = [quote(meta.get_field(name).column) for name in increments]
    assignments += [f"{column} = moving.{column} + 1" for column in counters]
    history_meta = history._meta
    history_column = quote(history_meta.get_field(history_fk).column)
    guard_sql, guard_params = guard or ("SELECT 1", [])
    statement = f"""
        WITH guard AS ({guard_sql}{" RETURNING 1" if guard else ""}),
        old AS (
            SELECT {pk}, {state} FROM {table}
            WHERE {pk} = %s AND EXISTS (SELECT 1 FROM guard) FOR UPDATE
        ),
        moved AS (
            UPDATE {table} AS moving SET {", ".join(assignments)}
            FROM old WHERE moving.{pk} = old.{pk} AND old.{state} = ANY(%s::text[])
            RETURNING old.{state} AS from_state{"".join(f", moving.{c}" for c in counters)}
        ),
        noted AS (
            INSERT INTO {quote(history_meta.db_table)}
                ({history_column}, from_state, to_state, changed_at, changed_by, reason)
            SELECT %s, from_state, %s, %s, %s, %s FROM moved
        ){ASYNCHRONOUS_COMMIT if asynchronous else ""}
        SELECT EXISTS (SELECT 1 FROM guard), old.{state}, moved.*
        FROM (SELECT 1) AS one LEFT JOIN old ON TRUE LEFT JOIN moved ON TRUE
        {"LEFT JOIN asynchronous_commit ON TRUE" if asynchronous else ""}
    """  # noqa: S608 - names come from model metadata; every value is a parameter
    parameters = [instance.pk, *values, allowed, instance.pk, updates[field], clock.now(), by]
    with prepared_cursor() as cursor:
        cursor.execute(statement, [*guard_params, *parameters, reason])
        guarded, current, from_state, *counted = cursor.fetchone()
    if not guarded:
        return GUARD_REFUSED, None
    if current is None:
        raise model.DoesNotExist(f"{meta.object_name} {instance.pk} does not exist.")
    if from_state is None:
        return current, None
    return current, dict(zip(increments, counted, strict=True))


def _move_by_orm(
    instance, field, updates, increments, allowed, history, history_fk, by, reason, guard
) -> tuple[str, dict | None]:
    """`_move_in_one_statement` where data-modifying CTEs are missing (SQLite: the demo)."""
    model = type(instance)
    with atomic_in_caller():
        if guard is not None:
            with connection.cursor() as cursor:
                cursor.execute(*guard)
                if not cursor.rowcount:
                    return GUARD_REFUSED, None
        locked = model.objects.select_for_update().get(pk=instance.pk)
        current = getattr(locked, field)
        if current not in allowed:
            return current, None
        counted = {name: getattr(locked, name) + 1 for name in increments}
        for name, value in {**updates, **counted}.items():
            setattr(locked, name, value)
        locked.save(update_fields=[*updates, *counted])
        history.objects.create(
            **{history_fk: locked},
            from_state=current,
            to_state=updates[field],
            changed_by=by,
            reason=reason,
        )
    return current, counted


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
    """`transition` for several rows of one model at once, whatever their number: lock them (in
    id order, as every locker does), refuse if any move is illegal (nothing written), update
    them and write their history rows. One statement on PostgreSQL. The instances are updated."""
    if not instances:
        return
    model = type(instances[0])
    ids = sorted({instance.pk for instance in instances})
    updates = {field: target, **(extra_updates or {})}
    if any(f.name == "last_update" for f in model._meta.concrete_fields):
        updates["last_update"] = clock.now()
    allowed = [state for state, targets in transitions.items() if target in targets]
    move = _move_many_in_one_statement if connection.vendor == "postgresql" else _move_many_by_orm
    current = move(model, ids, field, updates, allowed, history, history_fk, by, reason)
    label = model._meta.verbose_name.capitalize()
    for pk in ids:
        check_transition(transitions, current[pk], target, label)
    for instance in instances:
        for name, value in updates.items():
            setattr(instance, name, value)


def _move_many_in_one_statement(
    model, ids, field, updates, allowed, history, history_fk, by, reason
) -> dict:
    """{id: the state found under the lock}; the rows moved only when every one may."""
    meta, quote = model._meta, connection.ops.quote_name
    table, pk = quote(meta.db_table), quote(meta.pk.column)
    state = quote(meta.get_field(field).column)
    assignments, values = _assignments(model, updates)
    history_meta = history._meta
    history_column = quote(history_meta.get_field(history_fk).column)
    statement = f"""
        WITH old AS (
            SELECT {pk}, {state} FROM {table} WHERE {pk} = ANY(%s) ORDER BY {pk} FOR UPDATE
        ),
        moved AS (
            UPDATE {table} AS moving SET {", ".join(assignments)}
            FROM old WHERE moving.{pk} = old.{pk}
              AND NOT EXISTS (SELECT 1 FROM old WHERE NOT old.{state} = ANY(%s::text[]))
            RETURNING moving.{pk} AS moved_id, old.{state} AS from_state
        ),
        noted AS (
            INSERT INTO {quote(history_meta.db_table)}
                ({history_column}, from_state, to_state, changed_at, changed_by, reason)
            SELECT moved_id, from_state, %s, %s, %s, %s FROM moved
        )
        SELECT {pk}, {state} FROM old
    """  # noqa: S608 - names come from model metadata; every value is a parameter
    parameters = [ids, *values, allowed, updates[field], clock.now(), by, reason]
    with prepared_cursor() as cursor:
        cursor.execute(statement, parameters)
        return dict(cursor.fetchall())


def _move_many_by_orm(model, ids, field, updates, allowed, history, history_fk, by, reason) -> dict:
    """`_move_many_in_one_statement` where data-modifying CTEs are missing (SQLite: the demo)."""
    with atomic_in_caller():
        current = dict(
            model.objects.select_for_update()
            .filter(pk__in=ids)
            .order_by("pk")
            .values_list("pk", field)
        )
        if any(current[pk] not in allowed for pk in ids):
            return current
        model.objects.filter(pk__in=ids).update(**updates)
        history.objects.bulk_create(
            history(
                **{f"{history_fk}_id": pk},
                from_state=current[pk],
                to_state=updates[field],
                changed_by=by,
                reason=reason,
            )
            for pk in ids
        )
    return current
