"""Revenue assurance and fraud: reconciliation runs, the cases they open, fraud rules."""

from django.conf import settings
from django.db import models
from django.db.models import Q

from billing.choices import (
    CASE_ACTIVE_STATES,
    CaseEventType,
    CaseKind,
    CaseState,
    FraudRuleCode,
    ReconciliationRunState,
)
from crm.models import BillingAccount
from inventory.models import ProductInstance, Service
from telco import clock
from telco.money import currency_field, money_field


class ReconciliationRun(models.Model):
    """One comparison of network, inventory, billing and mediation, in units a worker does one
    transaction each, so a run that stopped resumes where it was."""

    as_of = models.DateTimeField(default=clock.now)
    state = models.CharField(
        max_length=12,
        choices=ReconciliationRunState.choices,
        default=ReconciliationRunState.RUNNING,
    )
    started_by = models.CharField(max_length=150, blank=True)
    units_total = models.PositiveIntegerField(default=0)
    units_done = models.PositiveIntegerField(default=0)
    # Differences found by kind ({"orphanConfig": 3, ...}), and cases opened or closed.
    found_by_kind = models.JSONField(default=dict, blank=True)
    cases_opened = models.PositiveIntegerField(default=0)
    cases_closed = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)
    started_at = models.DateTimeField(default=clock.now)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-started_at", "-id"]

    def __str__(self):
        return f"Reconciliation {self.pk} as of {self.as_of:%Y-%m-%d %H:%M}"


class ReconciliationUnit(models.Model):
    """One piece of a run: a comparison (`comparison`) over one slice (`key`: an element's name, a
    range of products, a day). `done_at` is set in the transaction that recorded its findings."""

    run = models.ForeignKey(ReconciliationRun, on_delete=models.CASCADE, related_name="units")
    comparison = models.CharField(max_length=40)
    key = models.CharField(max_length=120, blank=True)
    differences = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)
    done_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["run", "id"]
        constraints = [
            models.UniqueConstraint(fields=["run", "comparison", "key"], name="one_unit_per_slice")
        ]
        indexes = [
            models.Index(fields=["run"], condition=Q(done_at__isnull=True), name="ra_unit_to_do")
        ]

    def __str__(self):
        return f"{self.run_id}: {self.comparison} {self.key}"


class RevenueCase(models.Model):
    """One difference (or one fraud hit), kept as a case from first sight to its end.

    `fingerprint` names the difference (its kind and the entities it concerns): the same
    difference found again updates this case, never opens a second one.
    """

    kind = models.CharField(max_length=24, choices=CaseKind.choices)
    fingerprint = models.CharField(max_length=200, unique=True)
    state = models.CharField(max_length=16, choices=CaseState.choices, default=CaseState.OPEN)
    summary = models.CharField(max_length=300)
    # The entities it concerns (any may be empty): foreign keys down the stack, and the element
    # and the reference it holds the configuration under, as the network names them.
    billing_account = models.ForeignKey(
        BillingAccount, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    product = models.ForeignKey(
        ProductInstance, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    service = models.ForeignKey(
        Service, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    element = models.CharField(max_length=120, blank=True)
    service_ref = models.CharField(max_length=120, blank=True)
    day = models.DateField(null=True, blank=True)  # mediation cases: the usage day
    rating_group = models.CharField(max_length=60, blank=True)
    # Revenue at risk per month (leakage or over-charge), in the account's currency.
    amount_at_risk = money_field(default=0)
    currency = currency_field(blank=True)
    # Fraud: how sure the rule is (0-100), and what it saw.
    score = models.PositiveSmallIntegerField(null=True, blank=True)
    evidence = models.JSONField(default=dict, blank=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True
    )
    first_seen = models.DateTimeField(default=clock.now)
    last_seen = models.DateTimeField(default=clock.now)
    closed_at = models.DateTimeField(null=True, blank=True)
    last_run = models.ForeignKey(
        ReconciliationRun, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["-last_seen", "-id"]
        indexes = [
            models.Index(
                fields=["kind", "state"],
                condition=Q(state__in=CASE_ACTIVE_STATES),
                name="ra_case_active",
            ),
            models.Index(fields=["billing_account"], name="ra_case_account"),
            models.Index(fields=["product"], name="ra_case_product"),
            models.Index(fields=["service"], name="ra_case_service"),
        ]

    def __str__(self):
        return f"Case {self.pk} {self.kind}: {self.summary}"

    @property
    def is_fraud(self) -> bool:
        return self.kind.startswith("fraud")


class CaseEvent(models.Model):
    """A case's history: found, seen again, gone, moved, assigned, noted, acted on."""

    case = models.ForeignKey(RevenueCase, on_delete=models.CASCADE, related_name="events")
    type = models.CharField(max_length=10, choices=CaseEventType.choices)
    at = models.DateTimeField(default=clock.now)
    by = models.CharField(max_length=150, blank=True)
    from_state = models.CharField(max_length=16, blank=True)
    to_state = models.CharField(max_length=16, blank=True)
    text = models.TextField(blank=True)
    run = models.ForeignKey(
        ReconciliationRun, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["at", "id"]
        indexes = [models.Index(fields=["case", "at"], name="ra_case_event")]

    def __str__(self):
        return f"{self.case_id} {self.type} {self.at:%Y-%m-%d %H:%M}"


class FraudRule(models.Model):
    """A fraud rule and its thresholds, edited by risk staff in admin.

    Thresholds by rule: usageSpike {"factor", "baselineDays", "minimumVolume"}; highCost
    {"ratingGroups", "volumeThreshold", "windowHours"}; simBox {"minDistinctNumbers",
    "maxAverageSeconds", "windowHours"}.
    """

    code = models.CharField(max_length=20, choices=FraudRuleCode.choices, unique=True)
    name = models.CharField(max_length=100)
    description = models.CharField(max_length=300, blank=True)
    is_enabled = models.BooleanField(default=True)
    thresholds = models.JSONField(default=dict)
    score = models.PositiveSmallIntegerField(default=50)
    # A hit bars the service at once (a TMF622 suspend order, reason fraud), without waiting
    # for an analyst.
    bars_automatically = models.BooleanField(default=False)
    last_update = models.DateTimeField(default=clock.now)

    class Meta:
        ordering = ["code"]

    def __str__(self):
        return self.name


class FraudScan(models.Model):
    """How far the fraud rules have read the usage table (rules run on usage as it is rated)."""

    name = models.CharField(max_length=20, unique=True, default="usage")
    last_usage_id = models.BigIntegerField(default=0)
    scanned_at = models.DateTimeField(null=True, blank=True)

    def __str__(self):
        return f"{self.name} up to {self.last_usage_id}"
