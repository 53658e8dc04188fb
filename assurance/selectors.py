"""Reads of fault management, shaped for the API, the NOC dashboard and the customer 360 page."""

from django.db.models import Case, Count, IntegerField, Prefetch, QuerySet, Value, When

from assurance.choices import OPEN_INCIDENT_STATES, SEVERITY_RANK, AlarmState
from assurance.models import Alarm, AlarmTask, Incident
from inventory import selectors as inventory_selectors


def _impact_prefetch() -> Prefetch:
    """Affected services with their product and customer, in one extra query per page."""
    return Prefetch(
        "affected_services",
        queryset=inventory_selectors.services_with_customer(),
    )


def alarm_list() -> QuerySet[Alarm]:
    """Every alarm, newest first, with what its representation needs."""
    return (
        Alarm.objects.select_related("resource")
        .prefetch_related(
            _impact_prefetch(),
            # TMF642 correlatedAlarm of root alarms: one query per page.
            Prefetch("correlated_alarms", queryset=Alarm.objects.only("pk", "root_alarm_id")),
        )
        .order_by("-alarm_raised_time", "-pk")
    )


def severity_order() -> Case:
    """Most urgent first (critical, major, ...), as a sortable expression."""
    return Case(
        *[
            When(perceived_severity=severity, then=Value(rank))
            for severity, rank in SEVERITY_RANK.items()
        ],
        default=Value(len(SEVERITY_RANK)),
        output_field=IntegerField(),
    )


def active_alarms_with_impact() -> QuerySet[Alarm]:
    """Alarms not cleared, by severity then newest, with impacted customers and their count."""
    return (
        Alarm.objects.exclude(state=AlarmState.CLEARED)
        .select_related("resource")
        .prefetch_related(_impact_prefetch())
        .annotate(
            severity_rank=severity_order(),
            impacted_customer_count=Count("affected_services__product__customer", distinct=True),
        )
        .order_by("severity_rank", "-alarm_raised_time", "-pk")
    )


def active_alarm_counts_by_severity() -> dict[str, int]:
    """How many active alarms of each severity (every severity present, zero if none)."""
    counts = dict(
        Alarm.objects.exclude(state=AlarmState.CLEARED)
        .values_list("perceived_severity")
        .annotate(total=Count("pk"))
        .order_by()
    )
    return {severity: counts.get(severity, 0) for severity in SEVERITY_RANK}


def open_alarms_for_customer(customer_id: int) -> QuerySet[Alarm]:
    """Alarms not cleared that affect any of the customer's services, most urgent first."""
    return (
        Alarm.objects.exclude(state=AlarmState.CLEARED)
        .filter(
            pk__in=Alarm.objects.filter(affected_services__product__customer_id=customer_id).values(
                "pk"
            )
        )
        .select_related("resource")
        .prefetch_related(_impact_prefetch())
        .annotate(severity_rank=severity_order())
        .order_by("severity_rank", "-alarm_raised_time", "-pk")
    )


def alarm_detail(alarm_id: int) -> Alarm:
    """One alarm with its impact and history, for the NOC detail page."""
    return (
        Alarm.objects.select_related("resource__site")
        .prefetch_related(_impact_prefetch(), "history")
        .get(pk=alarm_id)
    )


def alarm_tasks(kind: str) -> QuerySet[AlarmTask]:
    """ackAlarms or clearAlarms tasks, newest first, with the alarms they moved."""
    return (
        AlarmTask.objects.filter(kind=kind)
        .prefetch_related(Prefetch("alarms", queryset=Alarm.objects.only("pk").order_by("pk")))
        .order_by("-created_at", "-pk")
    )


def open_incident_count() -> int:
    """Incidents still affecting the network (the (state, first_alarm_time) index)."""
    return Incident.objects.filter(state__in=OPEN_INCIDENT_STATES).count()
