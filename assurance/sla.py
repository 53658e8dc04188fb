"""SLA measurement: outage and latency minutes per service and billing period, breach
evaluation, and the credits a breach owes (recorded in billing, billed on the next bill).

Outage minutes come from `IncidentService` rows: a service down counts fully, degraded at
`settings.SLA_DEGRADED_WEIGHT`; time under a maintenance window on the incident's root resource
does not count; overlapping impacts (two incidents, down and degraded) count once, down first.
Latency minutes: the minutes a `qualityOfServiceAlarm` whose probable cause (or specific problem)
names latency was active on a resource of the service's path (the alarm's affected services).
Everything is read in a fixed number of queries for all the services of a period.
"""

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import ROUND_HALF_EVEN, Decimal

from django.conf import settings
from django.db.models import Q

from assurance.choices import AlarmType, ServiceImpact
from assurance.models import Alarm, IncidentService, MaintenanceWindow
from billing import selectors as billing_selectors
from billing import services as billing_services
from catalog import selectors as catalog_selectors
from inventory import selectors as inventory_selectors
from telco import clock

Interval = tuple[datetime, datetime]
MINUTE = Decimal(60)
PLACES = Decimal("0.01")
AVAILABILITY_PLACES = Decimal("0.0001")
# Periods looked back at by the daily evaluation: the one that just ended and the one before
# (a late-resolved incident or a day the beat missed still gets its credit).
PERIODS_EVALUATED = 2


def union(intervals: Iterable[Interval]) -> list[Interval]:
    """The intervals merged: sorted, disjoint."""
    merged: list[list[datetime]] = []
    for start, end in sorted(intervals):
        if end <= start:
            continue
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    return [(start, end) for start, end in merged]


def subtract(intervals: Iterable[Interval], cuts: Iterable[Interval]) -> list[Interval]:
    """The parts of `intervals` outside every one of `cuts`."""
    cuts = union(cuts)
    result = []
    for start, end in union(intervals):
        for cut_start, cut_end in cuts:
            if cut_end <= start or cut_start >= end:
                continue
            if cut_start > start:
                result.append((start, cut_start))
            start = max(start, cut_end)
            if start >= end:
                break
        if start < end:
            result.append((start, end))
    return result


def minutes(intervals: Iterable[Interval]) -> Decimal:
    seconds = sum((end - start).total_seconds() for start, end in intervals)
    return Decimal(str(seconds)) / MINUTE


@dataclass
class Outage:
    """What a service (or a product, its services together) lost in a period."""

    down_minutes: Decimal = Decimal(0)
    degraded_minutes: Decimal = Decimal(0)
    latency_minutes: Decimal = Decimal(0)
    incident_ids: set[int] = field(default_factory=set)

    @property
    def outage_minutes(self) -> Decimal:
        """Down minutes plus degraded minutes at their weight, to 2 places."""
        weight = Decimal(str(settings.SLA_DEGRADED_WEIGHT))
        return (self.down_minutes + weight * self.degraded_minutes).quantize(PLACES)


@dataclass
class Timeline:
    """What happened to a set of services over a span, read once: their impacts (service,
    impact, start, end, incident, root resource), the maintenance windows on those roots, and
    the latency alarms on their paths (service, raised, cleared)."""

    impacts: list[tuple]
    windows: dict[int, list[Interval]]
    latency: list[tuple]


def timeline_load(service_ids: Iterable[int], start: datetime, end: datetime) -> Timeline:
    """The timeline of the services over [start, end), in three queries whatever the number
    of services, incidents and periods inside the span."""
    service_ids = list(service_ids)
    until = min(end, clock.now())
    impacts = list(
        IncidentService.objects.filter(service_id__in=service_ids, started_at__lt=until)
        .filter(Q(ended_at__isnull=True) | Q(ended_at__gt=start))
        .values_list(
            "service_id", "impact", "started_at", "ended_at", "incident_id",
            "incident__root_resource_id",
        )
    )  # fmt: skip
    windows = defaultdict(list)
    roots = {row[5] for row in impacts if row[5] is not None}
    for resource_id, starts_at, ends_at in MaintenanceWindow.objects.filter(
        resource_id__in=roots, starts_at__lt=until, ends_at__gt=start
    ).values_list("resource_id", "starts_at", "ends_at"):
        windows[resource_id].append((starts_at, ends_at))
    latency = list(
        Alarm.affected_services.through.objects.filter(
            service_id__in=service_ids, alarm__alarm_raised_time__lt=until
        )
        .filter(latency_alarms("alarm__"))
        .filter(Q(alarm__alarm_cleared_time__isnull=True) | Q(alarm__alarm_cleared_time__gt=start))
        .values_list("service_id", "alarm__alarm_raised_time", "alarm__alarm_cleared_time")
    )
    return Timeline(impacts=impacts, windows=windows, latency=latency)


def timeline_measure(
    timeline: Timeline, service_keys: dict[int, object], start: datetime, end: datetime
) -> dict:
    """Per key of `service_keys` (service id -> key: the service itself, or its product), the
    outage of its services in [start, end) (inside the loaded span); a key whose services lost
    nothing is absent. An impact or alarm still open counts until now."""
    until = min(end, clock.now())
    down, degraded = defaultdict(list), defaultdict(list)
    result: dict[object, Outage] = {}
    for service_id, impact, started_at, ended_at, incident_id, root_id in timeline.impacts:
        key = service_keys.get(service_id)
        clipped = (max(started_at, start), min(ended_at or until, until))
        if key is None or clipped[0] >= clipped[1]:
            continue
        counted = subtract([clipped], timeline.windows.get(root_id, []))
        if not counted:
            continue
        (down if impact == ServiceImpact.DOWN else degraded)[key] += counted
        result.setdefault(key, Outage()).incident_ids.add(incident_id)
    for key, outage in result.items():
        down_intervals = union(down[key])
        outage.down_minutes = minutes(down_intervals)
        outage.degraded_minutes = minutes(subtract(degraded[key], down_intervals))
    latency = defaultdict(list)
    for service_id, raised, cleared in timeline.latency:
        key = service_keys.get(service_id)
        span = (max(raised, start), min(cleared or until, until))
        if key is not None and span[0] < span[1]:
            latency[key].append(span)
    for key, spans in latency.items():
        result.setdefault(key, Outage()).latency_minutes = minutes(union(spans)).quantize(PLACES)
    return result


def outages(service_keys: dict[int, object], start: datetime, end: datetime) -> dict:
    """Per key of `service_keys`, the outage in [start, end) (`timeline_measure`), in three
    queries whatever the number of services."""
    return timeline_measure(timeline_load(service_keys, start, end), service_keys, start, end)


def latency_alarms(prefix: str = "") -> Q:
    """Quality-of-service alarms about latency (the kpi thresholds raise them); `prefix` is
    the path to the alarm ("alarm__" from a row that points to one)."""
    return Q(**{f"{prefix}alarm_type": AlarmType.QUALITY_OF_SERVICE}) & (
        Q(**{f"{prefix}probable_cause__icontains": "latency"})
        | Q(**{f"{prefix}specific_problem__icontains": "latency"})
    )


@dataclass
class SlaPeriod:
    """One product's SLA figures for one billing period."""

    product: object  # inventory's ProductInstance
    sla: object  # catalog's ServiceLevelAgreement
    period_start: datetime
    period_end: datetime
    measured_minutes: Decimal
    outage: Outage
    credit: object = None  # billing's SlaCredit for the period, once recorded (the report)

    @property
    def achieved_availability(self) -> Decimal:
        if self.measured_minutes <= 0:
            return Decimal(100)
        lost = min(self.outage.outage_minutes, self.measured_minutes)
        return (100 * (1 - lost / self.measured_minutes)).quantize(
            AVAILABILITY_PLACES, rounding=ROUND_HALF_EVEN
        )

    @property
    def credit_percent(self) -> Decimal:
        return self.sla.credit_percent(
            availability=self.achieved_availability,
            outage_minutes=self.outage.outage_minutes,
            latency_minutes=self.outage.latency_minutes,
        )

    @property
    def is_breached(self) -> bool:
        sla = self.sla
        return (
            self.achieved_availability < sla.availability_target
            or (
                sla.max_outage_minutes is not None
                and self.outage.outage_minutes > sla.max_outage_minutes
            )
            or (
                sla.latency_target_ms is not None
                and self.outage.latency_minutes > sla.latency_allowance_minutes
            )
        )

    @property
    def is_complete(self) -> bool:
        return self.period_end <= clock.now()

    def breach(self) -> billing_services.SlaBreach:
        return billing_services.SlaBreach(
            product_id=self.product.pk,
            sla_id=self.sla.pk,
            sla_name=self.sla.name,
            period_start=self.period_start,
            period_end=self.period_end,
            availability_target=self.sla.availability_target,
            achieved_availability=self.achieved_availability,
            outage_minutes=self.outage.outage_minutes,
            latency_minutes=self.outage.latency_minutes,
            credit_percent=self.credit_percent,
            incident_ids=tuple(sorted(self.outage.incident_ids)),
        )


def sla_products(*, customer_id: int | None = None) -> list:
    """Started products whose offering carries an SLA, each with `sla` (the terms) set, and
    their billing account, in id order: two queries."""
    products = inventory_selectors.started_products().filter(
        product_offering_id__in=catalog_selectors.offering_ids_with_sla()
    )
    if customer_id is not None:
        products = products.filter(customer_id=customer_id)
    products = list(products.select_related("billing_account"))
    terms = {
        sla.offering_id: sla
        for sla in catalog_selectors.slas().filter(
            offering_id__in={p.product_offering_id for p in products}
        )
    }
    for product in products:
        product.sla = terms[product.product_offering_id]
    return products


def product_periods(product, *, count: int, as_of: datetime) -> list[Interval]:
    """The last `count` billing periods of the product's account that started before `as_of`,
    oldest first, not before the product's start."""
    day = product.billing_account.bill_cycle_day
    periods = []
    start, end = billing_services.billing_period(bill_cycle_day=day, at=as_of)
    while len(periods) < count and end > product.start_date:
        periods.append((start, end))
        start, end = billing_services.billing_period(
            bill_cycle_day=day, at=start - timedelta(seconds=1)
        )
    return periods[::-1]


def sla_periods(products: list, periods_of) -> list[SlaPeriod]:
    """The SLA figures of each product for each of `periods_of(product)`, grouped so that one
    set of queries serves every product of the same period."""
    by_period = defaultdict(list)
    for product in products:
        for period in periods_of(product):
            by_period[period].append(product)
    if not by_period:
        return []
    services = defaultdict(set)
    product_ids = {p.pk for p in products}
    for service_id, product_id, parent_product_id in inventory_selectors.services_with_product(
    ).filter(Q(product_id__in=product_ids) | Q(parent__product_id__in=product_ids)).values_list(
        "pk", "product_id", "parent__product_id"
    ):  # fmt: skip
        services[product_id or parent_product_id].add(service_id)
    timeline = timeline_load(
        {service_id for ids in services.values() for service_id in ids},
        min(start for start, _ in by_period),
        max(end for _, end in by_period),
    )
    result = []
    for (start, end), group in sorted(by_period.items(), key=lambda item: item[0]):
        keys = {service_id: p.pk for p in group for service_id in services[p.pk]}
        lost = timeline_measure(timeline, keys, start, end)
        for product in group:
            measured_from = max(start, product.start_date)
            measured_until = min(end, max(clock.now(), measured_from))
            result.append(
                SlaPeriod(
                    product=product,
                    sla=product.sla,
                    period_start=start,
                    period_end=end,
                    measured_minutes=minutes([(measured_from, measured_until)]),
                    outage=lost.get(product.pk, Outage()),
                )
            )
    return result


def sla_evaluate(*, as_of: date | None = None) -> int:
    """Evaluate the SLA of every SLA product for its billing periods that ended on or before
    `as_of` (today by default; the last `PERIODS_EVALUATED`) and record the credit each
    breach owes, once per product and period however often it runs (billing puts it on the
    account's next bill). Returns how many credits are new."""
    moment = clock.now() if as_of is None else datetime.combine(as_of, time.max, tzinfo=UTC)
    moment = min(moment, clock.now())

    def ended(product) -> list[Interval]:
        periods = product_periods(product, count=PERIODS_EVALUATED + 1, as_of=moment)
        return [p for p in periods if p[1] <= moment][-PERIODS_EVALUATED:]

    figures = sla_periods(sla_products(), ended)
    breaches = [f.breach() for f in figures if f.is_breached and f.credit_percent > 0]
    return billing_services.sla_credits_record(breaches)


REPORT_MONTHS = 12


def sla_report(*, customer_id: int, months: int = REPORT_MONTHS) -> list[SlaPeriod]:
    """The customer's SLA products month by month (their last `months` billing periods, the
    current one included, newest first): target against achieved, outage and latency minutes,
    and the credit recorded (`credit`: billing's SlaCredit, with `billed_bill_no`, or None).
    A fixed number of queries, whatever the number of products, months and incidents."""
    products = sla_products(customer_id=customer_id)
    now = clock.now()
    figures = sla_periods(products, lambda p: product_periods(p, count=months, as_of=now))
    credits = {
        (credit.product_id, credit.period_start): credit
        for credit in billing_selectors.sla_credits_for_customer(customer_id)
    }
    for figure in figures:
        figure.credit = credits.get((figure.product.pk, figure.period_start))
    return sorted(figures, key=lambda f: (-f.period_start.timestamp(), f.product.pk))
