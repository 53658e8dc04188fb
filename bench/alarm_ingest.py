"""Alarm ingest throughput: alarms/s through the bulk path, half of them repeats, beside
PostgreSQL COPY of the same rows into a bare table in the same run.

    .venv/bin/python bench/alarm_ingest.py [--alarms 100000] [--batch 10000] [--http-alarms 20000]

Uses DATABASE_URL (default postgres://postgres@127.0.0.1:5432/telco_bench_alarm_ingest): creates
and migrates the database and adds 5,000 network elements (no services: this measures ingest,
not impact; bench/impact.py measures that). Each batch holds `batch` reports: half raise a new
fault, half repeat a fault of the batch before (the first batch repeats its own), so every
second report is deduplicated on an active alarm by the ON CONFLICT upsert. Every batch raises
a new fault on each element, so correlation groups each element's alarms into one incident
(the earliest the root) and every batch joins 5,000 alarms to 5,000 open incidents.

Four figures over the same batches, alarms and incidents deleted before each:
- service alone: `assurance.services.alarms_ingest` per batch without the correlation hand-off
  (`alarms_correlate` replaced by a no-op);
- service with correlation: the same, correlation included (what production runs; the goal:
  >= 20,000 alarms/s);
- HTTP: the same batches (`--http-alarms` of them) as JSON arrays POSTed on the TMF642 /alarm
  collection through DRF's test client with a NOC token (parsing, per-item validation,
  serialising the answers), correlation included;
- COPY: the same rows (one per report) COPYed into a bare table without indexes: the floor.
"""

import argparse
import gc
import json
import time
from contextlib import contextmanager
from datetime import UTC, datetime

from common import django_on_bench_database

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/telco_bench_alarm_ingest"
ELEMENTS = 5000
RAISED_AT = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)


def seed_elements() -> list[str]:
    from inventory.models import Resource

    names = [f"BENCH-NE-{n:05d}" for n in range(ELEMENTS)]
    existing = set(Resource.objects.filter(name__in=names).values_list("name", flat=True))
    Resource.objects.bulk_create(
        [
            Resource(name=name, resource_kind="gnb", category="physical", capacity_mbps=1000)
            for name in names
            if name not in existing
        ]
    )
    return names


def batches(total: int, size: int, names: list[str]) -> list[list[dict]]:
    """Reports as dicts (TMF field names): half new faults, half repeats of the batch before."""
    result, previous, fault = [], None, 0
    for _ in range(0, total, size):
        fresh = []
        for _ in range(size // 2):
            fresh.append(
                {
                    "sourceSystemId": "bench-ems",
                    "alarmedObject": {"id": names[fault % len(names)]},
                    "alarmType": "communicationsAlarm",
                    "probableCause": f"cause-{fault // len(names)}",
                    "perceivedSeverity": "major",
                    "alarmRaisedTime": RAISED_AT.isoformat(),
                    "state": "raised",
                }
            )
            fault += 1
        repeats = previous if previous is not None else fresh
        result.append(fresh + [dict(item, perceivedSeverity="critical") for item in repeats])
        previous = fresh
    return result


def as_reports(batch: list[dict]):
    from assurance.services import AlarmReport

    return [
        AlarmReport(
            source_system_id=item["sourceSystemId"],
            alarmed_object_id=item["alarmedObject"]["id"],
            alarm_type=item["alarmType"],
            probable_cause=item["probableCause"],
            perceived_severity=item["perceivedSeverity"],
            alarm_raised_time=RAISED_AT,
        )
        for item in batch
    ]


def forget_alarms() -> None:
    from django.db import connection

    from assurance.models import Alarm, Incident

    with connection.cursor() as cursor:
        for model in (Incident, Alarm):
            cursor.execute(f"TRUNCATE {model._meta.db_table} CASCADE")  # noqa: S608


@contextmanager
def without_correlation():
    from assurance.services import ingest

    correlate = ingest.alarms_correlate
    ingest.alarms_correlate = lambda alarm_ids, **guess: None
    try:
        yield
    finally:
        ingest.alarms_correlate = correlate


def run_service(all_batches: list[list[dict]]) -> tuple[float, dict]:
    from assurance.services import alarms_ingest

    reports = [as_reports(batch) for batch in all_batches]
    forget_alarms()
    # The inputs of every batch, built ahead, are no garbage the service leaves: out of the
    # collector's sight (a worker holds one batch, not all of them).
    gc.collect()
    gc.freeze()
    outcomes: dict[str, int] = {}
    started = time.perf_counter()
    for batch in reports:
        for result in alarms_ingest(batch, by="bench"):
            outcomes[str(result.outcome)] = outcomes.get(str(result.outcome), 0) + 1
    return time.perf_counter() - started, outcomes


def run_http(all_batches: list[list[dict]]) -> tuple[float, dict]:
    from django.contrib.auth import get_user_model
    from rest_framework.authtoken.models import Token
    from rest_framework.test import APIClient

    from telco.roles import NOC, ensure_roles

    user, _ = get_user_model().objects.get_or_create(username="bench-noc")
    user.groups.add(ensure_roles()[NOC])
    token, _ = Token.objects.get_or_create(user=user)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    bodies = [json.dumps(batch) for batch in all_batches]
    forget_alarms()
    gc.collect()
    gc.freeze()
    outcomes: dict[str, int] = {}
    started = time.perf_counter()
    for body in bodies:
        answer = client.post(
            "/tmf-api/alarmManagement/v4/alarm", body, content_type="application/json"
        )
        assert answer.status_code == 200, answer.content[:500]
        for key, value in answer.json().items():
            if isinstance(value, int):
                outcomes[key] = outcomes.get(key, 0) + value
    return time.perf_counter() - started, outcomes


def run_copy(all_batches: list[list[dict]]) -> float:
    """COPY one row per report (the alarm's columns) into a bare table: the physical floor."""
    from django.db import connection

    rows = [
        (
            "bench-ems",
            item["alarmedObject"]["id"],
            item["alarmType"],
            item["perceivedSeverity"],
            item["probableCause"],
            "raised",
            "unacknowledged",
            f"{item['sourceSystemId']}|{item['alarmedObject']['id']}|{item['probableCause']}",
            1,
            RAISED_AT,
            RAISED_AT,
        )
        for batch in all_batches
        for item in batch
    ]
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS bench_alarm_copy")
        cursor.execute(
            """CREATE TABLE bench_alarm_copy (
                source_system_id varchar(80), alarmed_object_ref varchar(120),
                alarm_type varchar(32), perceived_severity varchar(16),
                probable_cause varchar(80), state varchar(10), ack_state varchar(16),
                reduction_key varchar(500), occurrence_count int,
                alarm_raised_time timestamptz, alarm_reported_time timestamptz)"""
        )
        started = time.perf_counter()
        with cursor.cursor.copy("COPY bench_alarm_copy FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        elapsed = time.perf_counter() - started
        cursor.execute("DROP TABLE bench_alarm_copy")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--alarms", type=int, default=100_000)
    parser.add_argument("--batch", type=int, default=10_000)
    parser.add_argument("--http-alarms", type=int, default=20_000)
    arguments = parser.parse_args()
    django_on_bench_database(DEFAULT_URL)
    from django.conf import settings

    from assurance.models import Alarm, Incident

    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
    names = seed_elements()
    all_batches = batches(arguments.alarms, arguments.batch, names)
    total = sum(len(batch) for batch in all_batches)
    http_batches = all_batches[: max(1, arguments.http_alarms // arguments.batch)]
    http_total = sum(len(batch) for batch in http_batches)

    with without_correlation():
        alone_seconds, alone_outcomes = run_service(all_batches)
    correlated_seconds, correlated_outcomes = run_service(all_batches)
    incidents = Incident.objects.count()
    # Correlation's answer, checked: every alarm in an incident, one root (the element's first
    # fault) per incident, the others under it.
    assert not Alarm.objects.filter(incident__isnull=True).exists()
    assert Alarm.objects.filter(root_alarm__isnull=True).count() == incidents
    assert Alarm.objects.filter(is_root_cause=True).count() == incidents
    http_seconds, http_outcomes = run_http(http_batches)
    copy_seconds = run_copy(all_batches)
    forget_alarms()

    floor = total / copy_seconds
    print(f"alarm ingest: {total:,} reports in batches of {arguments.batch:,}, half repeats")
    figures = [
        ("service alone (alarms_ingest)", total, alone_seconds, alone_outcomes),
        ("service with correlation", total, correlated_seconds, correlated_outcomes),
        ("HTTP POST /alarm arrays, corr.", http_total, http_seconds, http_outcomes),
    ]
    for label, count, seconds, outcomes in figures:
        rate = count / seconds
        print(
            f"  {label:32} {rate:10,.0f} alarms/s  {floor / rate:5.1f} x floor "
            f"({seconds:.2f} s for {count:,}; {outcomes})"
        )
    print(f"  {'floor: COPY into a bare table':32} {floor:10,.0f} rows/s    1.0 x floor")
    print(f"  correlation: {incidents:,} incidents (one per element), one root each, none left out")
    goal = "met" if total / correlated_seconds >= 20_000 else "NOT met"
    print(f"  goal >= 20,000 alarms/s through the service with correlation: {goal}")


if __name__ == "__main__":
    main()
