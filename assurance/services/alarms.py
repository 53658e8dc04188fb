"""Writes of fault management: raise (deduplicated), update, acknowledge, comment, clear."""

import hashlib
import json
import logging
from datetime import datetime
from functools import lru_cache

from django.db import IntegrityError, connection, transaction
from django.db.models import Q, QuerySet

from assurance.choices import (
    ACK_TRANSITIONS,
    ALARM_TRANSITIONS,
    AckState,
    AlarmState,
    AlarmTaskKind,
)
from assurance.models import Alarm, AlarmStateChange, AlarmTask
from inventory import selectors as inventory_selectors
from inventory.topology import services_depending_on
from telco import clock
from telco.exceptions import Conflict, DomainError, InvalidTransition
from telco.states import check_transition, transition

logger = logging.getLogger(__name__)

ALARM = Alarm._meta.db_table
AFFECTED = Alarm.affected_services.through


def alarms_correlate(alarm_ids: list[int], guessed=()) -> None:
    """Hand alarms just raised, cleared or reopened to correlation (their incidents); the
    bulk ingest names the new alarms it stored in a guessed incident (correlation decides).

    Called once the alarms' own transaction has committed (or within the caller's, when the
    service runs inside one): the alarms are stored whatever correlation then does, so its
    failure is logged, never undoes or refuses them.
    """
    if not alarm_ids:
        return
    try:
        from assurance.correlation import correlate
    except ImportError:  # correlation not installed yet: alarms stand alone
        return
    try:
        correlate(list(alarm_ids), guessed=guessed)
    except Exception:
        logger.exception("Correlation of alarms %s failed; the alarms are stored", alarm_ids[:20])


# One statement decides "new alarm or repeat of an active one", so concurrent reports of the
# same fault can never create two active rows. The conflict target repeats the partial unique
# index's predicate word for word, as PostgreSQL and SQLite both require to pick that index.
UPSERT_SQL = f"""
    INSERT INTO {ALARM} (
        external_alarm_id, source_system_id, alarmed_object_ref, alarmed_object_type,
        resource_id, alarm_type, perceived_severity, probable_cause, specific_problem,
        alarm_details, state, ack_state, ack_user_id, ack_system_id, reduction_key,
        occurrence_count, is_service_affecting, alarm_raised_time, alarm_reported_time,
        alarm_changed_time, alarm_cleared_time, comments
    ) VALUES (
        %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, '', '', %s, 1, %s, %s, %s, NULL, NULL, '[]'
    )
    ON CONFLICT (reduction_key) WHERE NOT ("state" = 'cleared') DO UPDATE SET
        occurrence_count = {ALARM}.occurrence_count + 1,
        alarm_changed_time = excluded.alarm_reported_time,
        perceived_severity = excluded.perceived_severity,
        alarm_details = CASE WHEN excluded.alarm_details = '' THEN {ALARM}.alarm_details
                             ELSE excluded.alarm_details END
    RETURNING id, occurrence_count
"""  # noqa: S608 - the table name comes from model metadata; every value is a parameter


# A feed repeats its faults: a key is hashed once while its fault keeps coming (a storm's few
# thousand; bounded, since every worker process holds its own).
@lru_cache(maxsize=20_000)
def reduction_key(
    *,
    source_system_id: str,
    alarmed_object: str,
    alarm_type: str,
    probable_cause: str,
    specific_problem: str,
) -> str:
    """The identity of a fault: one active alarm per key (OpenNMS-style deduplication).

    A digest of the parts, because the parts (which keep their own columns) together can outgrow
    the column, and a digest of a JSON list cannot confuse ("a|b", "c") with ("a", "b|c").
    """
    parts = [source_system_id, alarmed_object, alarm_type, probable_cause, specific_problem]
    return hashlib.sha256(json.dumps(parts).encode()).hexdigest()


def alarm_raise(
    *,
    source_system_id: str,
    alarmed_object_id: str,
    alarm_type: str,
    perceived_severity: str,
    probable_cause: str,
    alarm_raised_time: datetime,
    specific_problem: str = "",
    alarm_details: str = "",
    alarmed_object_type: str = "",
    external_alarm_id: str = "",
    by: str = "",
) -> tuple[Alarm, bool]:
    """Store a reported alarm, or count a repeat of an active one. Returns (alarm, created).

    A new alarm gets its impact at once: the customer-facing services that depend on the alarmed
    resource or anything beneath it. An alarm on an unknown object is kept, with no impact.
    """
    # The resource the alarm names, by id or by name (element managers know names).
    resource = inventory_selectors.resource_by_reference(alarmed_object_id)
    # Canonical reference: the same element reported by id or by name is the same fault.
    object_ref = str(resource.pk) if resource else alarmed_object_id
    key = reduction_key(
        source_system_id=source_system_id,
        alarmed_object=object_ref,
        alarm_type=alarm_type,
        probable_cause=probable_cause,
        specific_problem=specific_problem,
    )
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(
                UPSERT_SQL,
                [
                    external_alarm_id,
                    source_system_id,
                    object_ref,
                    alarmed_object_type,
                    resource.pk if resource else None,
                    alarm_type,
                    perceived_severity,
                    probable_cause,
                    specific_problem,
                    alarm_details,
                    AlarmState.RAISED,
                    AckState.UNACKNOWLEDGED,
                    key,
                    False,
                    connection.ops.adapt_datetimefield_value(alarm_raised_time),
                    connection.ops.adapt_datetimefield_value(clock.now()),
                ],
            )
            alarm_id, occurrences = cursor.fetchone()
        created = occurrences == 1
        if created:
            AlarmStateChange.objects.create(
                alarm_id=alarm_id, from_state="", to_state=AlarmState.RAISED, changed_by=by
            )
            if resource is not None:
                _record_impact(alarm_id, resource.pk)
    alarms_correlate([alarm_id])
    return Alarm.objects.get(pk=alarm_id), created


def _record_impact(alarm_id: int, resource_id: int) -> None:
    service_ids = list(services_depending_on([resource_id]).values_list("pk", flat=True))
    AFFECTED.objects.bulk_create(
        [AFFECTED(alarm_id=alarm_id, service_id=service_id) for service_id in service_ids]
    )
    if service_ids:
        Alarm.objects.filter(pk=alarm_id).update(is_service_affecting=True)


# What a PATCH may rewrite of what an alarm says (TMF642 Alarm_Update): model field -> TMF name.
UPDATABLE_ATTRIBUTES = {
    "alarm_type": "alarmType",
    "probable_cause": "probableCause",
    "specific_problem": "specificProblem",
    "perceived_severity": "perceivedSeverity",
    "alarm_details": "alarmDetails",
    "external_alarm_id": "externalAlarmId",
    "alarmed_object_type": "alarmedObjectType",
}
# The parts of the reduction key a PATCH can change (source and alarmed object it cannot).
KEY_ATTRIBUTES = ("alarm_type", "probable_cause", "specific_problem")


def _new_reduction_key(alarm: Alarm, changes: dict[str, str]) -> str:
    return reduction_key(
        source_system_id=alarm.source_system_id,
        alarmed_object=alarm.alarmed_object_ref,
        alarm_type=changes.get("alarm_type", alarm.alarm_type),
        probable_cause=changes.get("probable_cause", alarm.probable_cause),
        specific_problem=changes.get("specific_problem", alarm.specific_problem),
    )


def _key_taken(alarm: Alarm, changes: dict[str, str]) -> Conflict:
    field = UPDATABLE_ATTRIBUTES[next(f for f in KEY_ATTRIBUTES if f in changes)]
    return Conflict(
        "Another active alarm already reports this fault (same source, object, alarmType, "
        "probableCause and specificProblem): clear one of them first.",
        field=field,
    )


def alarm_update(*, alarm: Alarm, by: str, changes: dict[str, str]) -> Alarm:
    """Change what the alarm says (`changes`: UPDATABLE_ATTRIBUTES fields): its state becomes
    `updated`, with a history row naming each change (who, when, old and new value).

    Changing a part of the reduction key (type, cause, specific problem) re-keys the alarm: it now
    describes that fault, so later reports of it count on this alarm, and a later report of the
    old fault raises a new one. If another active alarm already has the new key, `Conflict`
    (409) and nothing changes: two active alarms for one fault would break deduplication.
    """
    unknown = set(changes) - set(UPDATABLE_ATTRIBUTES)
    if unknown:
        raise DomainError("This attribute cannot be changed.", field=sorted(unknown)[0])
    extra = {**changes, "alarm_changed_time": clock.now()}
    if any(field in changes for field in KEY_ATTRIBUTES):
        extra["reduction_key"] = _new_reduction_key(alarm, changes)
        taken = Alarm.objects.filter(reduction_key=extra["reduction_key"]).exclude(
            Q(pk=alarm.pk) | Q(state=AlarmState.CLEARED)
        )
        if taken.exists():
            raise _key_taken(alarm, changes)
    reason = "; ".join(
        f"{UPDATABLE_ATTRIBUTES[field]}: '{getattr(alarm, field)}' -> '{value}'"
        for field, value in changes.items()
    )
    try:
        # A savepoint: a report of the new key committed meanwhile loses to the unique index.
        with transaction.atomic():
            return transition(
                alarm,
                AlarmState.UPDATED,
                transitions=ALARM_TRANSITIONS,
                history=AlarmStateChange,
                history_fk="alarm",
                by=by,
                reason=reason or "updated",
                extra_updates=extra,
            )
    except IntegrityError:
        raise _key_taken(alarm, changes) from None


def alarm_acknowledge(*, alarm: Alarm, by: str, system_id: str = "", user_id: str = "") -> Alarm:
    """Mark the alarm as seen by `user_id` (default `by`). Acknowledging an acknowledged alarm
    changes nothing."""
    if alarm.ack_state == AckState.ACKNOWLEDGED:
        return alarm
    return transition(
        alarm,
        AckState.ACKNOWLEDGED,
        transitions=ACK_TRANSITIONS,
        history=AlarmStateChange,
        history_fk="alarm",
        field="ack_state",
        by=by,
        reason="acknowledged",
        extra_updates={"ack_user_id": user_id or by, "ack_system_id": system_id},
    )


def alarm_unacknowledge(*, alarm: Alarm, by: str) -> Alarm:
    """Withdraw an acknowledgement. Unacknowledging an unacknowledged alarm changes nothing."""
    if alarm.ack_state == AckState.UNACKNOWLEDGED:
        return alarm
    return transition(
        alarm,
        AckState.UNACKNOWLEDGED,
        transitions=ACK_TRANSITIONS,
        history=AlarmStateChange,
        history_fk="alarm",
        field="ack_state",
        by=by,
        reason="acknowledgement withdrawn",
        extra_updates={"ack_user_id": "", "ack_system_id": ""},
    )


def alarm_clear(*, alarm: Alarm, by: str, cleared_time: datetime | None = None) -> Alarm:
    """Clear the alarm. A later report of the same fault raises a new alarm (through the
    network's bulk feed within ALARM_FLAP_MINUTES, it reopens this one: see ingest)."""
    now = clock.now()
    alarm = transition(
        alarm,
        AlarmState.CLEARED,
        transitions=ALARM_TRANSITIONS,
        history=AlarmStateChange,
        history_fk="alarm",
        by=by,
        reason="cleared",
        extra_updates={"alarm_cleared_time": cleared_time or now, "alarm_changed_time": now},
    )
    alarms_correlate([alarm.pk])
    return alarm


def alarm_comment(*, alarm: Alarm, by: str, comments: list[dict]) -> Alarm:
    """Append comments ({comment, userId?, systemId?, time?: datetime}); author defaults to `by`."""
    now = clock.now()
    added = [
        {
            "comment": item["comment"],
            "userId": item.get("userId") or by,
            "systemId": item.get("systemId", ""),
            "time": (item.get("time") or now).isoformat(),
        }
        for item in comments
    ]
    with transaction.atomic():
        locked = Alarm.objects.select_for_update(of=("self",)).get(pk=alarm.pk)
        locked.comments = [*locked.comments, *added]
        locked.save(update_fields=["comments"])
    alarm.comments = locked.comments
    return alarm


def alarm_patch(
    *,
    alarm: Alarm,
    by: str,
    changes: dict[str, str] | None = None,
    ack_state: str | None = None,
    ack_user_id: str = "",
    ack_system_id: str = "",
    comments: list[dict] | None = None,
    state: str | None = None,
    cleared_time: datetime | None = None,
) -> Alarm:
    """Apply a TMF642 PATCH as one unit: all of it, or (on an illegal move) nothing.

    `changes` (UPDATABLE_ATTRIBUTES fields) that differ from the alarm move it to `updated`
    (`alarm_update`), as does `state="updated"`; `state="cleared"` clears it, after the changes.
    Acknowledgement and comments leave `state` as it is. A cleared alarm is final: any PATCH
    of it is an `InvalidTransition` (409).
    """
    with transaction.atomic():
        alarm = Alarm.objects.select_for_update(of=("self",)).get(pk=alarm.pk)
        changed = {
            field: value
            for field, value in (changes or {}).items()
            if getattr(alarm, field) != value
        }
        # The state the PATCH moves the alarm to, checked once before anything is written: a
        # cleared alarm moves nowhere, and only `updated` and `cleared` are reachable.
        target = state or (AlarmState.UPDATED if changed else None)
        if target is not None:
            check_transition(ALARM_TRANSITIONS, alarm.state, target, "Alarm")
        elif alarm.state == AlarmState.CLEARED:
            raise InvalidTransition(f"Alarm {alarm.pk} is cleared: a cleared alarm is final.")
        if changed or state == AlarmState.UPDATED:
            alarm = alarm_update(alarm=alarm, by=by, changes=changed)
        if ack_state == AckState.ACKNOWLEDGED:
            alarm = alarm_acknowledge(
                alarm=alarm, by=by, user_id=ack_user_id, system_id=ack_system_id
            )
        elif ack_state == AckState.UNACKNOWLEDGED:
            alarm = alarm_unacknowledge(alarm=alarm, by=by)
        if comments:
            alarm = alarm_comment(alarm=alarm, by=by, comments=comments)
        if state == AlarmState.CLEARED:
            alarm = alarm_clear(alarm=alarm, by=by, cleared_time=cleared_time)
    return alarm


# What an alarmPattern may name: TMF attribute -> ORM path. `id` names one alarm.
PATTERN_ATTRIBUTES = {
    "id": "pk",
    "alarmType": "alarm_type",
    "perceivedSeverity": "perceived_severity",
    "probableCause": "probable_cause",
    "specificProblem": "specific_problem",
    "sourceSystemId": "source_system_id",
    "externalAlarmId": "external_alarm_id",
    "state": "state",
    "ackState": "ack_state",
}


def alarms_matching(patterns: list[dict]) -> QuerySet[Alarm]:
    """Alarms matching any pattern; a pattern matches when all its attributes are equal.

    `alarmedObject: {"id"}` matches the object by its inventory id or name, as a raise does.
    """
    condition = Q(pk__in=[])
    for pattern in patterns:
        clause = Q(
            **{
                PATTERN_ATTRIBUTES[name]: value
                for name, value in pattern.items()
                if name in PATTERN_ATTRIBUTES
            }
        )
        if "alarmedObject" in pattern:
            reference = pattern["alarmedObject"]["id"]
            clause &= Q(alarmed_object_ref=reference) | Q(resource__name=reference)
        condition |= clause
    return Alarm.objects.filter(condition)


def _record_task_moves(
    task: AlarmTask, alarm_ids: list[int], moves: tuple[str, str], by: str
) -> None:
    """History rows and task membership for alarms a task moved, in two bulk inserts."""
    from_state, to_state = moves
    AlarmStateChange.objects.bulk_create(
        [
            AlarmStateChange(
                alarm_id=alarm_id,
                from_state=from_state,
                to_state=to_state,
                changed_by=by,
                reason=f"{task.kind} {task.pk}",
            )
            for alarm_id in alarm_ids
        ]
    )
    through = AlarmTask.alarms.through
    through.objects.bulk_create([through(alarmtask_id=task.pk, alarm_id=a) for a in alarm_ids])


def alarm_task_acknowledge(
    *, patterns: list[dict], user_id: str, system_id: str, by: str
) -> AlarmTask:
    """ackAlarms: acknowledge every unacknowledged alarm matching the patterns, set-based.

    A storm is acknowledged in a few statements, not one transition per alarm; the moves are
    still those ACK_TRANSITIONS allows and each gets its history row.
    """
    allowed_from = [s for s, targets in ACK_TRANSITIONS.items() if AckState.ACKNOWLEDGED in targets]
    with transaction.atomic():
        task = AlarmTask.objects.create(
            kind=AlarmTaskKind.ACK,
            user_id=user_id,
            system_id=system_id,
            alarm_pattern=patterns,
            created_by=by,
        )
        alarm_ids = list(
            alarms_matching(patterns)
            .filter(ack_state__in=allowed_from)
            .select_for_update(of=("self",))
            .values_list("pk", flat=True)
        )
        Alarm.objects.filter(pk__in=alarm_ids).update(
            ack_state=AckState.ACKNOWLEDGED, ack_user_id=user_id, ack_system_id=system_id
        )
        _record_task_moves(task, alarm_ids, (AckState.UNACKNOWLEDGED, AckState.ACKNOWLEDGED), by)
    return task


def alarm_task_clear(
    *,
    patterns: list[dict],
    user_id: str,
    system_id: str,
    by: str,
    cleared_time: datetime | None = None,
) -> AlarmTask:
    """clearAlarms: clear every matching alarm that may still be cleared, set-based."""
    allowed_from = [s for s, targets in ALARM_TRANSITIONS.items() if AlarmState.CLEARED in targets]
    now = clock.now()
    with transaction.atomic():
        task = AlarmTask.objects.create(
            kind=AlarmTaskKind.CLEAR,
            user_id=user_id,
            system_id=system_id,
            effective_time=cleared_time or now,
            alarm_pattern=patterns,
            created_by=by,
        )
        matched = list(
            alarms_matching(patterns)
            .filter(state__in=allowed_from)
            .select_for_update(of=("self",))
            .values_list("pk", "state")
        )
        Alarm.objects.filter(pk__in=[pk for pk, _ in matched]).update(
            state=AlarmState.CLEARED,
            alarm_cleared_time=task.effective_time,
            alarm_changed_time=now,
        )
        for from_state in {state for _, state in matched}:
            ids = [pk for pk, state in matched if state == from_state]
            _record_task_moves(task, ids, (from_state, AlarmState.CLEARED), by)
    alarms_correlate([pk for pk, _ in matched])
    return task
