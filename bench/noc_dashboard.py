"""NOC dashboard server time with 10,000 active alarms, beside the one-statement SQL floor.

    .venv/bin/python bench/noc_dashboard.py [--alarms 10000] [--incidents 50] [--runs 15]

Uses DATABASE_URL (default postgres://postgres@127.0.0.1:5432/telco_bench_noc): creates and
migrates the database, seeds the demo operator (300 customers) for its network and services,
then writes N active alarms directly (bulk insert, no correlation: the page only reads them),
spread over the network's resources and every severity and type; a share of them grouped under
open incidents (each with a root alarm), one root alarm affecting every customer service (the
storm's root), the others one to three services each.

It then requests the NOC pages in-process as the `noc` demo user (Django's test client: the
whole server side, middleware, queries and templates, no network) and prints, per page, the
median and worst server time over the runs and the number of SQL statements, beside the floor:
the one statement that picks the page's alarm ids (active, most urgent first, LIMIT 50) run
alone on the same connection. Goal: <= 300 ms per page.
"""

import argparse
import random
import statistics
import time

from common import django_on_bench_database

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/telco_bench_noc"
SEVERITIES = ["critical", "major", "minor", "warning", "indeterminate"]
TYPES = ["communicationsAlarm", "equipmentAlarm", "qualityOfServiceAlarm", "environmentalAlarm"]


def build_alarms(count: int, incidents: int) -> None:
    from django.db import transaction

    from assurance.models import Alarm, Incident
    from inventory.models import Resource, Service
    from telco import clock

    active = Alarm.objects.exclude(state="cleared").count()
    if active >= count:
        return
    rng = random.Random(7)
    resources = list(Resource.objects.values_list("pk", flat=True))
    services = list(Service.objects.filter(category="CFS").values_list("pk", flat=True))
    now = clock.now()
    with transaction.atomic():
        roots = []
        for number in range(incidents):
            resource_id = rng.choice(resources)
            roots.append(
                Incident.objects.create(
                    name=f"Bench fault {number}",
                    root_resource_id=resource_id,
                    first_alarm_time=now,
                    state="pending" if number % 3 else "acknowledged",
                    customers_count=rng.randint(1, 10_000),
                    services_down=rng.randint(1, 10_000),
                )
            )
        alarms = [
            Alarm(
                source_system_id="bench",
                alarmed_object_ref=str(resource_id),
                resource_id=resource_id,
                alarm_type=TYPES[number % len(TYPES)],
                perceived_severity=SEVERITIES[number % len(SEVERITIES)],
                probable_cause=f"benchCause{number % 37}",
                specific_problem=f"bench-{number}",
                reduction_key=f"bench-{active + number}",
                alarm_raised_time=now,
                is_service_affecting=True,
                incident=roots[number % incidents] if number % 2 == 0 else None,
                is_root_cause=number < incidents,
            )
            for number, resource_id in enumerate(
                rng.choice(resources) for _ in range(count - active)
            )
        ]
        Alarm.objects.bulk_create(alarms, batch_size=5000)
        for root, alarm in zip(roots, alarms[:incidents], strict=True):
            Incident.objects.filter(pk=root.pk).update(root_alarm=alarm)
        through = Alarm.affected_services.through
        links = [through(alarm_id=alarms[0].pk, service_id=pk) for pk in services]
        for alarm in alarms[1:]:
            links.extend(
                through(alarm_id=alarm.pk, service_id=pk)
                for pk in rng.sample(services, rng.randint(1, 3))
            )
        through.objects.bulk_create(links, batch_size=10_000, ignore_conflicts=True)


def floor_ms(runs: int) -> float:
    """The page's ids in one statement: active alarms, most urgent first, the first 50."""
    from django.db import connection

    from assurance.models import Alarm
    from assurance.selectors import severity_order

    query = (
        Alarm.objects.exclude(state="cleared")
        .annotate(severity_rank=severity_order())
        .order_by("severity_rank", "-alarm_raised_time", "-pk")
        .values_list("pk", flat=True)[:50]
    )
    sql, params = query.query.sql_with_params()
    timings = []
    with connection.cursor() as cursor:
        for _ in range(runs):
            started = time.perf_counter()
            cursor.execute(sql, params)
            cursor.fetchall()
            timings.append((time.perf_counter() - started) * 1000)
    return statistics.median(timings)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--alarms", type=int, default=10_000)
    parser.add_argument("--incidents", type=int, default=50)
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()

    django_on_bench_database(DEFAULT_URL)
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext, setup_test_environment

    from assurance.models import Alarm, Incident
    from crm.models import Customer

    setup_test_environment()  # the test client's host; locmem mail
    if not Customer.objects.exists():
        call_command("seed_demo", customers=300, skip_bill_run=True, verbosity=0)
    build_alarms(args.alarms, args.incidents)
    active = Alarm.objects.exclude(state="cleared").count()
    incident = Incident.objects.filter(root_alarm__isnull=False).order_by("pk").first()

    client = Client()
    client.force_login(get_user_model().objects.get(username="noc"))
    pages = {
        "dashboard /noc/": "/noc/",
        "dashboard page 50": "/noc/?page=50",
        "filtered severity=major": "/noc/?severity=major&type=equipmentAlarm",
        "live alarms block": "/noc/live/alarms/",
        "live incidents block": "/noc/live/incidents/",
        f"incident {incident.pk} detail": f"/noc/incidents/{incident.pk}/",
    }
    floor = floor_ms(args.runs)
    open_incidents = Incident.objects.filter(state__in=["pending", "acknowledged"]).count()
    print(
        f"{active} active alarms, {open_incidents} open incidents, {args.runs} runs per page"
        " (PostgreSQL, in-process test client)"
    )
    print(f"{'page':32} {'median ms':>10} {'max ms':>8} {'queries':>8}  floor (ids, 1 SQL)")
    for label, url in pages.items():
        client.get(url)  # warm the template cache and the buffers
        timings = []
        for _ in range(args.runs):
            with CaptureQueriesContext(connection) as captured:
                started = time.perf_counter()
                response = client.get(url)
                timings.append((time.perf_counter() - started) * 1000)
            assert response.status_code == 200, (url, response.status_code)
        print(
            f"{label:32} {statistics.median(timings):10.1f} {max(timings):8.1f}"
            f" {len(captured):8d}  {floor:.1f} ms"
        )


if __name__ == "__main__":
    main()
