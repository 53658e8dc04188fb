"""What the "why is it slow" charts draw: the KPIs along a service's path over the last hours,
from the 5-minute rollups, with the breaches marked. A fixed number of queries per service."""

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db.models import Q

from assurance.models import KpiBreach, KpiMetric, KpiRollup, KpiSeries, KpiThreshold
from assurance.models.kpis import RollupResolution
from inventory import topology
from telco import clock

WIDTH, HEIGHT = 600, 90


@dataclass
class Chart:
    """One series drawn as an SVG polyline (average) over [start, end), breaches as bands."""

    title: str
    unit: str
    points: str = ""
    peak: float = 0.0
    latest: float | None = None
    threshold_y: float | None = None
    breaches: list[tuple[float, float]] = field(default_factory=list)
    breach_count: int = 0


def _x(at: datetime, start: datetime, end: datetime) -> float:
    span = (end - start).total_seconds()
    return round(WIDTH * min(max((at - start).total_seconds() / span, 0), 1), 1)


def service_path_kpis(service_id: int, *, hours: int = 24) -> list[Chart]:
    """Charts of the KPIs of the service itself and of every resource on its path (inventory's
    `service_path`), in path order, breaches first: five queries whatever the data."""
    end = clock.now()
    start = end - timedelta(hours=hours)
    path = list(topology.service_path(service_id))
    order = {resource.pk: index for index, resource in enumerate(path)}
    names = {resource.pk: resource.name for resource in path}
    series = list(
        KpiSeries.objects.filter(Q(resource_id__in=order) | Q(service_id=service_id)).order_by("pk")
    )
    rollups: dict[int, list[KpiRollup]] = {each.pk: [] for each in series}
    for rollup in KpiRollup.objects.filter(
        series__in=series,
        resolution=RollupResolution.FIVE_MINUTES,
        bucket_start__gte=start,
    ).order_by("bucket_start"):
        rollups[rollup.series_id].append(rollup)
    breaches: dict[int, list[KpiBreach]] = {each.pk: [] for each in series}
    for breach in KpiBreach.objects.filter(series__in=series).filter(
        Q(ended_at__isnull=True) | Q(ended_at__gte=start)
    ):
        breaches[breach.series_id].append(breach)
    thresholds = {}
    for threshold in KpiThreshold.objects.filter(is_active=True).order_by("-resource_id"):
        thresholds.setdefault((threshold.metric, threshold.resource_id), threshold)
    charts = []
    for each in series:
        if not rollups[each.pk]:
            continue
        threshold = thresholds.get((each.metric, each.resource_id)) or thresholds.get(
            (each.metric, None)
        )
        chart = _chart(each, names, rollups[each.pk], breaches[each.pk], threshold, start, end)
        charts.append((chart.breach_count == 0, order.get(each.resource_id, -1), each.pk, chart))
    return [chart for *_, chart in sorted(charts, key=lambda item: item[:3])]


def _chart(series, names, rollups, breaches, threshold, start, end) -> Chart:
    label = KpiMetric(series.metric).label
    title, _, unit = label.partition(" (")
    subject = names.get(series.resource_id) or "the service end to end"
    averages = [rollup.value_average for rollup in rollups]
    top = max([*averages, threshold.raise_above if threshold else 0, 1e-9]) * 1.1

    def y(value: float) -> float:
        return round(HEIGHT - HEIGHT * value / top, 1)

    chart = Chart(title=f"{title} on {subject}", unit=unit.rstrip(")"))
    chart.points = " ".join(
        f"{_x(rollup.bucket_start, start, end)},{y(value)}"
        for rollup, value in zip(rollups, averages, strict=True)
    )
    chart.peak = round(max(rollup.value_max for rollup in rollups), 2)
    chart.latest = round(averages[-1], 2)
    if threshold:
        chart.threshold_y = y(threshold.raise_above)
    for breach in breaches:
        left = _x(max(breach.started_at, start), start, end)
        right = _x(breach.ended_at or end, start, end)
        chart.breaches.append((left, max(right - left, 2)))
    chart.breach_count = len(breaches)
    return chart
