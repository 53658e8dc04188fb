"""Load test: order intake, usage ingest and portal search at stated rates against gunicorn,
with locust (headless, bounded); prints the rate achieved, median and p95 latency and the
failures per scenario (every request must succeed).

    .venv/bin/python bench/load.py [--seconds 30] [--web-workers 2] [--scale 1]

Uses DATABASE_URL (default postgres://postgres@127.0.0.1:5432/telco_bench_load) and
CELERY_BROKER_URL (default redis://127.0.0.1:6379/12). Seeds the demo operator (50 customers)
on the first run, plus 20 active 5G products for usage; starts gunicorn on 127.0.0.1 and
runs bench/locustfile.py in a child process. The stated rates (requests/s) are the users of
each scenario x its per-user rate (bench/locustfile.py), times `--scale`:
- TMF622 POST productOrder: 2 users x 2/s = 4/s (an agent's token; 201 each);
- TMF635 POST usage: 2 users x 5/s = 10/s (one record, NOC token; 201 each);
- TMF635 POST usage batch of 50: 1 user x 1/s = 50 records/s (200, all 50 created);
- portal search: 2 users x 2.5/s = 5/s (an agent's session; 200 each).
No Celery worker runs: accepted orders' activation tasks are purged afterwards.
"""

import argparse
import csv
import json
import os
import subprocess
import sys
import tempfile
from datetime import timedelta
from io import StringIO
from pathlib import Path

from common import ROOT, django_on_bench_database
from order_intake import _free_port, _wait_listening

# Users per scenario (locust user classes in bench/locustfile.py).
USERS = {"OrderIntake": 2, "UsageIngest": 2, "UsageBatch": 1, "PortalSearch": 2}
STATED = {  # requests/s each scenario is asked for at scale 1
    "TMF622 POST productOrder": 4.0,
    "TMF635 POST usage": 10.0,
    "TMF635 POST usage batch of 50": 1.0,
    "portal search": 5.0,
}
SEARCH_TERMS = ("smith", "anna", "+4915", "ACC-", "example.com", "müller", "jo")


def prepare(data_file: Path) -> None:
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.db.models import Count
    from django.test import Client

    from billing.tests.factories import active_product
    from catalog.models import ProductOffering
    from crm.models import BillingAccount, Customer
    from crm.tests.factories import BillingAccountFactory
    from inventory.models import Service
    from telco import clock
    from telco.auth import token_issue
    from telco.roles import AGENT, NOC, ensure_roles

    if not Customer.objects.exists():
        call_command("seed_demo", customers=50, skip_bill_run=True, verbosity=0, stdout=StringIO())
    groups = ensure_roles()
    users = {}
    for role in (AGENT, NOC):
        user, _ = get_user_model().objects.get_or_create(username=f"load-{role}")
        user.groups.add(groups[role])
        users[role] = user
    offering = ProductOffering.objects.get(name="5G Premium")
    customers = Customer.objects.annotate(account_count=Count("accounts")).filter(account_count=1)
    if offering.market_segments:
        customers = customers.filter(segment__in=offering.market_segments)
    services = list(
        Service.objects.filter(product__name__startswith="load-usage", product__status="active")
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    BillingAccountFactory.reset_sequence(BillingAccount.objects.count() + 1)
    while len(services) < 20:
        product = active_product(start_date=clock.now() - timedelta(days=30))
        product.name = f"load-usage-{len(services)}"
        product.save(update_fields=["name"])
        services.append(product.services.get().pk)
    browser = Client()
    browser.force_login(users[AGENT])
    data = {
        "agent_token": token_issue(user=users[AGENT]).key,
        "noc_token": token_issue(user=users[NOC]).key,
        "agent_session": browser.cookies["sessionid"].value,
        "offering_id": str(offering.pk),
        "customer_ids": [str(pk) for pk in customers.values_list("pk", flat=True)],
        "service_ids": [str(pk) for pk in services],
        "rating_group": "DATA_5G_PREMIUM",
        "search_terms": list(SEARCH_TERMS),
    }
    data_file.write_text(json.dumps(data))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=30)
    parser.add_argument("--web-workers", type=int, default=2)
    parser.add_argument("--scale", type=int, default=1, help="users per scenario x this")
    args = parser.parse_args()

    django_on_bench_database(
        "postgres://postgres@127.0.0.1:5432/telco_bench_load",
        CELERY_BROKER_URL="redis://127.0.0.1:6379/12",
        # The load is the point: no rate limit may refuse the stated traffic.
        API_THROTTLE_USER="100000/min",
        API_THROTTLE_INGEST="100000/min",
    )
    from telco.celery import app

    workdir = Path(tempfile.mkdtemp(prefix="telco-load-"))
    data_file = workdir / "data.json"
    prepare(data_file)
    users = {name: count * args.scale for name, count in USERS.items()}
    port = _free_port()
    environment = {**os.environ, "PYTHONWARNINGS": "ignore:No directory at:UserWarning"}
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "telco.wsgi",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            str(args.web_workers),
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=environment,
    )
    try:
        _wait_listening(port)
        locust = [
            sys.executable,
            "-m",
            "locust",
            "-f",
            str(ROOT / "bench" / "locustfile.py"),
            "--headless",
            "--host",
            f"http://127.0.0.1:{port}",
            "--users",
            str(sum(users.values())),
            "--spawn-rate",
            str(sum(users.values())),
            "--run-time",
            f"{args.seconds}s",
            "--csv",
            str(workdir / "load"),
            "--only-summary",
            "--loglevel",
            "WARNING",
        ]
        # bench/locustfile.py sets each user class's `fixed_count` from LOAD_USERS.
        environment["LOAD_DATA"] = str(data_file)
        environment["LOAD_USERS"] = json.dumps(users)
        finished = subprocess.run(locust, cwd=ROOT, env=environment, capture_output=True)
    finally:
        server.terminate()
        server.wait(timeout=30)
        app.control.purge()
    stats_file = workdir / "load_stats.csv"
    if not stats_file.exists():
        sys.exit(f"locust wrote no figures:\n{finished.stderr.decode()[-3000:]}")
    report(stats_file, args)
    failures_file = workdir / "load_failures.csv"
    failures = (
        [row for row in csv.DictReader(failures_file.open())] if failures_file.exists() else []
    )
    if failures:
        sys.exit(f"failures: {failures[:5]}")


def report(stats_file: Path, args) -> None:
    rows = {row["Name"]: row for row in csv.DictReader(stats_file.open())}
    print(
        f"load test: {args.seconds} s, gunicorn {args.web_workers} sync workers on 127.0.0.1, "
        f"PostgreSQL, Redis; locust users { ({k: v * args.scale for k, v in USERS.items()}) }"
    )
    print(
        f"{'scenario':34} {'stated/s':>8} {'achieved/s':>10} {'median ms':>9} {'p95 ms':>7} "
        f"{'requests':>8} {'failures':>8}"
    )
    for name, stated in STATED.items():
        row = rows.get(name)
        if row is None:
            print(f"{name:34} no requests")
            continue
        print(
            f"{name:34} {stated * args.scale:8.1f} {float(row['Requests/s']):10.1f} "
            f"{float(row['50%']):9.0f} {float(row['95%']):7.0f} {row['Request Count']:>8} "
            f"{row['Failure Count']:>8}"
        )
    total = rows.get("Aggregated")
    if total:
        print(f"total: {total['Request Count']} requests, {total['Failure Count']} failures")


if __name__ == "__main__":
    main()
