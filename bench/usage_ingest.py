"""Usage ingest throughput: records/s through `usage_bulk_ingest` (COPY into staging, dedupe,
validation, guiding and rating set-based, one INSERT), through the TMF635 batch endpoint and
through `manage.py usage_import` of a CDR file, beside a bare COPY of the same rows in the same
run; and the file import's peak RSS at 100k and at the full count (memory stays flat).

    .venv/bin/python bench/usage_ingest.py [--records 1000000] [--services 2000]
        [--batch 50000] [--http-batch 20000]

Uses DATABASE_URL (default postgres://postgres@127.0.0.1:5432/telco_bench_usage): creates and
migrates the database, adds `services` active 5G products (each with its service; kept between
runs) and empties the usage table. Every record is new (its own eventId) and chargeable: a
service, a date in October 2026, a volume in MB, rating group DATA_5G_PREMIUM. Figures:
- COPY: the rows (event id, service id, date, volume, unit, rating group) binary-COPYed into a
  bare table without indexes, three times: the median is the floor;
- service: `usage_bulk_ingest` per `batch` rows (answers for the problems only, as the file
  import asks);
- HTTP: the same records as JSON arrays of TMF635 Usage bodies, `http-batch` a request,
  POSTed through DRF's test client with a NOC token (parsing, per-record answers); the bodies
  are encoded before the clock starts;
- file: `manage.py usage_import` of a CSV of the records in a child process (reading, parsing,
  chunks of 50,000), timed and measured for peak RSS at 100k records and at `records`.

Celery has a broker (in memory, no worker), as in production: the fraud evaluation each batch
queues is a worker's task, not part of ingest (without a broker, Celery's eager mode ran it
inside every batch: a third of the time measured until 2026-12). It is timed on its own, once
over the service's records, and printed beside the figures (`bench/fraud_rules.py` measures it).
"""

import argparse
import csv
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from common import ROOT, django_on_bench_database

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/telco_bench_usage"
START = datetime(2026, 10, 1, tzinfo=UTC)
RATING_GROUP = "DATA_5G_PREMIUM"
FLOOR_COPIES = 3


def services(count: int) -> list[str]:
    """`count` active products' service ids (made on the first run)."""
    from billing.tests.factories import active_product
    from crm.models import BillingAccount
    from crm.tests.factories import BillingAccountFactory
    from inventory.models import Service

    existing = list(
        Service.objects.filter(product__name__startswith="bench-usage", product__status="active")
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    # Factory numbers go on from the accounts an earlier run made (they are unique).
    BillingAccountFactory.reset_sequence(BillingAccount.objects.count() + 1)
    while len(existing) < count:
        product = active_product(start_date=START - timedelta(days=30))
        product.name = f"bench-usage-{len(existing)}"
        product.save(update_fields=["name"])
        existing.append(product.services.get().pk)
    return [str(pk) for pk in existing[:count]]


def records(prefix: str, count: int, service_ids: list[str]) -> list[tuple]:
    """(event id, service id, usage date, volume MB, unit, rating group) per record."""
    rows = []
    for n in range(count):
        at = START + timedelta(seconds=(n * 7) % (30 * 86400))
        volume = Decimal(n % 5000) / 10
        rows.append((f"{prefix}-{n}", service_ids[n % len(service_ids)], at, volume, "MB"))
    return [(*row, RATING_GROUP) for row in rows]


def empty_usage() -> None:
    from django.db import connection

    from billing.models import UsageEvent

    with connection.cursor() as cursor:
        cursor.execute(f"TRUNCATE {UsageEvent._meta.db_table}")  # the bench's own database
        cursor.execute(f"VACUUM ANALYZE {UsageEvent._meta.db_table}")


def bare_copy(rows: list[tuple]) -> float:
    from django.db import connection, transaction

    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "CREATE TEMP TABLE usage_bare (event_id text, service_ref text, "
            "usage_date timestamptz, volume numeric, unit text, rating_group text) ON COMMIT DROP"
        )
        began = time.perf_counter()
        with cursor.cursor.copy("COPY usage_bare FROM STDIN (FORMAT BINARY)") as copy:
            copy.set_types(["text", "text", "timestamptz", "numeric", "text", "text"])
            for row in rows:
                copy.write_row(row)
        return time.perf_counter() - began


def run_service(rows: list[tuple], batch: int) -> tuple[float, int]:
    from billing.services.usage_bulk import UsageRow, usage_bulk_ingest

    chargeable = 0
    began = time.perf_counter()
    for first in range(0, len(rows), batch):
        result = usage_bulk_ingest(
            (UsageRow(*row) for row in rows[first : first + batch]), detail=False
        )
        chargeable += result.chargeable
    return time.perf_counter() - began, chargeable


def print_fraud_evaluation(count: int) -> None:
    """The fraud rules over what the service path stored: the task ingest queues, run here."""
    from billing.tasks import fraud_evaluate

    began = time.perf_counter()
    fraud_evaluate()
    seconds = time.perf_counter() - began
    print(
        f"  then the fraud rules over those records (a worker's task, not in the figures): "
        f"{count / seconds:>10,.0f} records/s ({seconds:.2f} s)"
    )


def run_http(rows: list[tuple], batch: int) -> tuple[float, int]:
    from django.contrib.auth import get_user_model
    from rest_framework.authtoken.models import Token
    from rest_framework.test import APIClient

    from telco.roles import NOC, ensure_roles

    user, _ = get_user_model().objects.get_or_create(username="bench-noc")
    user.groups.add(ensure_roles()[NOC])
    token, _ = Token.objects.get_or_create(user=user)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")

    def body(row) -> dict:
        event_id, service_id, at, volume, unit, rating_group = row
        return {
            "usageDate": at.isoformat(),
            "usageType": "data",
            "usageCharacteristic": [
                {"name": "eventId", "value": event_id},
                {"name": "serviceId", "value": service_id},
                {"name": "volume", "value": str(volume)},
                {"name": "unit", "value": unit},
                {"name": "ratingGroup", "value": rating_group},
            ],
        }

    bodies = [
        json.dumps([body(row) for row in rows[first : first + batch]])
        for first in range(0, len(rows), batch)
    ]
    created = 0
    began = time.perf_counter()
    for payload in bodies:
        answer = client.generic(
            "POST", "/tmf-api/usageManagement/v4/usage", payload, content_type="application/json"
        )
        if answer.status_code != 200:
            sys.exit(f"HTTP batch refused: {answer.status_code} {str(answer.data)[:300]}")
        created += answer.data["created"]
    return time.perf_counter() - began, created


def write_csv(path: Path, rows: list[tuple]) -> None:
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["event_id", "service_id", "usage_date", "volume", "unit", "rating_group"])
        for event_id, service_id, at, volume, unit, rating_group in rows:
            writer.writerow([event_id, service_id, at.isoformat(), volume, unit, rating_group])


def run_file(path: Path) -> tuple[float, int, str]:
    """`usage_import` in a child process: seconds, peak RSS (KiB), its report.

    The peak is the child's own VmHWM (polled until it exits): the rusage of a child forked
    from this process, which holds the records in memory, would count this process's pages."""
    began = time.perf_counter()
    with tempfile.TemporaryFile("w+") as report:
        child = subprocess.Popen(
            [sys.executable, "manage.py", "usage_import", str(path), "--quiet"],
            cwd=ROOT,
            env=os.environ.copy(),
            stdout=report,
        )
        peak = 0
        status = Path(f"/proc/{child.pid}/status")
        while child.poll() is None:
            try:
                for line in status.read_text().splitlines():
                    if line.startswith("VmHWM:"):
                        peak = max(peak, int(line.split()[1]))
            except (OSError, ValueError):
                pass
            time.sleep(0.1)
        elapsed = time.perf_counter() - began
        report.seek(0)
        output = report.read()
    if child.returncode:
        sys.exit(f"usage_import failed ({child.returncode}): {output}")
    return elapsed, peak, output.splitlines()[0]


def run_files(count: int, floor: float, service_ids: list[str]) -> None:
    with tempfile.TemporaryDirectory() as directory:
        for label, size in (("100k", min(100_000, count)), ("full", count)):
            path = Path(directory) / f"cdr-{label}.csv"
            write_csv(path, records(f"file-{label}", size, service_ids))
            seconds, peak, report = run_file(path)
            print(
                f"usage_import of {size:,} CSV lines: {size / seconds:>10,.0f} records/s "
                f"({seconds:.2f} s, with start-up) = {floor / count * size / seconds:.2f}x COPY; "
                f"peak RSS {peak / 1024:,.0f} MiB [{report}]"
            )
            path.unlink()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--services", type=int, default=2000)
    parser.add_argument("--batch", type=int, default=50_000)
    parser.add_argument("--http-batch", type=int, default=20_000)
    parser.add_argument("--file-only", action="store_true", help="only the file import")
    arguments = parser.parse_args()
    django_on_bench_database(DEFAULT_URL, CELERY_BROKER_URL="memory://")

    count = arguments.records
    service_ids = services(arguments.services)
    empty_usage()
    rows = records("svc", count, service_ids)
    # The median of three: a one-second COPY feels every burst of load on a shared machine (a
    # single one moved 2.6x from run to run), and every ratio below divides by it.
    floor = statistics.median(bare_copy(rows) for _ in range(FLOOR_COPIES))
    print(f"records: {count:,} ({len(service_ids):,} services), all new and chargeable")
    print(
        f"floor, bare COPY into a plain table (median of {FLOOR_COPIES}): "
        f"{count / floor:>10,.0f} records/s ({floor:.2f} s)"
    )

    if arguments.file_only:
        run_files(count, floor, service_ids)
        return
    seconds, chargeable = run_service(rows, arguments.batch)
    assert chargeable == count, (chargeable, count)
    print(
        f"usage_bulk_ingest, batches of {arguments.batch:,}: {count / seconds:>10,.0f} records/s "
        f"({seconds:.2f} s) = {floor / seconds:.2f}x COPY"
    )
    print_fraud_evaluation(count)

    http_rows = records("http", count, service_ids)
    seconds, created = run_http(http_rows, arguments.http_batch)
    assert created == count, (created, count)
    print(
        f"TMF635 batch POST, {arguments.http_batch:,} a request: {count / seconds:>10,.0f} "
        f"records/s ({seconds:.2f} s) = {floor / seconds:.2f}x COPY"
    )
    del http_rows

    run_files(count, floor, service_ids)


if __name__ == "__main__":
    main()
