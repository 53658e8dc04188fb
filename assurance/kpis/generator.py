"""The lab KPI generator: believable series for the lab network's cells, links and services.

Cells follow a daily load cycle (quiet at night, a morning rise, an evening peak) with noise;
the cells named as congested get episodes near saturation at their busy hours. A link's latency
and jitter rise with the load it carries (slowly, then steeply near saturation) and it starts
losing packets past 85 %; a service's latency is the sum along its way. Values are a function
of (series, time) with a seeded generator, so a span generated twice gives the same samples
(the second time they are duplicates) and the demo looks the same every time.
"""

import math
import random
from collections.abc import Iterator
from datetime import datetime, timedelta

from assurance.kpis.ingest import IngestResult, KpiRow, kpi_samples_ingest
from inventory import selectors as inventory_selectors
from telco import clock

CELL_KINDS = ("gnb", "enb")
LINK_KINDS = ("fibreLink", "microwaveLink", "copperLink")
BATCH = 50_000
SERVICES_MAX = 500


def daily_load(at: datetime, phase: float) -> float:
    """Share of capacity in use (0..1) at `at`: a night trough and an evening peak."""
    hour = at.hour + at.minute / 60 + phase
    morning = max(0.0, math.sin(math.pi * (hour - 6) / 14))
    evening = math.exp(-(((hour % 24) - 20) ** 2) / 6)
    return 0.12 + 0.45 * morning + 0.3 * evening


def congested(at: datetime, name: str) -> bool:
    """Congestion episodes of a chosen cell: 45 minutes at 08:30 and 75 minutes at 19:30."""
    minutes = at.hour * 60 + at.minute
    return 510 <= minutes < 555 or 1170 <= minutes < 1245


def _seeded(key: str) -> random.Random:
    return random.Random(key)  # noqa: S311 - lab data, reproducible on purpose


def _noise(generator: random.Random, spread: float) -> float:
    return generator.gauss(0, spread)


def _times(start: datetime, end: datetime, step: timedelta) -> list[datetime]:
    times, at = [], start
    while at < end:
        times.append(at)
        at += step
    return times


def kpi_rows(
    *, start: datetime, end: datetime, step: timedelta, congested_cells: set[str]
) -> Iterator[KpiRow]:
    """The samples of every cell, link and (up to SERVICES_MAX) customer service in the span."""
    resources = inventory_selectors.resource_list()
    cells = list(resources.filter(resource_kind__in=CELL_KINDS).values_list("name", flat=True))
    links = list(
        resources.filter(resource_kind__in=LINK_KINDS).values_list("name", "capacity_mbps")
    )
    services = list(
        inventory_selectors.services_with_customer()
        .filter(product__isnull=False)
        .values_list("pk", flat=True)[:SERVICES_MAX]
    )
    times = _times(start, end, step)
    for name in cells:
        generator = _seeded(f"cell:{name}")
        phase = generator.uniform(-1, 1)
        for at in times:
            load = daily_load(at, phase) + _noise(generator, 0.04)
            if name in congested_cells and congested(at, name):
                load = 0.93 + abs(_noise(generator, 0.03))
            yield (name, None, "prbUtilisation", at, round(min(max(load, 0), 1) * 100, 1))
    for name, capacity in links:
        generator = _seeded(f"link:{name}")
        phase = generator.uniform(-1, 1)
        for at in times:
            load = min(max(daily_load(at, phase) * 0.9 + _noise(generator, 0.03), 0), 0.99)
            latency = 2 + 1.5 / (1 - load) + abs(_noise(generator, 0.3))
            yield (name, None, "latency", at, round(latency, 2))
            yield (name, None, "jitter", at, round(latency * 0.12 + abs(_noise(generator, 0.1)), 2))
            yield (name, None, "packetLoss", at, round(max(0.0, (load - 0.85) * 8), 3))
            if capacity:
                yield (name, None, "throughput", at, round(capacity * load, 1))
    for service_id in services:
        generator = _seeded(f"service:{service_id}")
        phase = generator.uniform(-1, 1)
        for at in times:
            load = min(max(daily_load(at, phase) + _noise(generator, 0.04), 0), 0.99)
            latency = 12 + 4 / (1 - load) + abs(_noise(generator, 1))
            yield (None, str(service_id), "latency", at, round(latency, 2))


def kpi_series_generate(
    *,
    hours: float = 24,
    step_minutes: int = 5,
    congested_cells: set[str] | frozenset[str] = frozenset(),
    end: datetime | None = None,
) -> IngestResult:
    """Generate and ingest the lab series over the `hours` before `end` (default now)."""
    end = (end or clock.now()).replace(second=0, microsecond=0)
    step = timedelta(minutes=step_minutes)
    start = end - timedelta(hours=hours)
    start = start.replace(minute=start.minute - start.minute % step_minutes)
    total = IngestResult()
    batch: list[KpiRow] = []
    rows = kpi_rows(start=start, end=end, step=step, congested_cells=set(congested_cells))
    for row in rows:
        batch.append(row)
        if len(batch) >= BATCH:
            _add(total, kpi_samples_ingest(batch, by="labnet"))
            batch = []
    if batch:
        _add(total, kpi_samples_ingest(batch, by="labnet"))
    return total


def _add(total: IngestResult, result: IngestResult) -> None:
    total.rejected += [(total.received + index, reason) for index, reason in result.rejected]
    total.received += result.received
    total.stored += result.stored
    total.duplicates += result.duplicates
    total.alarms_raised += result.alarms_raised
    total.alarms_cleared += result.alarms_cleared


def labnet_kpis(argv: list[str], stdout) -> None:
    """`manage.py labnet kpis [--hours 24] [--step 5] [--congest CELL,CELL]`."""
    import argparse

    parser = argparse.ArgumentParser(prog="manage.py labnet kpis", description=__doc__)
    parser.add_argument("--hours", type=float, default=24, help="span ending now (default 24)")
    parser.add_argument("--step", type=int, default=5, help="minutes between samples")
    parser.add_argument("--congest", default="", help="cells with congestion episodes: A,B")
    arguments = parser.parse_args(argv)
    cells = {name.strip() for name in arguments.congest.split(",") if name.strip()}
    result = kpi_series_generate(
        hours=arguments.hours, step_minutes=arguments.step, congested_cells=cells
    )
    stdout.write(
        f"kpis: {result.stored} samples stored ({result.duplicates} already there, "
        f"{len(result.rejected)} rejected); {result.alarms_raised} threshold alarms raised, "
        f"{result.alarms_cleared} cleared."
    )
