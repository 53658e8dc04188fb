"""Payments and what they settle."""

import pgtrigger
from django.db import models
from django.db.models import Q

from billing.choices import (
    PaymentMethodType,
    PaymentState,
)
from billing.models.bills import CustomerBill
from crm.models import BillingAccount
from telco import clock
from telco.money import currency_field, money_field


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
        # What was received, when, on which account, is never edited (PostgreSQL refuses it);
        # allocation (`unallocated_amount`) and state (refunds, reversals) move on.
        triggers = [
            pgtrigger.ReadOnly(
                name="payment_money_is_immutable",
                fields=[
                    "billing_account",
                    "amount",
                    "currency",
                    "payment_date",
                    "method",
                    "reference",
                    "created_at",
                ],
            )
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
