"""Credit notes against bills (the bills themselves stay as issued), refunds and reversals of
payments."""

from django.db import models
from django.db.models import Q

from billing.choices import CreditNoteReason, CreditNoteState
from billing.models.bills import AppliedCharge, CustomerBill
from billing.models.payments import Payment
from crm.models import BillingAccount
from telco import clock
from telco.money import currency_field, money_field


class CreditNote(models.Model):
    """Money credited against a bill or one of its lines (served at /api/v1/billing/creditNote).

    Approved, it pays down the bill's remaining amount like a payment would; what the bill no
    longer owes stays `unallocated_amount`: account credit for other bills or a refund.
    """

    billing_account = models.ForeignKey(
        BillingAccount, on_delete=models.PROTECT, related_name="credit_notes"
    )
    bill = models.ForeignKey(CustomerBill, on_delete=models.PROTECT, related_name="credit_notes")
    line = models.ForeignKey(
        AppliedCharge,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="credit_notes",
    )
    number = models.CharField(max_length=20, unique=True)
    reason = models.CharField(max_length=16, choices=CreditNoteReason.choices)
    description = models.CharField(max_length=300, blank=True)
    currency = currency_field()
    # Tax included, as the customer sees it; the tax part at the bill's (or line's) rate.
    amount = money_field()
    tax_amount = money_field()
    unallocated_amount = money_field(default=0)
    state = models.CharField(
        max_length=16, choices=CreditNoteState.choices, default=CreditNoteState.PENDING_APPROVAL
    )
    created_by = models.CharField(max_length=150)
    created_at = models.DateTimeField(default=clock.now)
    decided_by = models.CharField(max_length=150, blank=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_note = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="credit_note_positive"),
            models.CheckConstraint(
                condition=Q(unallocated_amount__gte=0)
                & Q(unallocated_amount__lte=models.F("amount")),
                name="credit_note_unallocated_within",
            ),
        ]
        indexes = [
            models.Index(
                fields=["billing_account"],
                condition=Q(unallocated_amount__gt=0),
                name="credit_note_with_credit",
            )
        ]

    def __str__(self):
        return self.number


class CreditNoteAllocation(models.Model):
    """The part of a credit note that pays down (part of) a bill."""

    credit_note = models.ForeignKey(
        CreditNote, on_delete=models.PROTECT, related_name="allocations"
    )
    bill = models.ForeignKey(
        CustomerBill, on_delete=models.PROTECT, related_name="credit_allocations"
    )
    amount = money_field()
    created_at = models.DateTimeField(default=clock.now)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(
                fields=["credit_note", "bill"], name="one_credit_allocation_per_bill"
            ),
            models.CheckConstraint(condition=Q(amount__gt=0), name="credit_allocation_positive"),
        ]

    def __str__(self):
        return f"{self.amount} of {self.credit_note_id} to {self.bill_id}"


class Refund(models.Model):
    """Money paid back to the customer (TMF676 refund): of one payment, or of account credit.

    `reopened` lists the bills the refund took money back from ({bill, amount}); `reference`
    (TMF correlatorId) makes recording idempotent per account.
    """

    billing_account = models.ForeignKey(
        BillingAccount, on_delete=models.PROTECT, related_name="refunds"
    )
    payment = models.ForeignKey(
        Payment, on_delete=models.PROTECT, null=True, blank=True, related_name="refunds"
    )
    amount = money_field()
    currency = currency_field()
    reason = models.CharField(max_length=300)
    reference = models.CharField(max_length=80, blank=True)
    reopened = models.JSONField(default=list, blank=True)
    refund_date = models.DateTimeField(default=clock.now)
    created_by = models.CharField(max_length=150, blank=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(
                fields=["billing_account", "reference"],
                condition=~Q(reference=""),
                name="refund_reference_unique_per_account",
            ),
            models.CheckConstraint(condition=Q(amount__gt=0), name="refund_positive"),
        ]

    def __str__(self):
        return f"Refund {self.pk} {self.amount} {self.currency}"


class PaymentReversal(models.Model):
    """A payment that never arrived (a bounced direct debit): its allocations undone, the bills
    it paid (`reopened`, {bill, amount}) owed again. One per payment."""

    payment = models.OneToOneField(Payment, on_delete=models.PROTECT, related_name="reversal")
    reason = models.CharField(max_length=300)
    reopened = models.JSONField(default=list, blank=True)
    reversed_at = models.DateTimeField(default=clock.now)
    created_by = models.CharField(max_length=150, blank=True)

    def __str__(self):
        return f"Reversal of payment {self.payment_id}"
