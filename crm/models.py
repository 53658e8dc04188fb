"""Customers and who they are: parties, customers, billing accounts, trouble tickets."""

from django.db import models
from django.db.models import Q
from django.utils import timezone

from crm.choices import (
    AccountState,
    CustomerStatus,
    PartyKind,
    PaymentMethod,
    Segment,
    TicketSeverity,
    TicketStatus,
    TicketType,
)
from telco.money import currency_field, money_field
from telco.states import StateChange


class Party(models.Model):
    """A person or an organization (TMF632), with its contact details."""

    kind = models.CharField(max_length=12, choices=PartyKind.choices)
    given_name = models.CharField(max_length=80, blank=True)
    family_name = models.CharField(max_length=80, blank=True)
    organization_name = models.CharField(max_length=160, blank=True)
    birth_date = models.DateField(null=True, blank=True)
    email = models.EmailField(blank=True)
    phone = models.CharField(max_length=32, blank=True)
    street = models.CharField(max_length=160, blank=True)
    city = models.CharField(max_length=80, blank=True)
    postcode = models.CharField(max_length=16, blank=True)
    country = models.CharField(max_length=2, default="GB")
    created_at = models.DateTimeField(default=timezone.now)
    last_update = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name_plural = "parties"
        constraints = [
            models.CheckConstraint(
                condition=Q(kind="individual", family_name__gt="")
                | Q(kind="organization", organization_name__gt=""),
                name="party_has_name",
            )
        ]
        indexes = [models.Index(fields=["email"]), models.Index(fields=["phone"])]

    def __str__(self):
        return self.display_name

    @property
    def display_name(self) -> str:
        if self.kind == PartyKind.ORGANIZATION:
            return self.organization_name
        return f"{self.given_name} {self.family_name}".strip()

    @property
    def referred_type(self) -> str:
        return "Organization" if self.kind == PartyKind.ORGANIZATION else "Individual"


class Customer(models.Model):
    """A party in its role as the operator's customer (TMF629)."""

    party = models.ForeignKey(Party, on_delete=models.PROTECT, related_name="customer_roles")
    name = models.CharField(max_length=160)
    status = models.CharField(
        max_length=12, choices=CustomerStatus.choices, default=CustomerStatus.APPROVED
    )
    segment = models.CharField(max_length=16, choices=Segment.choices, default=Segment.CONSUMER)
    created_at = models.DateTimeField(default=timezone.now)
    last_update = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [models.Index(fields=["name"])]

    def __str__(self):
        return self.name


class BillingAccount(models.Model):
    """Where a customer's charges are billed (TMF666 billingAccount)."""

    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="accounts")
    account_number = models.CharField(max_length=20, unique=True)
    name = models.CharField(max_length=160)
    currency = currency_field()
    bill_cycle_day = models.PositiveSmallIntegerField(default=1)
    payment_method = models.CharField(
        max_length=16, choices=PaymentMethod.choices, default=PaymentMethod.DIRECT_DEBIT
    )
    credit_limit = money_field(default=0)
    state = models.CharField(max_length=12, choices=AccountState.choices, default="active")
    created_at = models.DateTimeField(default=timezone.now)
    last_update = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            # Day 29-31 would not exist in every month; operators cut on 1-28.
            models.CheckConstraint(
                condition=Q(bill_cycle_day__gte=1, bill_cycle_day__lte=28),
                name="bill_cycle_day_1_to_28",
            )
        ]

    def __str__(self):
        return f"{self.account_number} {self.name}"


class BillingAccountStateChange(StateChange):
    """History of an account's state moves (active, suspended, closed)."""

    account = models.ForeignKey(BillingAccount, on_delete=models.CASCADE, related_name="history")


class TroubleTicket(models.Model):
    """A customer's problem or request and its handling (TMF621 troubleTicket)."""

    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="trouble_tickets")
    name = models.CharField(max_length=160, blank=True)
    description = models.TextField()
    ticket_type = models.CharField(max_length=16, choices=TicketType.choices)
    severity = models.CharField(max_length=12, choices=TicketSeverity.choices)
    priority = models.PositiveSmallIntegerField(default=3)
    status = models.CharField(
        max_length=16, choices=TicketStatus.choices, default=TicketStatus.ACKNOWLEDGED
    )
    status_change_reason = models.TextField(blank=True)
    assignee = models.CharField(max_length=150, blank=True)
    # TMF refs [{id, @referredType, name}] to services, products, orders, bills: the apps above
    # CRM own those rows, so a ticket keeps their id and type, not a foreign key.
    related_entities = models.JSONField(default=list, blank=True)
    # [{author, date, text}], appended to, never rewritten.
    notes = models.JSONField(default=list, blank=True)
    expected_response_date = models.DateTimeField()
    expected_resolution_date = models.DateTimeField()
    responded_at = models.DateTimeField(null=True, blank=True)
    resolution_date = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    last_update = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(priority__gte=1, priority__lte=4), name="ticket_priority_1_to_4"
            ),
            models.CheckConstraint(
                condition=Q(severity__in=TicketSeverity.values), name="ticket_severity_known"
            ),
            models.CheckConstraint(
                condition=Q(status__in=TicketStatus.values), name="ticket_status_known"
            ),
        ]
        indexes = [models.Index(fields=["status", "severity"])]

    def __str__(self):
        return f"TT{self.pk} {self.name or self.description[:40]}"

    @property
    def is_response_breached(self) -> bool:
        """Responded after the deadline, or not yet responded and the deadline has passed."""
        return (self.responded_at or timezone.now()) > self.expected_response_date

    @property
    def is_resolution_breached(self) -> bool:
        """Resolved after the deadline, or still open past it (a withdrawn ticket never is)."""
        if self.resolution_date is not None:
            return self.resolution_date > self.expected_resolution_date
        if self.status in (TicketStatus.CANCELLED, TicketStatus.REJECTED):
            return False
        return timezone.now() > self.expected_resolution_date


class TroubleTicketStatusChange(StateChange):
    """History of a trouble ticket's status moves."""

    ticket = models.ForeignKey(TroubleTicket, on_delete=models.CASCADE, related_name="history")
