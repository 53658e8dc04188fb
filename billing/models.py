"""Charging and billing: usage events, bill runs, bills and their lines."""

from decimal import Decimal

from django.db import models
from django.db.models import Q

from billing.choices import (
    BillOnDemandState,
    BillRunState,
    BillState,
    ChargeType,
    PaymentMethodType,
    PaymentState,
    UsageRejectionReason,
    UsageStatus,
)
from crm.models import BillingAccount
from inventory.models import ProductInstance, Service
from telco import clock
from telco.money import currency_field, money_field
from telco.states import StateChange


class UsageSpecification(models.Model):
    """What a kind of usage record carries (TMF635 usageSpecification): data session, call...

    The id is a slug made from the name at creation (`data-session`), so the network's
    mediation can name the specification in its records without looking an integer up first.
    """

    id = models.CharField(primary_key=True, max_length=40)
    name = models.CharField(max_length=100, unique=True)
    description = models.CharField(max_length=300, blank=True)
    version = models.CharField(max_length=20, blank=True)
    lifecycle_status = models.CharField(max_length=20, default="active")
    valid_from = models.DateTimeField(null=True, blank=True)
    valid_to = models.DateTimeField(null=True, blank=True)
    # The characteristics a record of this kind carries: [{"name", "valueType", "description"}].
    spec_characteristics = models.JSONField(default=list, blank=True)
    last_update = models.DateTimeField(default=clock.now)

    class Meta:
        ordering = ["id"]

    def __str__(self):
        return self.name


class UsageEvent(models.Model):
    """One usage record from the network (TMF635). `event_id` makes ingest idempotent.

    Every record is kept: one that cannot be charged is `rejected`, with the reason, and the
    attributes it lacked are empty; only `received`/`rated` records are ever billed.
    """

    # Null only on a rejected record that came without one (it cannot be deduplicated).
    event_id = models.CharField(max_length=80, unique=True, null=True, blank=True)
    service = models.ForeignKey(
        Service, on_delete=models.PROTECT, related_name="usage", null=True, blank=True
    )
    product = models.ForeignKey(
        ProductInstance, on_delete=models.PROTECT, related_name="usage", null=True, blank=True
    )
    billing_account = models.ForeignKey(
        BillingAccount, on_delete=models.PROTECT, null=True, blank=True
    )
    usage_date = models.DateTimeField(null=True, blank=True)
    usage_type = models.CharField(max_length=20, default="data")
    usage_specification = models.ForeignKey(
        UsageSpecification, on_delete=models.PROTECT, null=True, blank=True, related_name="usage"
    )
    rating_group = models.CharField(max_length=60, blank=True)
    volume = models.DecimalField(max_digits=20, decimal_places=6, null=True, blank=True)
    unit = models.CharField(max_length=10, blank=True)
    # Volume normalised to the price's unit of measure (GB for data), set on ingest.
    rated_volume = models.DecimalField(max_digits=20, decimal_places=6, null=True, blank=True)
    status = models.CharField(
        max_length=10, choices=UsageStatus.choices, default=UsageStatus.RECEIVED
    )
    rejection_reason = models.CharField(
        max_length=24, choices=UsageRejectionReason.choices, blank=True
    )
    rejection_message = models.CharField(max_length=300, blank=True)
    # The serviceId as the network sent it, when it names no service of ours.
    reported_service_id = models.CharField(max_length=80, blank=True)
    received_at = models.DateTimeField(default=clock.now)
    # The bill line that charged this event (set by the bill run): traces usage to the invoice.
    applied_charge = models.ForeignKey(
        "AppliedCharge",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="usage_events",
    )

    class Meta:
        indexes = [
            models.Index(fields=["product", "rating_group", "usage_date"]),
            # What a bill run still has to charge (including late usage): small, always hot.
            models.Index(
                fields=["product", "usage_date"],
                condition=Q(status__in=["received", "rated"]),
                name="usage_unbilled",
            ),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(volume__gte=0), name="usage_volume_not_negative"),
            # A record the bill run may charge has everything rating needs.
            models.CheckConstraint(
                condition=Q(status="rejected")
                | Q(
                    event_id__isnull=False,
                    service__isnull=False,
                    product__isnull=False,
                    billing_account__isnull=False,
                    usage_date__isnull=False,
                    rated_volume__isnull=False,
                ),
                name="usage_chargeable_is_complete",
            ),
        ]

    def __str__(self):
        return self.event_id or f"usage {self.pk}"


class BillRun(models.Model):
    """One execution of the bill run: which periods, how far it got, so it can resume."""

    as_of = models.DateField()
    billing_account = models.ForeignKey(
        BillingAccount, on_delete=models.SET_NULL, null=True, blank=True
    )
    state = models.CharField(
        max_length=20, choices=BillRunState.choices, default=BillRunState.RUNNING
    )
    accounts_total = models.PositiveIntegerField(default=0)
    # Accounts walked, billed or not; `accounts_failed` of them still have an open failure.
    accounts_done = models.PositiveIntegerField(default=0)
    accounts_failed = models.PositiveIntegerField(default=0)
    bills_created = models.PositiveIntegerField(default=0)
    last_account_id = models.BigIntegerField(default=0)
    error = models.TextField(blank=True)
    started_at = models.DateTimeField(default=clock.now)
    finished_at = models.DateTimeField(null=True, blank=True)

    def __str__(self):
        return f"Bill run {self.pk} as of {self.as_of}"


class BillRunFailure(models.Model):
    """An account a bill run could not bill, and why: the run carried on with the others, and
    a resume of the run (or any later run) tries the account again."""

    bill_run = models.ForeignKey(BillRun, on_delete=models.CASCADE, related_name="failures")
    billing_account = models.ForeignKey(
        BillingAccount, on_delete=models.PROTECT, related_name="bill_run_failures"
    )
    reason = models.TextField()
    failed_at = models.DateTimeField(default=clock.now)
    # Set when a resume of the run billed the account after all.
    resolved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(
                fields=["bill_run", "billing_account"], name="one_failure_per_run_account"
            )
        ]

    def __str__(self):
        return f"Bill run {self.bill_run_id} account {self.billing_account_id}: {self.reason}"


class CustomerBill(models.Model):
    """An invoice (TMF678 customerBill): immutable once issued, numbered in sequence."""

    billing_account = models.ForeignKey(
        BillingAccount, on_delete=models.PROTECT, related_name="bills"
    )
    bill_no = models.CharField(max_length=20, unique=True)
    period_start = models.DateTimeField()
    period_end = models.DateTimeField()
    bill_date = models.DateTimeField(default=clock.now)
    payment_due_date = models.DateTimeField()
    state = models.CharField(max_length=16, choices=BillState.choices, default=BillState.NEW)
    currency = currency_field()
    tax_excluded_amount = money_field()
    tax_amount = money_field()
    tax_included_amount = money_field()
    # What is still to pay: the total less the payments allocated to it (0 once settled).
    remaining_amount = money_field(default=0)
    bill_run = models.ForeignKey(BillRun, on_delete=models.SET_NULL, null=True, blank=True)
    last_update = models.DateTimeField(default=clock.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["billing_account", "period_start"], name="one_bill_per_account_period"
            ),
            # Within half a unit of the 4th place rather than "=": SQLite (the embedded demo)
            # adds decimals as floats; on PostgreSQL's numeric this is exact equality.
            models.CheckConstraint(
                condition=Q(
                    tax_included_amount__gt=models.F("tax_excluded_amount")
                    + models.F("tax_amount")
                    - Decimal("0.00005"),
                    tax_included_amount__lt=models.F("tax_excluded_amount")
                    + models.F("tax_amount")
                    + Decimal("0.00005"),
                ),
                name="bill_total_is_net_plus_tax",
            ),
            models.CheckConstraint(
                condition=Q(remaining_amount__gte=0)
                & Q(remaining_amount__lte=models.F("tax_included_amount")),
                name="bill_remaining_within_total",
            ),
        ]
        indexes = [models.Index(fields=["billing_account", "bill_date"])]

    def __str__(self):
        return self.bill_no


class CustomerBillStateChange(StateChange):
    """History of a bill's state moves (a payment settling it: who recorded it, which one)."""

    bill = models.ForeignKey(CustomerBill, on_delete=models.CASCADE, related_name="history")


class BillSequence(models.Model):
    """The counter behind sequential bill numbers (one row, locked while numbering)."""

    name = models.CharField(max_length=20, unique=True)
    last_value = models.PositiveBigIntegerField(default=0)

    def __str__(self):
        return f"{self.name}={self.last_value}"


class AppliedCharge(models.Model):
    """One bill line (TMF678 appliedCustomerBillingRate): recurring, one-time or usage."""

    bill = models.ForeignKey(CustomerBill, on_delete=models.PROTECT, related_name="lines")
    billing_account = models.ForeignKey(BillingAccount, on_delete=models.PROTECT)
    product = models.ForeignKey(ProductInstance, on_delete=models.PROTECT, related_name="charges")
    charge_type = models.CharField(max_length=10, choices=ChargeType.choices)
    name = models.CharField(max_length=200)
    description = models.CharField(max_length=300, blank=True)
    period_start = models.DateTimeField()
    period_end = models.DateTimeField()
    quantity = models.DecimalField(max_digits=20, decimal_places=6, default=1)
    unit = models.CharField(max_length=10, blank=True)
    currency = currency_field()
    tax_rate = models.DecimalField(max_digits=5, decimal_places=4)
    tax_excluded_amount = money_field()
    tax_amount = money_field()
    tax_included_amount = money_field()
    # What this line charges for; unique, so a product is never charged twice for the same thing.
    charge_key = models.CharField(max_length=120, unique=True)
    date = models.DateTimeField(default=clock.now)

    class Meta:
        ordering = ["id"]

    def __str__(self):
        return self.name


class Payment(models.Model):
    """A payment received on an account (TMF676 payment), allocated to its bills oldest first.

    What no open bill took stays `unallocated_amount`: account credit for the next bills.
    `reference` (TMF correlatorId) makes recording idempotent per account.
    """

    billing_account = models.ForeignKey(
        BillingAccount, on_delete=models.PROTECT, related_name="payments"
    )
    amount = money_field()
    currency = currency_field()
    unallocated_amount = money_field()
    payment_date = models.DateTimeField(default=clock.now)
    method = models.CharField(max_length=16, choices=PaymentMethodType.choices)
    reference = models.CharField(max_length=80, blank=True)
    description = models.CharField(max_length=300, blank=True)
    authorization_code = models.CharField(max_length=80, blank=True)
    state = models.CharField(
        max_length=10, choices=PaymentState.choices, default=PaymentState.RECEIVED
    )
    state_date = models.DateTimeField(default=clock.now)
    created_by = models.CharField(max_length=150, blank=True)
    created_at = models.DateTimeField(default=clock.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["billing_account", "reference"],
                condition=~Q(reference=""),
                name="payment_reference_unique_per_account",
            ),
            models.CheckConstraint(condition=Q(amount__gt=0), name="payment_amount_positive"),
            models.CheckConstraint(
                condition=Q(unallocated_amount__gte=0)
                & Q(unallocated_amount__lte=models.F("amount")),
                name="payment_unallocated_within_amount",
            ),
        ]
        indexes = [
            models.Index(fields=["billing_account", "payment_date"]),
            # The credit still to apply: small, looked up at every bill.
            models.Index(
                fields=["billing_account"],
                condition=Q(unallocated_amount__gt=0),
                name="payment_with_credit",
            ),
        ]

    def __str__(self):
        return f"Payment {self.pk} {self.amount} {self.currency}"


class PaymentAllocation(models.Model):
    """The part of a payment that settles (part of) a bill (TMF676 paymentItem)."""

    payment = models.ForeignKey(Payment, on_delete=models.PROTECT, related_name="allocations")
    bill = models.ForeignKey(CustomerBill, on_delete=models.PROTECT, related_name="allocations")
    amount = money_field()
    created_at = models.DateTimeField(default=clock.now)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["payment", "bill"], name="one_allocation_per_bill"),
            models.CheckConstraint(condition=Q(amount__gt=0), name="allocation_amount_positive"),
        ]

    def __str__(self):
        return f"{self.amount} of payment {self.payment_id} to {self.bill_id}"


class CustomerBillOnDemand(models.Model):
    """A request to bill one account now (TMF678 customerBillOnDemand), done by a worker.

    It bills the account's ended periods that have no bill yet, and points to the newest bill
    it produced; `state_reason` says why it was rejected or ended with an error.
    """

    billing_account = models.ForeignKey(
        BillingAccount, on_delete=models.PROTECT, related_name="bill_requests"
    )
    name = models.CharField(max_length=100, blank=True)
    description = models.CharField(max_length=300, blank=True)
    state = models.CharField(
        max_length=20, choices=BillOnDemandState.choices, default=BillOnDemandState.IN_PROGRESS
    )
    state_reason = models.CharField(max_length=300, blank=True)
    customer_bill = models.ForeignKey(
        CustomerBill, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_by = models.CharField(max_length=150, blank=True)
    created_at = models.DateTimeField(default=clock.now)
    last_update = models.DateTimeField(default=clock.now)

    class Meta:
        ordering = ["id"]

    def __str__(self):
        return f"Bill on demand {self.pk} of {self.billing_account_id}"


class CustomerBillOnDemandStateChange(StateChange):
    """History of a bill-on-demand request's state moves."""

    request = models.ForeignKey(
        CustomerBillOnDemand, on_delete=models.CASCADE, related_name="history"
    )


class SlaCredit(models.Model):
    """What a broken SLA owes a product for one period: a negative line on the account's next
    bill. Recorded by assurance (through `billing.services.sla_credit_record`) once per product
    and period (`uniq_sla_credit_per_product_period`); billed once, by the bill line whose
    `charge_key` it holds (unbilled while no line has that key)."""

    billing_account = models.ForeignKey(
        BillingAccount, on_delete=models.PROTECT, related_name="sla_credits"
    )
    product = models.ForeignKey(
        ProductInstance, on_delete=models.PROTECT, related_name="sla_credits"
    )
    sla = models.ForeignKey(
        "catalog.ServiceLevelAgreement", on_delete=models.PROTECT, related_name="credits"
    )
    period_start = models.DateTimeField()
    period_end = models.DateTimeField()
    # The incidents (TMF656 ServiceProblem ids) whose outage made the breach: references up the
    # stack, so ids, not keys.
    incident_ids = models.JSONField(default=list, blank=True)
    availability_target = models.DecimalField(max_digits=6, decimal_places=3)
    achieved_availability = models.DecimalField(max_digits=7, decimal_places=4)
    outage_minutes = models.DecimalField(max_digits=10, decimal_places=2)
    latency_minutes = models.DecimalField(max_digits=10, decimal_places=2, default=0)
    credit_percent = models.DecimalField(max_digits=5, decimal_places=2)
    monthly_recurring_charge = money_field()
    amount = money_field()  # the credit, positive, rated to 4 places; the bill line negates it
    currency = currency_field()
    description = models.CharField(max_length=300, blank=True)
    charge_key = models.CharField(max_length=120, unique=True)
    created_at = models.DateTimeField(default=clock.now)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(
                fields=["product", "period_start"], name="uniq_sla_credit_per_product_period"
            ),
            models.CheckConstraint(
                condition=Q(period_end__gt=models.F("period_start")),
                name="sla_credit_period_ordered",
            ),
            models.CheckConstraint(condition=Q(amount__gt=0), name="sla_credit_positive"),
            models.CheckConstraint(
                condition=Q(credit_percent__gt=0, credit_percent__lte=100),
                name="sla_credit_percent_in_range",
            ),
        ]
        indexes = [models.Index(fields=["billing_account", "period_start"])]

    def __str__(self):
        return f"SLA credit {self.amount} {self.currency} for product {self.product_id}"
