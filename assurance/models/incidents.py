"""Incidents (TMF656 ServiceProblem): one per fault, its root cause, and what it takes down."""

from django.db import models
from django.db.models import Q

from assurance.choices import IncidentState, ServiceImpact
from inventory.models import Resource, Service
from telco import clock
from telco.money import currency_field, money_field
from telco.states import StateChange


class Incident(models.Model):
    """One fault: its root alarm and resource, the alarms correlated under it, and its impact.

    The impact figures are kept true while the incident lives (alarms join and clear, the
    topology changes); `IncidentService` rows say which services are down or degraded, since
    when and until when (SLA outage time is measured from them).
    """

    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    category = models.CharField(max_length=60, default="networkFault")
    priority = models.PositiveSmallIntegerField(default=5)  # 1 (highest) to 10
    originating_system = models.CharField(max_length=80, blank=True)
    state = models.CharField(
        max_length=16, choices=IncidentState.choices, default=IncidentState.PENDING
    )
    status_change_reason = models.CharField(max_length=200, blank=True)
    root_alarm = models.ForeignKey(
        "assurance.Alarm", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    root_resource = models.ForeignKey(
        Resource, on_delete=models.PROTECT, null=True, blank=True, related_name="incidents"
    )
    first_alarm_time = models.DateTimeField()
    created_at = models.DateTimeField(default=clock.now)
    last_update = models.DateTimeField(default=clock.now)
    status_change_date = models.DateTimeField(default=clock.now)
    # Confirmed: still there after the confirmation delay; customers hear of it from then on.
    confirmed_at = models.DateTimeField(null=True, blank=True)
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    acknowledged_by = models.CharField(max_length=150, blank=True)
    assigned_to = models.CharField(max_length=150, blank=True)
    expected_restore_time = models.DateTimeField(null=True, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    # TMF656 Note objects ({text, author, date}), appended, never rewritten.
    notes = models.JSONField(default=list, blank=True)
    # Impact, recomputed set-based whenever alarms join or clear.
    services_down = models.PositiveIntegerField(default=0)
    services_degraded = models.PositiveIntegerField(default=0)
    products_count = models.PositiveIntegerField(default=0)
    accounts_count = models.PositiveIntegerField(default=0)
    customers_count = models.PositiveIntegerField(default=0)
    customers_by_segment = models.JSONField(default=dict, blank=True)
    revenue_at_risk = money_field(default=0)  # monthly recurring revenue of the impacted
    currency = currency_field()
    impact_updated_at = models.DateTimeField(null=True, blank=True)
    # Its root resource is under planned work (a maintenance window): alarms are kept, but
    # customers are not told and SLA outage time does not count it.
    in_maintenance = models.BooleanField(default=False)

    class Meta:
        ordering = ["-first_alarm_time", "-id"]
        indexes = [models.Index(fields=["state", "first_alarm_time"])]

    def __str__(self):
        return f"Incident {self.pk}: {self.name}"


class IncidentStateChange(StateChange):
    """A move of an incident's status: from, to, who, when, why."""

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="history")


class IncidentService(models.Model):
    """A service an incident takes down (every path lost) or degrades (a path survives), from
    `started_at` until `ended_at` (null while it lasts). A service that goes from degraded to
    down (or back) ends one row and starts another, so outage time can be summed per impact."""

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="impacts")
    service = models.ForeignKey(Service, on_delete=models.CASCADE, related_name="incident_impacts")
    impact = models.CharField(max_length=10, choices=ServiceImpact.choices)
    started_at = models.DateTimeField()
    ended_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["incident", "service"],
                condition=Q(ended_at__isnull=True),
                name="one_open_impact_per_incident_service",
            ),
            models.CheckConstraint(
                condition=Q(ended_at__isnull=True) | Q(ended_at__gte=models.F("started_at")),
                name="impact_ends_after_it_starts",
            ),
        ]
        indexes = [models.Index(fields=["service", "started_at"])]

    def __str__(self):
        return f"{self.service} {self.impact} in incident {self.incident_id}"
