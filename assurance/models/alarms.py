"""Alarms on network resources (TMF642) and the services they affect."""

from django.db import models
from django.db.models import Q

from assurance.choices import AckState, AlarmState, AlarmTaskKind, AlarmType, Severity
from inventory.models import Resource, Service
from telco import clock
from telco.states import StateChange


class Alarm(models.Model):
    """An alarm (TMF642) on a network resource, deduplicated on its reduction key."""

    external_alarm_id = models.CharField(max_length=80, blank=True)
    source_system_id = models.CharField(max_length=80)
    alarmed_object_ref = models.CharField(max_length=120)
    alarmed_object_type = models.CharField(max_length=60, blank=True)
    # The references an alarm storm writes (resource at insert, incident and root alarm at
    # correlation, each history row's alarm) are kept by the ORM, not checked by the database: a
    # deferred foreign-key check locks the referenced row, one lock per alarm at commit (the
    # commits of 100,000 bulk alarms took 0.9 s with the checks, 0.3 s without). The ingest
    # resolves the resource and correlation picks the incident in the same transaction; the ORM
    # PROTECTs resources with alarms, and incidents are closed, never deleted.
    resource = models.ForeignKey(
        Resource,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="alarms",
        db_constraint=False,
    )
    alarm_type = models.CharField(max_length=32, choices=AlarmType.choices)
    perceived_severity = models.CharField(max_length=16, choices=Severity.choices)
    probable_cause = models.CharField(max_length=80)
    specific_problem = models.CharField(max_length=200, blank=True)
    alarm_details = models.TextField(blank=True)
    state = models.CharField(max_length=10, choices=AlarmState.choices, default=AlarmState.RAISED)
    ack_state = models.CharField(
        max_length=16, choices=AckState.choices, default=AckState.UNACKNOWLEDGED
    )
    ack_user_id = models.CharField(max_length=150, blank=True)
    ack_system_id = models.CharField(max_length=80, blank=True)
    # source, object ref, type, cause, problem: one active row per fault (OpenNMS-style).
    reduction_key = models.CharField(max_length=500)
    occurrence_count = models.PositiveIntegerField(default=1)
    is_service_affecting = models.BooleanField(default=False)
    alarm_raised_time = models.DateTimeField()
    alarm_reported_time = models.DateTimeField(default=clock.now)
    alarm_changed_time = models.DateTimeField(null=True, blank=True)
    alarm_cleared_time = models.DateTimeField(null=True, blank=True)
    affected_services = models.ManyToManyField(Service, blank=True, related_name="alarms")
    # TMF642 Comment objects ({comment, userId, systemId, time}), appended, never rewritten.
    comments = models.JSONField(default=list, blank=True)
    # Database defaults: the bulk and single raise insert with SQL that does not name them.
    # Correlation: the incident the alarm belongs to; the root alarm of that incident has
    # `is_root_cause` and lists the others as its `correlatedAlarm` (their `root_alarm`).
    incident = models.ForeignKey(
        "assurance.Incident",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="alarms",
        db_constraint=False,
    )
    is_root_cause = models.BooleanField(db_default=False)
    root_alarm = models.ForeignKey(
        "self",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="correlated_alarms",
        db_constraint=False,
    )
    # Flapping: raise/clear cycles counted on one alarm (a clear re-raised soon reopens it).
    flap_count = models.PositiveIntegerField(db_default=0)
    flap_window_start = models.DateTimeField(null=True, blank=True)
    is_flapping = models.BooleanField(db_default=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["reduction_key"],
                condition=~Q(state="cleared"),
                name="one_active_alarm_per_reduction_key",
            )
        ]
        # No index holds the severity or the counters: a repeat of a fault (counted, its
        # severity raised) is then a HOT update, written beside its row without touching an
        # index (the table leaves room on each page for it: `0013_alarm_pages_leave_room`).
        # Active alarms are found through the partial unique index on the reduction key.
        indexes = [
            # A raise looks up the recent clear of its key (flapping): cleared rows by key.
            models.Index(
                fields=["reduction_key", "alarm_cleared_time"],
                condition=Q(state="cleared"),
                name="alarm_cleared_by_key",
            ),
        ]

    def __str__(self):
        return f"{self.alarmed_object_ref}: {self.probable_cause}"

    @property
    def alarmed_object_name(self) -> str:
        return self.resource.name if self.resource_id else self.alarmed_object_ref

    @property
    def impacted_customers(self) -> list:
        """Distinct customers of the affected services, by name (cheap once prefetched)."""
        customers = {
            service.product.customer_id: service.product.customer
            for service in self.affected_services.all()
            if service.product_id
        }
        return sorted(customers.values(), key=lambda customer: (customer.name, customer.pk))


class AlarmStateChange(StateChange):
    """A move of an alarm's state or acknowledgement: from, to, who, when, why."""

    # Unchecked by the database, as `Alarm.resource` says: written with its alarm.
    alarm = models.ForeignKey(
        Alarm, on_delete=models.CASCADE, related_name="history", db_constraint=False
    )


class AlarmTask(models.Model):
    """A TMF642 task over many alarms at once (ackAlarms, clearAlarms), kept as a resource."""

    kind = models.CharField(max_length=16, choices=AlarmTaskKind.choices)
    user_id = models.CharField(max_length=150)
    system_id = models.CharField(max_length=80, blank=True)
    # ackTime of an ackAlarms task, alarmClearedTime of a clearAlarms task.
    effective_time = models.DateTimeField(default=clock.now)
    # The task runs within its request, so it is complete when it is first shown.
    state = models.CharField(max_length=12, default="done")
    alarm_pattern = models.JSONField(default=list)
    alarms = models.ManyToManyField(Alarm, blank=True, related_name="tasks")
    created_at = models.DateTimeField(default=clock.now)
    created_by = models.CharField(max_length=150, blank=True)

    def __str__(self):
        return f"{self.kind} {self.pk} by {self.user_id}"
