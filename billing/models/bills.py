"""Bill runs, bills, their lines and numbering, bills on demand."""

from decimal import Decimal

import pgtrigger
from django.db import models
from django.db.models import Q

from billing.choices import (
    BillOnDemandState,
    BillRunState,
    BillState,
    ChargeType,
)
from crm.models import BillingAccount
from inventory.models import ProductInstance
from telco import clock
from telco.money import currency_field, money_field
from telco.states import StateChange


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
        # Immutable once written, enforced by PostgreSQL itself (installed after `migrate`):
        # what a bill charges, in which currency, for which account and period, and its number
        # once given (the bill run numbers its bills after copying them in, from a "~"
        # placeholder). State, what remains to pay and the due date stay writable.
        triggers = [
            pgtrigger.ReadOnly(
                name="bill_money_is_immutable",
                fields=[
                    "billing_account",
                    "period_start",
                    "period_end",
                    "bill_date",
                    "currency",
                    "tax_excluded_amount",
                    "tax_amount",
                    "tax_included_amount",
                ],
            ),
            pgtrigger.Protect(
                name="bill_number_is_immutable",
                operation=pgtrigger.Update,
                condition=pgtrigger.Condition(
                    "OLD.bill_no IS DISTINCT FROM NEW.bill_no AND OLD.bill_no NOT LIKE '~%%'"
                ),
            ),
        ]

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
        # A bill line never changes once written (PostgreSQL refuses any UPDATE of it).
        triggers = [pgtrigger.ReadOnly(name="bill_line_is_immutable")]

    def __str__(self):
        return self.name


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
