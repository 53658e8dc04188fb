"""Customers and who they are: parties, customers, billing accounts."""

from django.db import models
from django.db.models import Q
from django.utils import timezone

from crm.choices import AccountState, CustomerStatus, PartyKind, PaymentMethod, Segment
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
