"""Trouble tickets (TMF621): opening, changing and moving them along their lifecycle, with
deadlines from the severity; the customer is told when a ticket is resolved."""

from django.db import transaction

from crm.choices import (
    TICKET_DEADLINES,
    TICKET_DEFAULT_PRIORITY,
    TICKET_RELATED_ENTITY_TYPES,
    TICKET_RELATED_LOOKUP,
    TICKET_TRANSITIONS,
    TicketSeverity,
    TicketStatus,
    TicketType,
)
from crm.models import Customer, PartyInteraction, TroubleTicket, TroubleTicketStatusChange
from crm.services.common import refuse_unknown_attributes
from crm.services.interactions import check_related_entities, new_notes
from crm.services.notifications import customer_notify
from telco import clock
from telco.exceptions import DomainError
from telco.panels import lookups_for
from telco.states import check_transition, transition

TICKET_FIELDS = {
    "name",
    "description",
    "ticket_type",
    "severity",
    "priority",
    "assignee",
    "related_entities",
}


def _check_ticket(ticket: TroubleTicket) -> None:
    if not ticket.description.strip():
        raise DomainError("A trouble ticket needs a description.", field="description")
    if ticket.ticket_type not in TicketType.values:
        raise DomainError(f"'{ticket.ticket_type}' is not a ticket type.", field="ticketType")
    if ticket.severity not in TicketSeverity.values:
        raise DomainError(f"'{ticket.severity}' is not a severity.", field="severity")
    if not isinstance(ticket.priority, int) or not 1 <= ticket.priority <= 4:
        raise DomainError("The priority is 1 (most urgent) to 4.", field="priority")
    check_related_entities(ticket.related_entities, TICKET_RELATED_ENTITY_TYPES, "A ticket")


def with_related_lookups(customer_id: int, entities: list[dict]) -> list[dict]:
    """`entities` plus what the apps offering TICKET_RELATED_LOOKUP relate to the customer now
    (the network incidents affecting them), each (type, id) once."""
    seen = {(entity.get("@referredType"), str(entity.get("id"))) for entity in entities}
    for lookup in lookups_for(TICKET_RELATED_LOOKUP):
        for entity in lookup(customer_id):
            key = (entity.get("@referredType"), str(entity.get("id")))
            if key not in seen:
                seen.add(key)
                entities.append(dict(entity))
    return entities


def _set_deadlines(ticket: TroubleTicket) -> None:
    deadlines = TICKET_DEADLINES[ticket.severity]
    ticket.expected_response_date = ticket.created_at + deadlines["respond"]
    ticket.expected_resolution_date = ticket.created_at + deadlines["resolve"]


@transaction.atomic
def trouble_ticket_create(
    *,
    customer: Customer,
    description: str,
    ticket_type: str,
    severity: str,
    name: str = "",
    priority: int | None = None,
    assignee: str = "",
    related_entities: list[dict] | None = None,
    notes: list[dict] | None = None,
    by: str = "",
) -> TroubleTicket:
    """Open a ticket, acknowledged, with response and resolution deadlines from its severity."""
    now = clock.now()
    if priority is None:
        priority = TICKET_DEFAULT_PRIORITY.get(severity, 3)
    ticket = TroubleTicket(
        customer=customer,
        name=name,
        description=description,
        ticket_type=ticket_type,
        severity=severity,
        priority=priority,
        assignee=assignee,
        related_entities=with_related_lookups(customer.pk, list(related_entities or [])),
        created_at=now,
        last_update=now,
    )
    _check_ticket(ticket)
    _set_deadlines(ticket)
    ticket.notes = new_notes([], notes or [], by=by, now=now)
    ticket.save()
    TroubleTicketStatusChange.objects.create(
        ticket=ticket, to_state=ticket.status, changed_at=now, changed_by=by
    )
    return ticket


@transaction.atomic
def trouble_ticket_update(*, ticket: TroubleTicket, changes: dict, by: str = "") -> TroubleTicket:
    """Change a ticket's attributes, append notes and move its status.

    `changes` holds TroubleTicket fields plus `status`, `status_change_reason` (the reason
    recorded with the move) and `notes` (appended). A severity change moves the deadlines.
    Nothing is written if any part is refused (an illegal move is InvalidTransition, 409).
    """
    changes = dict(changes)
    target = changes.pop("status", None)
    reason = changes.pop("status_change_reason", None)
    notes = changes.pop("notes", None)
    refuse_unknown_attributes(changes, TICKET_FIELDS, "trouble ticket")
    ticket = TroubleTicket.objects.select_for_update().get(pk=ticket.pk)
    moves = target is not None and target != ticket.status
    if reason is not None and not moves:
        raise DomainError(
            "A status change reason goes with a status change.", field="statusChangeReason"
        )
    if moves:
        if target not in TicketStatus.values:
            raise DomainError(f"'{target}' is not a trouble ticket status.", field="status")
        check_transition(TICKET_TRANSITIONS, ticket.status, target, "Trouble ticket")
    now = clock.now()
    fields = set()
    for field, value in changes.items():
        if getattr(ticket, field) != value:
            setattr(ticket, field, value)
            fields.add(field)
    _check_ticket(ticket)
    if "severity" in fields:
        _set_deadlines(ticket)
        fields |= {"expected_response_date", "expected_resolution_date"}
    if notes:
        added = new_notes(ticket.notes, notes, by=by, now=now)
        if added:
            ticket.notes = [*ticket.notes, *added]
            fields.add("notes")
    if fields:
        ticket.last_update = now
        ticket.save(update_fields=[*sorted(fields), "last_update"])
    if moves:
        ticket = trouble_ticket_set_status(ticket=ticket, status=target, by=by, reason=reason or "")
    return ticket


def trouble_ticket_set_status(
    *, ticket: TroubleTicket, status: str, by: str = "", reason: str = ""
) -> TroubleTicket:
    """Move a ticket along its lifecycle (InvalidTransition, 409, for an illegal move).

    The first move out of acknowledged is the response; resolved stamps the resolution date,
    which a reopen clears.
    """
    now = clock.now()
    extra = {"status_change_reason": reason}
    if ticket.responded_at is None and ticket.status == TicketStatus.ACKNOWLEDGED:
        extra["responded_at"] = now
    if status == TicketStatus.RESOLVED:
        extra["resolution_date"] = now
    elif status == TicketStatus.IN_PROGRESS and ticket.status == TicketStatus.RESOLVED:
        extra["resolution_date"] = None
    ticket = transition(
        ticket,
        status,
        transitions=TICKET_TRANSITIONS,
        history=TroubleTicketStatusChange,
        history_fk="ticket",
        field="status",
        by=by,
        reason=reason,
        extra_updates=extra,
    )
    if status == TicketStatus.RESOLVED:
        # Told once the resolution is committed: a rolled-back resolve sends nothing.
        ticket_id = ticket.pk
        transaction.on_commit(lambda: _notify_ticket_resolved(ticket_id, by=by))
    return ticket


def _notify_ticket_resolved(ticket_id: int, *, by: str) -> PartyInteraction:
    ticket = TroubleTicket.objects.select_related("customer__party").get(pk=ticket_id)
    title = ticket.name or ticket.description[:60]
    lines = [
        f"Dear {ticket.customer.name},",
        "",
        f"your trouble ticket TT{ticket.pk} ({title}) has been resolved.",
    ]
    if ticket.status_change_reason:
        lines.append(f"Resolution: {ticket.status_change_reason}")
    lines += ["", "If the problem comes back, reply to this message or call us.", "", "Telco Care"]
    return customer_notify(
        customer=ticket.customer,
        subject=f"Your trouble ticket TT{ticket.pk} is resolved",
        body="\n".join(lines),
        reason="troubleTicketResolved",
        by=by,
        related_entities=[
            {"id": str(ticket.pk), "@referredType": "TroubleTicket", "name": f"TT{ticket.pk}"}
        ],
    )
