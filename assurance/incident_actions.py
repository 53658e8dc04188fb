"""What the NOC does to an incident: acknowledge, assign, comment, set the restore ETA, move it.

Every status change goes through `telco.states.transition` (the INCIDENT_TRANSITIONS table, a
history row naming who and why). Assigning, commenting and setting the ETA do not change the
status (except that assigning a pending or acknowledged incident puts it `inProgress`), but each
is written under the incident's row lock and leaves a history row whose from and to states are
the same, so the incident's history tells everything the NOC did to it.

Bad input raises `DomainError` naming the field as TMF656 and the NOC forms name it:
`responsibleParty` (the assignee), `expectedRestoreTime`, `note`, `status`.
"""

from datetime import datetime

from django.contrib.auth import get_user_model
from django.db import transaction

from assurance.choices import INCIDENT_TRANSITIONS, OPEN_INCIDENT_STATES, IncidentState
from assurance.models import Incident, IncidentStateChange
from telco import clock
from telco.exceptions import DomainError, InvalidTransition
from telco.roles import ADMIN, NOC, has_role
from telco.states import transition

NOTE_MAX_LENGTH = 4000
# Assigning puts an incident nobody works on yet "in progress".
STARTS_WORK = (IncidentState.PENDING, IncidentState.ACKNOWLEDGED)


def incident_move(incident: Incident, target: str, *, by: str, reason: str = "") -> Incident:
    """Move the incident to `target` through the transition table, with its history row.

    The timestamps that go with a status are written in the same UPDATE: `statusChangeDate`
    always, `acknowledged_*` on acknowledgement, `resolved_at` on resolution (cleared again if a
    resolved incident is reopened). An unknown status is a `DomainError` on `status`; a move the
    table does not allow is an `InvalidTransition` (409) and changes nothing.
    Side effects of the move (notices, impact) belong to the caller.
    """
    if target not in IncidentState.values:
        raise DomainError(f"Unknown incident status '{target}'.", field="status")
    now = clock.now()
    extra: dict = {"status_change_date": now, "status_change_reason": reason[:200]}
    if target == IncidentState.ACKNOWLEDGED:
        extra.update(acknowledged_at=now, acknowledged_by=by)
    elif target == IncidentState.RESOLVED:
        extra["resolved_at"] = now
    elif target == IncidentState.IN_PROGRESS and incident.state == IncidentState.RESOLVED:
        extra["resolved_at"] = None
    try:
        return transition(
            incident,
            target,
            transitions=INCIDENT_TRANSITIONS,
            history=IncidentStateChange,
            history_fk="incident",
            by=by,
            reason=reason or target,
            extra_updates=extra,
        )
    except InvalidTransition as error:
        error.field = "status"
        raise


def incident_acknowledge(incident: Incident, *, by: str) -> Incident:
    """The NOC has seen the incident. Acknowledging an acknowledged incident changes nothing; an
    incident already worked on (in progress, held) keeps its status and records who saw it."""
    if incident.acknowledged_at is not None:
        return incident
    if incident.state in (IncidentState.IN_PROGRESS, IncidentState.HELD):
        now = clock.now()
        return _annotate(
            incident,
            by=by,
            reason="acknowledged",
            updates={"acknowledged_at": now, "acknowledged_by": by},
        )
    return incident_move(incident, IncidentState.ACKNOWLEDGED, by=by, reason="acknowledged")


def assignable_user(username: str):
    """The active NOC (or admin) user named `username`, or None."""
    user = get_user_model().objects.filter(username=username, is_active=True).first()
    if user is None or not has_role(user, NOC):
        return None
    return user


def assignable_usernames() -> list[str]:
    """Who an incident can be given to: active NOC users (and admins), by name."""
    return list(
        get_user_model()
        .objects.filter(is_active=True, groups__name__in=(NOC, ADMIN))
        .order_by("username")
        .values_list("username", flat=True)
        .distinct()
    )


def incident_assign(incident: Incident, *, to: str, by: str) -> Incident:
    """Give the incident to the NOC user `to` ("" withdraws the assignment). A pending or
    acknowledged incident moves to `inProgress`; a reassignment keeps the status."""
    to = (to or "").strip()
    if to and assignable_user(to) is None:
        raise DomainError(f"No active NOC user is named '{to}'.", field="responsibleParty")
    _require_open(incident)
    reason = f"assigned to {to}" if to else "assignment withdrawn"
    if to and incident.state in STARTS_WORK:
        return transition(
            incident,
            IncidentState.IN_PROGRESS,
            transitions=INCIDENT_TRANSITIONS,
            history=IncidentStateChange,
            history_fk="incident",
            by=by,
            reason=reason,
            extra_updates={
                "assigned_to": to,
                "status_change_date": clock.now(),
                "status_change_reason": reason[:200],
            },
        )
    if incident.assigned_to == to:
        return incident
    return _annotate(incident, by=by, reason=reason, updates={"assigned_to": to})


def incident_comment(incident: Incident, *, text: str, by: str) -> Incident:
    """Append a TMF656 note {text, author, date}; notes are never rewritten."""
    text = (text or "").strip()
    if not text:
        raise DomainError("A note needs some text.", field="note")
    if len(text) > NOTE_MAX_LENGTH:
        raise DomainError(f"A note holds at most {NOTE_MAX_LENGTH} characters.", field="note")
    note = {"text": text, "author": by, "date": clock.now().isoformat()}
    with transaction.atomic():
        locked = Incident.objects.select_for_update().get(pk=incident.pk)
        locked.notes = [*locked.notes, note]
        locked.last_update = clock.now()
        locked.save(update_fields=["notes", "last_update"])
    incident.notes, incident.last_update = locked.notes, locked.last_update
    return incident


def incident_set_eta(incident: Incident, *, eta: datetime | None, by: str) -> Incident:
    """Set (or with None, withdraw) the expected restore time customers and agents are shown.

    It must be in the future and the incident still open."""
    if eta is not None:
        if eta.tzinfo is None:
            raise DomainError("The restore time needs a time zone.", field="expectedRestoreTime")
        if eta <= clock.now():
            raise DomainError(
                "The expected restore time must be in the future.", field="expectedRestoreTime"
            )
    _require_open(incident)
    reason = f"expected restore time {eta.isoformat()}" if eta else "restore time withdrawn"
    return _annotate(incident, by=by, reason=reason, updates={"expected_restore_time": eta})


def _require_open(incident: Incident) -> None:
    if incident.state not in OPEN_INCIDENT_STATES:
        raise InvalidTransition(
            f"Incident {incident.pk} is {incident.state}: only an open incident can change.",
            field="status",
        )


def _annotate(incident: Incident, *, by: str, reason: str, updates: dict) -> Incident:
    """Write `updates` under the row lock with a history row that keeps the status."""
    with transaction.atomic():
        locked = Incident.objects.select_for_update().get(pk=incident.pk)
        if locked.state not in OPEN_INCIDENT_STATES:
            _require_open(locked)
        for name, value in updates.items():
            setattr(locked, name, value)
        locked.last_update = clock.now()
        locked.save(update_fields=[*updates, "last_update"])
        IncidentStateChange.objects.create(
            incident=locked,
            from_state=locked.state,
            to_state=locked.state,
            changed_by=by,
            reason=reason,
        )
    for name in (*updates, "last_update", "state"):
        setattr(incident, name, getattr(locked, name))
    return incident
