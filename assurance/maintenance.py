"""Maintenance windows: planned work on a resource (and what depends on it).

Alarms raised under planned work are stored and correlated like any other; the incident whose
root resource is under an active window is flagged `in_maintenance`, and the notices and the SLA
outage time skip flagged incidents (`incident_in_maintenance`, `incidents_outside_maintenance`).
"""

from collections.abc import Iterable
from datetime import datetime

from django.db import transaction
from django.db.models import QuerySet

from assurance.choices import OPEN_INCIDENT_STATES
from assurance.models import Incident, MaintenanceWindow
from inventory.topology import resources_impacted
from telco import clock
from telco.exceptions import DomainError


def windows_active(at: datetime | None = None) -> QuerySet[MaintenanceWindow]:
    """Windows in force at `at` (default now)."""
    at = at or clock.now()
    return MaintenanceWindow.objects.filter(starts_at__lte=at, ends_at__gt=at)


def resources_under_maintenance(at: datetime | None = None) -> set[int]:
    """Resources under an active window: its resource, what lies beneath and downstream of it
    (one query)."""
    window_resources = list(windows_active(at).values_list("resource_id", flat=True))
    if not window_resources:
        return set()
    return set(resources_impacted(window_resources).values_list("pk", flat=True))


def incident_in_maintenance(incident: Incident) -> bool:
    """Whether the incident's root resource is under planned work: a window in force now or
    when its first alarm came (the stored flag, or either of those)."""
    if incident.in_maintenance:
        return True
    if incident.root_resource_id is None:
        return False
    return any(
        incident.root_resource_id in resources_under_maintenance(at)
        for at in (incident.first_alarm_time, None)
    )


def incidents_outside_maintenance(queryset: QuerySet[Incident] | None = None) -> QuerySet[Incident]:
    """The incidents that count for notices and SLA outage time (not flagged)."""
    queryset = Incident.objects.all() if queryset is None else queryset
    return queryset.filter(in_maintenance=False)


def incidents_flag_maintenance(incident_ids: Iterable[int]) -> None:
    """Set `in_maintenance` on the incidents whose root resource is under an active window;
    an incident once flagged stays flagged (its outage was planned work)."""
    ids = list(incident_ids)
    if not ids:
        return
    under = resources_under_maintenance()
    if under:
        Incident.objects.filter(pk__in=ids, root_resource_id__in=under).update(in_maintenance=True)


def maintenance_window_create(
    *, resource_id: int, starts_at: datetime, ends_at: datetime, description: str = "", by: str = ""
) -> MaintenanceWindow:
    """Plan work on a resource; open incidents already under it are flagged at once."""
    if ends_at <= starts_at:
        raise DomainError("A maintenance window ends after it starts.", field="endsAt")
    with transaction.atomic():
        window = MaintenanceWindow.objects.create(
            resource_id=resource_id,
            starts_at=starts_at,
            ends_at=ends_at,
            description=description,
            created_by=by,
        )
        open_ids = Incident.objects.filter(state__in=OPEN_INCIDENT_STATES).values_list(
            "pk", flat=True
        )
        incidents_flag_maintenance(list(open_ids))
    return window
