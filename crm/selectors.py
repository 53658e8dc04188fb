"""Reads of the CRM shared by the API, the portal pages and the apps above."""

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Prefetch, Q, QuerySet

from crm.choices import OPEN_TICKET_STATUSES, InteractionChannel
from crm.models import (
    Account,
    BillFormat,
    BillingAccount,
    BillingCycleSpecification,
    BillPresentationMedia,
    ContactMedium,
    CreditProfile,
    Customer,
    Party,
    PartyIdentification,
    PartyInteraction,
    TroubleTicket,
    TroubleTicketStatusChange,
)
from telco.exceptions import NotFound
from telco.ids import parse_id

TIMELINE_LENGTH = 50
# Tickets as they are worked: most urgent first, then the nearest resolution deadline.
URGENT_FIRST = ("priority", "expected_resolution_date", "id")


def _party_details() -> list[Prefetch]:
    """Contact media and identifications in their given order (two queries for any list)."""
    return [
        Prefetch("contact_media", queryset=ContactMedium.objects.order_by("id")),
        Prefetch("identifications", queryset=PartyIdentification.objects.order_by("id")),
    ]


def party_list(*, kind: str | None = None) -> QuerySet[Party]:
    """Parties with their contact media and identifications."""
    parties = Party.objects.prefetch_related(*_party_details()).order_by("id")
    return parties.filter(kind=kind) if kind else parties


def _customers() -> QuerySet[Customer]:
    return Customer.objects.select_related("party").prefetch_related(
        Prefetch("accounts", queryset=BillingAccount.objects.order_by("id"))
    )


def customer_list() -> QuerySet[Customer]:
    """Customers with their party (media, identifications), credit profiles and accounts."""
    return (
        _customers()
        .prefetch_related(
            Prefetch("credit_profiles", queryset=CreditProfile.objects.order_by("id")),
            Prefetch("party__contact_media", queryset=ContactMedium.objects.order_by("id")),
            Prefetch("party__identifications", queryset=PartyIdentification.objects.order_by("id")),
        )
        .order_by("id")
    )


def customer_get(*, customer_id) -> Customer:
    """One customer with party and accounts; `NotFound` for an unknown id."""
    pk = parse_id(customer_id)
    if pk is None:
        raise NotFound(f"Customer '{customer_id}' does not exist.")
    try:
        return _customers().get(pk=pk)
    except Customer.DoesNotExist:
        raise NotFound(f"Customer '{customer_id}' does not exist.") from None


def customer_search(query: str, *, also_ids: QuerySet | None = None) -> QuerySet[Customer]:
    """Customers whose name, account number, party email or phone contains `query`.

    Each field is matched in its own table and the customer ids are combined with UNION, so on
    PostgreSQL every branch can use its trigram index on `UPPER(column)` (migration 0003): one
    OR across the joined tables would leave the planner no choice but a scan of all customers.
    `also_ids` adds more customer ids (a one-column values queryset), e.g. from the apps above
    CRM, which this module must not import.
    """
    query = query.strip()
    if not query:
        return _customers()
    by_name = Customer.objects.filter(name__icontains=query).values("id")
    by_party = Customer.objects.filter(
        party__in=Party.objects.filter(Q(email__icontains=query) | Q(phone__icontains=query))
    ).values("id")
    by_account = BillingAccount.objects.filter(account_number__icontains=query).values(
        "customer_id"
    )
    branches = [by_party, by_account] + ([also_ids] if also_ids is not None else [])
    return _customers().filter(id__in=by_name.union(*branches))


def _media_by_id() -> Prefetch:
    return Prefetch("presentation_media", queryset=BillPresentationMedia.objects.order_by("id"))


def billing_account_list() -> QuerySet[BillingAccount]:
    """Billing accounts with their customer and its party, their bill structure (cycle,
    format, presentation media) and their contacts."""
    return (
        BillingAccount.objects.select_related(
            "customer__party", "cycle_specification", "bill_format"
        )
        .prefetch_related("contacts", _media_by_id())
        .order_by("id")
    )


def billing_cycle_specification_list() -> QuerySet[BillingCycleSpecification]:
    """Bill cycle specifications, oldest first (the standard days 1-28 lead)."""
    return BillingCycleSpecification.objects.order_by("id")


def bill_format_list() -> QuerySet[BillFormat]:
    return BillFormat.objects.order_by("id")


def bill_presentation_media_list() -> QuerySet[BillPresentationMedia]:
    return BillPresentationMedia.objects.order_by("id")


def account_list(*, kind: str) -> QuerySet[Account]:
    """Party, settlement or financial accounts (`kind`) with their owner, financial account and
    bill structure."""
    return (
        Account.objects.filter(kind=kind)
        .select_related("party", "financial_account", "cycle_specification", "bill_format")
        .prefetch_related(_media_by_id())
        .order_by("id")
    )


def billing_account_get(*, account_id) -> BillingAccount:
    """One billing account with its customer; `NotFound` for an unknown id."""
    pk = parse_id(account_id)
    if pk is None:
        raise NotFound(f"Billing account '{account_id}' does not exist.")
    try:
        return BillingAccount.objects.select_related("customer__party").get(pk=pk)
    except BillingAccount.DoesNotExist:
        raise NotFound(f"Billing account '{account_id}' does not exist.") from None


def interaction_list() -> QuerySet[PartyInteraction]:
    """Interactions with their customer, oldest first (the API's order)."""
    return PartyInteraction.objects.select_related("customer").order_by("id")


def trouble_ticket_list(*, status: str | None = None) -> QuerySet[TroubleTicket]:
    """Tickets with their customer; `status="open"` for those still being worked on."""
    tickets = TroubleTicket.objects.select_related("customer")
    if status == "open":
        return tickets.filter(status__in=OPEN_TICKET_STATUSES)
    return tickets.filter(status=status) if status else tickets


def open_tickets_for_customer(customer_id: int) -> QuerySet[TroubleTicket]:
    """The customer's tickets still being worked on, most urgent first."""
    return (
        trouble_ticket_list(status="open").filter(customer_id=customer_id).order_by(*URGENT_FIRST)
    )


@dataclass(frozen=True)
class TimelineEntry:
    """One line of the customer's history: an interaction, a notification or a ticket move."""

    when: datetime
    kind: str  # "interaction", "notification" or "ticket"
    title: str
    detail: str
    status: str
    by: str
    ticket_id: int | None = None
    interaction: PartyInteraction | None = None


def _interaction_entry(interaction: PartyInteraction) -> TimelineEntry:
    # A notification is titled by its subject, a logged contact by its reason.
    is_notification = interaction.channel == InteractionChannel.NOTIFICATION
    about = (interaction.subject if is_notification else "") or interaction.reason
    return TimelineEntry(
        when=interaction.interaction_date,
        kind="notification" if is_notification else "interaction",
        title=f"{interaction.get_channel_display()} {interaction.direction}: {about}",
        detail=interaction.error or interaction.description,
        status=interaction.status,
        by=interaction.created_by,
        interaction=interaction,
    )


def customer_timeline(customer_id: int, *, limit: int = TIMELINE_LENGTH) -> list[TimelineEntry]:
    """The customer's interactions, notifications and ticket status changes, newest first.

    Two queries whatever the history's length: the newest `limit` of each kind, merged.
    """
    interactions = PartyInteraction.objects.filter(customer_id=customer_id).order_by(
        "-interaction_date", "-id"
    )[:limit]
    changes = (
        TroubleTicketStatusChange.objects.filter(ticket__customer_id=customer_id)
        .select_related("ticket")
        .order_by("-changed_at", "-id")[:limit]
    )
    entries = [_interaction_entry(interaction) for interaction in interactions]
    for change in changes:
        ticket = change.ticket
        label = ticket.name or ticket.description[:60]
        moved = (
            f"opened ({change.to_state})"
            if not change.from_state
            else f"{change.from_state} → {change.to_state}"
        )
        entries.append(
            TimelineEntry(
                when=change.changed_at,
                kind="ticket",
                title=f"Ticket TT{ticket.pk} {label}: {moved}",
                detail=change.reason,
                status=change.to_state,
                by=change.changed_by,
                ticket_id=ticket.pk,
            )
        )
    entries.sort(key=lambda entry: entry.when, reverse=True)
    return entries[:limit]


def billing_account_rows() -> QuerySet[BillingAccount]:
    """Billing accounts as bare rows, nothing joined: for the apps above to filter, count or
    look up by id (billing's accounts in a bill run)."""
    return BillingAccount.objects.all()


def billing_account_lock(*, account_id: int) -> BillingAccount | None:
    """The billing account with its row locked (SELECT ... FOR UPDATE) until the transaction
    ends, so that writes about one account (a bill, a payment) take turns; None if unknown."""
    return BillingAccount.objects.select_for_update().filter(pk=account_id).first()


def customer_billing_accounts(customer_id: int) -> QuerySet[BillingAccount]:
    """A customer's billing accounts by number, with their contacts (billing's panel on the
    customer 360 annotates their balance)."""
    return (
        BillingAccount.objects.filter(customer_id=customer_id)
        .prefetch_related("contacts")
        .order_by("account_number")
    )


def customer_rows() -> QuerySet[Customer]:
    """Customers as bare rows, nothing joined: for the apps above to filter, annotate or count
    (inventory's customers impacted by a failure)."""
    return Customer.objects.all()


def party_exists(*, party_id: int) -> bool:
    """Whether a party (individual or organization) has this id."""
    return Party.objects.filter(pk=party_id).exists()


def customer_of_party(*, party_id: int) -> Customer | None:
    """The party's customer (the first by id when it has several), with its party; None when
    the party is not a customer."""
    return Customer.objects.select_related("party").filter(party_id=party_id).order_by("pk").first()


def open_tickets_related_to(referred_type: str, entity_id: str) -> QuerySet[TroubleTicket]:
    """Open tickets whose related entities name `referred_type` `entity_id` (a ServiceProblem:
    the tickets linked to a network incident), oldest first, locked rows not skipped."""
    related = [{"id": str(entity_id), "@referredType": referred_type}]
    return (
        trouble_ticket_list(status="open").filter(related_entities__contains=related).order_by("id")
    )
