"""Reads of the NOC dashboard: open incidents, then a page of active alarms, filtered.

Built for a storm: every list is one page of rows, and the figures beside each row (alarm counts,
impacted customers, the first few customers by name) come from one statement per page over the
page's ids, so the query count does not grow with the rows and no query walks all the alarms
more than once (the counts by severity and the page's ids).
"""

from dataclasses import dataclass, field
from datetime import timedelta
from types import SimpleNamespace

from django.core.paginator import Paginator
from django.db.models import Count, F, Q, QuerySet, Window
from django.db.models.functions import DenseRank

from assurance.choices import OPEN_INCIDENT_STATES, SEVERITY_RANK, AlarmState, AlarmType
from assurance.models import Alarm, Incident
from assurance.selectors import severity_order
from inventory import selectors as inventory_selectors
from telco import clock

ALARMS_PER_PAGE = 50
INCIDENTS_PER_PAGE = 20
CUSTOMERS_SHOWN = 5
AFFECTED = Alarm.affected_services.through


@dataclass(frozen=True)
class Filters:
    """What the engineer narrowed the dashboard to (severity, region id, alarm type)."""

    severity: str = ""
    region: int | None = None
    alarm_type: str = ""
    errors: dict = field(default_factory=dict)

    @classmethod
    def from_query(cls, query) -> "Filters":
        """From the page's GET parameters; an unknown value is ignored and reported."""
        errors = {}
        severity = query.get("severity", "")
        if severity and severity not in SEVERITY_RANK:
            errors["severity"] = f"Unknown severity '{severity}'."
            severity = ""
        alarm_type = query.get("type", "")
        if alarm_type and alarm_type not in AlarmType.values:
            errors["type"] = f"Unknown alarm type '{alarm_type}'."
            alarm_type = ""
        region = query.get("region", "")
        region_id = None
        if region:
            try:
                region_id = int(region)
            except ValueError:
                errors["region"] = f"Unknown region '{region}'."
        return cls(severity=severity, region=region_id, alarm_type=alarm_type, errors=errors)

    @property
    def query_string(self) -> str:
        parts = []
        if self.severity:
            parts.append(f"severity={self.severity}")
        if self.region is not None:
            parts.append(f"region={self.region}")
        if self.alarm_type:
            parts.append(f"type={self.alarm_type}")
        return "&".join(parts)

    def alarm_condition(self, prefix: str = "") -> Q:
        condition = Q()
        if self.severity:
            condition &= Q(**{f"{prefix}perceived_severity": self.severity})
        if self.alarm_type:
            condition &= Q(**{f"{prefix}alarm_type": self.alarm_type})
        if self.region is not None:
            # A port or card has no site of its own: its parent's site says where it is.
            condition &= Q(**{f"{prefix}resource__site__region_id": self.region}) | Q(
                **{f"{prefix}resource__parent__site__region_id": self.region}
            )
        return condition


def filter_choices() -> dict:
    """The options of the filter bar."""
    return {
        "severities": [s for s in SEVERITY_RANK if s != "cleared"],
        "regions": list(inventory_selectors.regions().values("pk", "name")),
        "alarm_types": AlarmType.values,
    }


def active_alarms(filters: Filters) -> QuerySet[Alarm]:
    """Alarms not cleared matching the filters, most urgent first (ids and order only)."""
    return (
        Alarm.objects.exclude(state=AlarmState.CLEARED)
        .filter(filters.alarm_condition())
        .annotate(severity_rank=severity_order())
        .order_by("severity_rank", "-alarm_raised_time", "-pk")
    )


def age(since, now) -> str:
    """'3d 4h', '2h 05m', '7m', '45s': how long ago, in the NOC's shorthand."""
    seconds = max(int((now - since).total_seconds()), 0) if since else 0
    days, seconds = divmod(seconds, 86400)
    hours, seconds = divmod(seconds, 3600)
    minutes, seconds = divmod(seconds, 60)
    if days:
        return f"{days}d {hours}h"
    if hours:
        return f"{hours}h {minutes:02d}m"
    if minutes:
        return f"{minutes}m"
    return f"{seconds}s"


def customers_of_alarms(alarm_ids: list[int]) -> tuple[dict, dict]:
    """Per alarm: how many distinct customers its services reach, and the first few by name."""
    counts = dict(
        AFFECTED.objects.filter(alarm_id__in=alarm_ids, service__product__isnull=False)
        .values_list("alarm_id")
        .annotate(total=Count("service__product__customer_id", distinct=True))
        .order_by()
    )
    firsts = (
        AFFECTED.objects.filter(alarm_id__in=alarm_ids, service__product__isnull=False)
        .annotate(
            customer_id=F("service__product__customer_id"),
            customer_name=F("service__product__customer__name"),
            place=Window(
                DenseRank(),
                partition_by=F("alarm_id"),
                order_by=[
                    F("service__product__customer__name"),
                    F("service__product__customer_id"),
                ],
            ),
        )
        .filter(place__lte=CUSTOMERS_SHOWN)
        .values_list("alarm_id", "customer_id", "customer_name", "place")
    )
    shown: dict[int, dict] = {}
    for alarm_id, customer_id, name, place in firsts:
        shown.setdefault(alarm_id, {})[customer_id] = (place, name)
    previews = {
        alarm_id: [
            SimpleNamespace(pk=pk, name=name)
            for pk, (_, name) in sorted(customers.items(), key=lambda item: item[1])
        ]
        for alarm_id, customers in shown.items()
    }
    return counts, previews


def alarm_page(filters: Filters, number, *, queryset: QuerySet[Alarm] | None = None):
    """One page of active alarms with their resource, incident and impacted customers."""
    paginator = Paginator(
        (queryset if queryset is not None else active_alarms(filters)).values_list("pk", flat=True),
        ALARMS_PER_PAGE,
    )
    page = paginator.get_page(number)
    ids = list(page.object_list)
    by_id = Alarm.objects.select_related("resource", "incident").in_bulk(ids)
    counts, previews = customers_of_alarms(ids)
    rows = []
    for pk in ids:
        alarm = by_id[pk]
        alarm.impacted_customer_count = counts.get(pk, 0)
        alarm.customers_preview = previews.get(pk, [])
        rows.append(alarm)
    page.object_list = rows
    return page


def open_incidents(filters: Filters) -> QuerySet[Incident]:
    """Incidents still affecting the network, most urgent first (priority, then the oldest).

    The filters apply to the root alarm (severity, type) and the root resource (region)."""
    condition = Q()
    if filters.severity:
        condition &= Q(root_alarm__perceived_severity=filters.severity)
    if filters.alarm_type:
        condition &= Q(root_alarm__alarm_type=filters.alarm_type)
    if filters.region is not None:
        condition &= Q(root_resource__site__region_id=filters.region) | Q(
            root_resource__parent__site__region_id=filters.region
        )
    return (
        Incident.objects.filter(state__in=OPEN_INCIDENT_STATES)
        .filter(condition)
        .order_by("priority", "first_alarm_time", "pk")
    )


def incident_page(filters: Filters, number):
    """One page of open incidents with their root alarm and resource, counts and age."""
    paginator = Paginator(open_incidents(filters).values_list("pk", flat=True), INCIDENTS_PER_PAGE)
    page = paginator.get_page(number)
    ids = list(page.object_list)
    by_id = Incident.objects.select_related("root_alarm", "root_resource").in_bulk(ids)
    alarm_counts = dict(
        Alarm.objects.filter(incident_id__in=ids)
        .exclude(state=AlarmState.CLEARED)
        .values_list("incident_id")
        .annotate(total=Count("pk"))
        .order_by()
    )
    now = clock.now()
    rows = []
    for pk in ids:
        incident = by_id[pk]
        incident.active_alarm_count = alarm_counts.get(pk, 0)
        incident.age = age(incident.first_alarm_time, now)
        incident.eta_overdue = bool(
            incident.expected_restore_time and incident.expected_restore_time < now
        )
        rows.append(incident)
    page.object_list = rows
    return page


def incident_detail(incident_id: int) -> Incident:
    """One incident with its root, history and the services it hits (counts by impact)."""
    incident = (
        Incident.objects.select_related("root_alarm", "root_resource__site")
        .prefetch_related("history")
        .get(pk=incident_id)
    )
    incident.age = age(incident.first_alarm_time, clock.now())
    impacts = dict(
        incident.impacts.filter(ended_at__isnull=True)
        .values_list("impact")
        .annotate(total=Count("pk"))
        .order_by()
    )
    incident.open_impacts = impacts
    return incident


def incident_alarms(incident: Incident) -> QuerySet[Alarm]:
    """The incident's alarms, the root first, then by severity and time (cleared included)."""
    return (
        Alarm.objects.filter(incident=incident)
        .annotate(severity_rank=severity_order())
        .order_by("-is_root_cause", "severity_rank", "-alarm_raised_time", "-pk")
    )


def impacted_services(incident: Incident, limit: int = 50) -> list:
    """The first services the incident hits now, with product and customer, down first."""
    return list(
        incident.impacts.filter(ended_at__isnull=True)
        .select_related("service__product__customer")
        .order_by("-impact", "service_id")[:limit]
    )


def recently_ended(window: timedelta = timedelta(hours=24)) -> int:
    """Incidents resolved in the last day (the header's 'resolved today')."""
    return Incident.objects.filter(resolved_at__gte=clock.now() - window).count()
