"""KPI ingest rate: samples/s through `assurance.kpis.ingest.kpi_samples_ingest` (COPY into
staging, checks and series resolution in SQL, one INSERT into the day partitions, 5-minute and
hourly rollups, threshold evaluation), printed beside a bare COPY of the same rows into a plain
table with no index in the same run (the physical floor).

    .venv/bin/python bench/kpi_ingest.py [--cells 500] [--samples 200000] [--batch 100000]

Uses DATABASE_URL (default postgres://postgres@127.0.0.1:5432/telco_bench_kpi): creates and
migrates the database, creates N gNBs ("GNB-KPI-BENCH-000"...) and a PRB threshold, then ingests
one-minute samples of PRB utilisation and latency per cell, named by the cells' names as an
element manager sends them. Each run uses a fresh time range, so nothing is a duplicate.
"""

import argparse
import time
from datetime import timedelta

from common import django_on_bench_database

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/telco_bench_kpi"


def cells(count: int) -> list[str]:
    from inventory.models import Resource, Site

    names = [f"GNB-KPI-BENCH-{n:03d}" for n in range(count)]
    existing = set(Resource.objects.filter(name__in=names).values_list("name", flat=True))
    site = Site.objects.order_by("pk").first()
    Resource.objects.bulk_create(
        [
            Resource(name=name, resource_kind="gnb", category="physical", site=site)
            for name in names
            if name not in existing
        ]
    )
    return names


def rows_for(names: list[str], samples: int, start):
    per_cell = max(1, samples // (2 * len(names)))
    rows = []
    for minute in range(per_cell):
        at = start + timedelta(minutes=minute)
        for index, name in enumerate(names):
            # Most cells well below the PRB threshold (85 %), one in fifty congested for a while.
            load = 30 + (index * 7 + minute) % 40 + (30 if index % 50 == 0 and minute > 60 else 0)
            rows.append((name, None, "prbUtilisation", at, float(load)))
            rows.append((name, None, "latency", at, 8 + load / 10))
    return rows


def forget_bench_series() -> None:
    from django.db import connection

    from assurance.models import KpiSeries

    bench = KpiSeries.objects.filter(resource__name__startswith="GNB-KPI-BENCH-")
    series_ids = list(bench.values_list("pk", flat=True)) or [0]
    with connection.cursor() as cursor:
        for table in ("kpisample", "kpirollup", "kpithresholdstate", "kpibreach"):
            cursor.execute(
                f"DELETE FROM assurance_{table} WHERE series_id = ANY(%s)",  # noqa: S608
                [series_ids],
            )
    # Vacuumed, so every run meets the tables as the first did (no dead index entries of the
    # same keys left by the previous run to step over).
    with connection.cursor() as cursor:
        for table in ("kpisample", "kpirollup", "kpithresholdstate", "kpibreach"):
            cursor.execute(f"VACUUM (ANALYZE) assurance_{table}")


def bare_copy(rows) -> float:
    from django.db import connection, transaction

    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "CREATE TEMP TABLE kpi_bare (position integer, resource_ref text, service_ref text, "
            "metric text, sampled_at timestamp with time zone, value double precision) "
            "ON COMMIT DROP"
        )
        began = time.perf_counter()
        with cursor.cursor.copy(
            "COPY kpi_bare (position, resource_ref, service_ref, metric, sampled_at, value) "
            "FROM STDIN (FORMAT BINARY)"
        ) as copy:
            copy.set_types(["int4", "text", "text", "text", "timestamptz", "float8"])
            for position, row in enumerate(rows):
                copy.write_row((position, *row))
        return time.perf_counter() - began


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--cells", type=int, default=500)
    parser.add_argument("--samples", type=int, default=200_000)
    parser.add_argument("--batch", type=int, default=100_000)
    arguments = parser.parse_args()
    django_on_bench_database(DEFAULT_URL)

    from assurance.kpis.ingest import kpi_samples_ingest
    from assurance.kpis.partitions import kpi_partitions_create
    from assurance.models import KpiThreshold
    from telco import clock

    names = cells(arguments.cells)
    KpiThreshold.objects.get_or_create(
        metric="prbUtilisation",
        resource=None,
        defaults={"raise_above": 85, "clear_below": 70, "raise_after": 3},
    )
    kpi_partitions_create()
    # The same window each run, emptied first (samples, rollups, threshold states, breaches),
    # so every row is new; it ends an hour ago, within the partitions and the retention.
    minutes = max(1, arguments.samples // (2 * len(names)))
    start = clock.now().replace(second=0, microsecond=0) - timedelta(minutes=minutes + 60)
    forget_bench_series()
    rows = rows_for(names, arguments.samples, start)
    floor = bare_copy(rows)

    stored = raised = 0
    began = time.perf_counter()
    for first in range(0, len(rows), arguments.batch):
        result = kpi_samples_ingest(rows[first : first + arguments.batch], by="bench")
        stored += result.stored
        raised += result.alarms_raised
    elapsed = time.perf_counter() - began
    print(f"rows: {len(rows):,} ({arguments.cells} cells, 2 metrics, batch {arguments.batch:,})")
    print(f"bare COPY into a plain table: {len(rows) / floor:>10,.0f} rows/s ({floor:.2f} s)")
    print(
        f"kpi_samples_ingest (COPY + checks + insert + rollups + thresholds): "
        f"{len(rows) / elapsed:>10,.0f} samples/s ({elapsed:.2f} s; {stored:,} stored, "
        f"{raised} alarms raised)"
    )


if __name__ == "__main__":
    main()
