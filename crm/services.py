"""Every meaningful write of the CRM: parties, customers, billing accounts, trouble tickets."""

import uuid
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from crm.choices import (
    ACCOUNT_TRANSITIONS,
    TICKET_DEADLINES,
    TICKET_DEFAULT_PRIORITY,
    TICKET_RELATED_ENTITY_TYPES,
    TICKET_TRANSITIONS,
    CustomerStatus,
    PartyKind,
    PaymentMethod,
    Segment,
    TicketSeverity,
    TicketStatus,
    TicketType,
)
from crm.models import (
    BillingAccount,
    BillingAccountStateChange,
    Customer,
    Party,
    TroubleTicket,
    TroubleTicketStatusChange,
)
from telco.exceptions import DomainError
from telco.states import check_transition, transition

PARTY_FIELDS = {
    "given_name",
    "family_name",
    "organization_name",
    "birth_date",
    "email",
    "phone",
    "street",
    "city",
    "postcode",
    "country",
}


def _check_party(party: Party) -> None:
    if party.kind == PartyKind.INDIVIDUAL and not party.family_name.strip():
        raise DomainError("An individual needs a family name.", field="familyName")
    if party.kind == PartyKind.ORGANIZATION and not party.organization_name.strip():
        raise DomainError("An organization needs a name.", field="name")


@transaction.atomic
def party_create(*, kind: str, **fields) -> Party:
    """Create an individual or an organization; `fields` are Party model fields."""
    unknown = set(fields) - PARTY_FIELDS
    if unknown:
        raise DomainError(f"Unknown party attribute '{sorted(unknown)[0]}'.")
    if kind not in PartyKind.values:
        raise DomainError(f"'{kind}' is not a kind of party.", field="kind")
    now = timezone.now()
    party = Party(kind=kind, created_at=now, last_update=now, **fields)
    _check_party(party)
    party.save()
    return party


@transaction.atomic
def party_update(*, party: Party, changes: dict) -> Party:
    """Change a party's names, birth date or contact details."""
    unknown = set(changes) - PARTY_FIELDS
    if unknown:
        raise DomainError(f"Unknown party attribute '{sorted(unknown)[0]}'.")
    for field, value in changes.items():
        setattr(party, field, value)
    _check_party(party)
    party.last_update = timezone.now()
    party.save()
    return party


def _check_customer(customer: Customer) -> None:
    if not customer.name.strip():
        raise DomainError("A customer needs a name.", field="name")
    if customer.status not in CustomerStatus.values:
        raise DomainError(f"'{customer.status}' is not a customer status.", field="status")
    if customer.segment not in Segment.values:
        raise DomainError(f"'{customer.segment}' is not a segment.", field="customerCategory")


@transaction.atomic
def customer_create(*, party: Party, name: str, segment: str = Segment.CONSUMER) -> Customer:
    """Make a party a customer; a new customer starts approved."""
    now = timezone.now()
    customer = Customer(party=party, name=name, segment=segment, created_at=now, last_update=now)
    _check_customer(customer)
    customer.save()
    return customer


@transaction.atomic
def customer_update(*, customer: Customer, changes: dict) -> Customer:
    """Change a customer's name, status or segment."""
    unknown = set(changes) - {"name", "status", "segment"}
    if unknown:
        raise DomainError(f"Unknown customer attribute '{sorted(unknown)[0]}'.")
    for field, value in changes.items():
        setattr(customer, field, value)
    _check_customer(customer)
    customer.last_update = timezone.now()
    customer.save()
    return customer


def _check_account(account: BillingAccount) -> None:
    if not account.name.strip():
        raise DomainError("A billing account needs a name.", field="name")
    if not 1 <= account.bill_cycle_day <= 28:
        raise DomainError(
            "The bill cycle day is 1 to 28, so that it exists in every month.",
            field="billStructure.cycleSpecification.billingDateShift",
        )
    if account.payment_method not in PaymentMethod.values:
        raise DomainError(
            f"'{account.payment_method}' is not a payment method.", field="defaultPaymentMethod"
        )
    if account.credit_limit < 0:
        raise DomainError("A credit limit cannot be negative.", field="creditLimit.value")
    if len(account.currency) != 3 or not account.currency.isalpha():
        raise DomainError(f"'{account.currency}' is not an ISO 4217 currency.", field="currency")


@transaction.atomic
def billing_account_create(
    *,
    customer: Customer,
    name: str,
    currency: str = "EUR",
    bill_cycle_day: int = 1,
    payment_method: str = PaymentMethod.DIRECT_DEBIT,
    credit_limit: Decimal = Decimal(0),
) -> BillingAccount:
    """Open a billing account for a customer; its number (BA00000042) is generated here."""
    now = timezone.now()
    account = BillingAccount(
        customer=customer,
        # A unique placeholder until the id, which the number is made of, exists.
        account_number=uuid.uuid4().hex[:20],
        name=name,
        currency=currency.upper(),
        bill_cycle_day=bill_cycle_day,
        payment_method=payment_method,
        credit_limit=credit_limit,
        created_at=now,
        last_update=now,
    )
    _check_account(account)
    account.save()
    account.account_number = f"BA{account.pk:08d}"
    account.save(update_fields=["account_number"])
    return account


@transaction.atomic
def billing_account_update(
    *, account: BillingAccount, changes: dict, by: str = "", reason: str = ""
) -> BillingAccount:
    """Change an account's name, bill cycle, payment method, credit limit, or state.

    A state change goes through the account state table and leaves a history row.
    """
    changes = dict(changes)
    unknown = set(changes) - {"name", "bill_cycle_day", "payment_method", "credit_limit", "state"}
    if unknown:
        raise DomainError(f"Unknown billing account attribute '{sorted(unknown)[0]}'.")
    target = changes.pop("state", None)
    for field, value in changes.items():
        setattr(account, field, value)
    _check_account(account)
    if changes:
        account.last_update = timezone.now()
        account.save(update_fields=[*changes, "last_update"])
    if target is not None and target != account.state:
        account = billing_account_set_state(account=account, state=target, by=by, reason=reason)
    return account


def billing_account_set_state(
    *, account: BillingAccount, state: str, by: str = "", reason: str = ""
) -> BillingAccount:
    """Suspend, resume or close an account (InvalidTransition, 409, for an illegal move)."""
    return transition(
        account,
        state,
        transitions=ACCOUNT_TRANSITIONS,
        history=BillingAccountStateChange,
        history_fk="account",
        by=by,
        reason=reason,
    )


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
    for index, entity in enumerate(ticket.related_entities):
        if not str(entity.get("id", "")).strip():
            raise DomainError("A related entity needs an id.", field=f"relatedEntity[{index}].id")
        if entity.get("@referredType") not in TICKET_RELATED_ENTITY_TYPES:
            raise DomainError(
                f"A ticket relates to one of {', '.join(TICKET_RELATED_ENTITY_TYPES)}.",
                field=f"relatedEntity[{index}].@referredType",
            )


def _set_deadlines(ticket: TroubleTicket) -> None:
    deadlines = TICKET_DEADLINES[ticket.severity]
    ticket.expected_response_date = ticket.created_at + deadlines["respond"]
    ticket.expected_resolution_date = ticket.created_at + deadlines["resolve"]


def _new_notes(existing: list[dict], notes: list[dict], *, by: str, now) -> list[dict]:
    """Notes to append, stamped now; a note already on the ticket (same author, date and text,
    as a client echoing the whole array sends it) is not added twice."""
    seen = {(n.get("author"), n.get("date"), n.get("text")) for n in existing}
    added = []
    for note in notes:
        text = str(note.get("text", "")).strip()
        if not text:
            raise DomainError("A note needs a text.", field="note.text")
        if (note.get("author"), note.get("date"), note.get("text")) in seen:
            continue
        added.append({"author": note.get("author") or by, "date": now.isoformat(), "text": text})
    return added


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
    now = timezone.now()
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
        related_entities=list(related_entities or []),
        created_at=now,
        last_update=now,
    )
    _check_ticket(ticket)
    _set_deadlines(ticket)
    ticket.notes = _new_notes([], notes or [], by=by, now=now)
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
    unknown = set(changes) - TICKET_FIELDS
    if unknown:
        raise DomainError(f"Unknown trouble ticket attribute '{sorted(unknown)[0]}'.")
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
    now = timezone.now()
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
        added = _new_notes(ticket.notes, notes, by=by, now=now)
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
    now = timezone.now()
    extra = {"status_change_reason": reason}
    if ticket.responded_at is None and ticket.status == TicketStatus.ACKNOWLEDGED:
        extra["responded_at"] = now
    if status == TicketStatus.RESOLVED:
        extra["resolution_date"] = now
    elif status == TicketStatus.IN_PROGRESS and ticket.status == TicketStatus.RESOLVED:
        extra["resolution_date"] = None
    return transition(
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
