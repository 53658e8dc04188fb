"""Dunning: the steps an overdue bill walks (policies), its stay in dunning (cases) and the
steps taken (actions, each once per case)."""

from django.db import models
from django.db.models import Q

from billing.choices import DunningActionState, DunningActionType, DunningCloseReason
from billing.models.bills import CustomerBill
from crm.models import BillingAccount
from telco import clock
from telco.money import money_field


class DunningPolicy(models.Model):
    """Ordered steps for overdue bills; the default policy applies to every bill."""

    name = models.CharField(max_length=80, unique=True)
    description = models.CharField(max_length=300, blank=True)
    is_default = models.BooleanField(default=False)
    # A bill owing less than this is not dunned (nor kept in dunning after a part payment).
    minimum_amount = money_field(default=0)

    class Meta:
        verbose_name_plural = "dunning policies"
        constraints = [
            models.UniqueConstraint(
                fields=["is_default"], condition=Q(is_default=True), name="one_default_dunning"
            )
        ]

    def __str__(self):
        return self.name


class DunningStep(models.Model):
    """One step of a policy: `action` once the bill is `days_after_due` days overdue."""

    policy = models.ForeignKey(DunningPolicy, on_delete=models.CASCADE, related_name="steps")
    position = models.PositiveSmallIntegerField()
    days_after_due = models.PositiveSmallIntegerField()
    action = models.CharField(max_length=16, choices=DunningActionType.choices)

    class Meta:
        ordering = ["policy", "position"]
        constraints = [
            models.UniqueConstraint(fields=["policy", "position"], name="dunning_step_position"),
            models.UniqueConstraint(fields=["policy", "action"], name="dunning_step_action"),
        ]

    def __str__(self):
        return f"{self.get_action_display()} after {self.days_after_due} days"


class DunningCase(models.Model):
    """A bill's stay in dunning: opened when it is overdue, closed when it is paid or credited.
    A bill re-opened by a reversed payment starts a new case (the steps again, counted from
    `reference_date`, the day it was re-opened)."""

    bill = models.ForeignKey(CustomerBill, on_delete=models.PROTECT, related_name="dunning_cases")
    billing_account = models.ForeignKey(
        BillingAccount, on_delete=models.PROTECT, related_name="dunning_cases"
    )
    policy = models.ForeignKey(DunningPolicy, on_delete=models.PROTECT, related_name="cases")
    # Step days count from here: the bill's due date (the first case) or the re-opening.
    reference_date = models.DateTimeField()
    opened_at = models.DateTimeField(default=clock.now)
    closed_at = models.DateTimeField(null=True, blank=True)
    close_reason = models.CharField(max_length=16, choices=DunningCloseReason.choices, blank=True)
    # TMF622 order that resumed what this case suspended (orders sit above billing: an id).
    resume_order_id = models.CharField(max_length=40, blank=True)
    # Why the resume could not be ordered (the agent resumes by hand then).
    resume_error = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(
                fields=["bill"], condition=Q(closed_at__isnull=True), name="one_open_dunning_case"
            )
        ]
        indexes = [
            models.Index(
                fields=["billing_account"],
                condition=Q(closed_at__isnull=True),
                name="dunning_case_open",
            )
        ]

    def __str__(self):
        return f"Dunning of {self.bill_id} ({'open' if self.is_open else self.close_reason})"

    @property
    def is_open(self) -> bool:
        return self.closed_at is None


class DunningAction(models.Model):
    """A step taken for a case: once per case and step (`one_action_per_case_step`)."""

    case = models.ForeignKey(DunningCase, on_delete=models.CASCADE, related_name="actions")
    # Not indexed alone: read with its case (the unique constraint's index), never by step.
    step = models.ForeignKey(
        DunningStep, on_delete=models.PROTECT, related_name="+", db_index=False
    )
    action = models.CharField(max_length=16, choices=DunningActionType.choices)
    # The step's position when taken (the latest step of a case is the highest).
    position = models.PositiveSmallIntegerField()
    state = models.CharField(
        max_length=10, choices=DunningActionState.choices, default=DunningActionState.PENDING
    )
    created_at = models.DateTimeField(default=clock.now)
    done_at = models.DateTimeField(null=True, blank=True)
    detail = models.TextField(blank=True)
    # The products a suspension or termination ordered, and the TMF622 order's id.
    product_ids = models.JSONField(default=list, blank=True)
    order_id = models.CharField(max_length=40, blank=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["case", "step"], name="one_action_per_case_step")
        ]
        indexes = [
            models.Index(
                fields=["id"],
                condition=Q(state=DunningActionState.PENDING),
                name="dunning_action_pending",
            )
        ]

    def __str__(self):
        return f"{self.action} for case {self.case_id}: {self.state}"
