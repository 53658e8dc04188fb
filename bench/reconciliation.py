"""A reconciliation run over N services (demo-like 5G connections on gNBs), beside its floors.

    .venv/bin/python bench/reconciliation.py [--services 100000] [--gnbs 100]

Uses DATABASE_URL (default postgres://postgres@127.0.0.1:5432/telco_bench_reconciliation):
creates and migrates it, then builds set-based in SQL (a few statements, whatever N): the demo
catalog, --gnbs gNBs, N/10 billing accounts with 10 products each (the 5G offerings in turn,
started the first of two months ago), one active customer-facing service per product bound to
a gNB, last month's bill of every account with a recurring line per product, and one usage
record per product over the last 7 days. The gNBs' running configuration is written as the lab
network's journal (what the lab replays at start) and served over RESTCONF by `labnetd` in a
process of its own. About 0.1% of each kind of difference is injected: drifted, missing and
orphan configuration, products delivered but never billed, lines at another price, missing
recurring lines, rejected usage.

It then times, on the same data:
- the run (`reconciliation_create` + `reconciliation_run_here`: every unit one after the other
  in this process, as one worker would), in total and per comparison;
- the floors: the raw GET of every gNB's whole configuration (the network's share), and each
  comparison as one SQL statement over the same rows (inventory vs billing, mediation).
A second run then finds the same differences again (no case opened, none closed), its units
shared among --processes forked processes as that many workers would take them. Each
invocation first removes the cases and runs of the previous one.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bill_run import _columns
from common import ROOT, django_on_bench_database

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/telco_bench_reconciliation"
PREFIX = "RC"
PRODUCTS_PER_ACCOUNT = 10
ORPHAN_BASE = 900_000_000


def _months_ago(now: datetime, months: int) -> datetime:
    index = now.year * 12 + now.month - 1 - months
    return datetime(index // 12, index % 12 + 1, 1, tzinfo=UTC)


def build(services: int, gnbs: int, now: datetime) -> None:
    """The bench's world (kept when already there with the same size)."""
    from django.db import connection, transaction

    from billing.models import AppliedCharge, CustomerBill, UsageEvent
    from catalog.choices import ResourceKind
    from catalog.demo import ensure_catalog
    from catalog.models import ProductOfferingPrice
    from crm.models import BillingAccount
    from crm.tests.factories import BillingAccountFactory
    from inventory import services as inventory_services
    from inventory.models import ProductInstance, Region, Service, ServiceResource, Site

    if Service.objects.count() == services:
        return
    if Service.objects.exists():
        raise SystemExit("a bench of another size exists: use a new database")
    offerings = [o for name, o in ensure_catalog().items() if name.startswith("5G")]
    specification = offerings[0].product_specification.service_specifications.get()
    region = Region.objects.create(name="Bench region")
    site = Site.objects.create(region=region, name="Bench site")
    elements = [
        inventory_services.equipment_create(
            name=f"GNB-BENCH-{n:03d}",
            resource_kind=ResourceKind.GNB,
            site=site,
            capacity_mbps=100_000_000,
        )
        for n in range(gnbs)
    ]
    template = BillingAccountFactory()
    accounts = services // PRODUCTS_PER_ACCOUNT
    start = _months_ago(now, 2)
    last_month, this_month = _months_ago(now, 1), _months_ago(now, 0)
    tables = {
        model: model._meta.db_table
        for model in (
            BillingAccount,
            ProductInstance,
            Service,
            ServiceResource,
            CustomerBill,
            AppliedCharge,
            UsageEvent,
            ProductOfferingPrice,
        )
    }
    with transaction.atomic(), connection.cursor() as cursor:

        def insert(model, exprs, template_alias, source, params=()):
            columns, values, column_params = _columns(model, exprs, template_alias)
            cursor.execute(
                f"INSERT INTO {tables[model]} ({columns}) SELECT {values} {source}",  # noqa: S608
                [*column_params, *params],
            )

        insert(
            BillingAccount,
            {
                "account_number": f"'{PREFIX}' || lpad(g::text, 10, '0')",
                "name": "'Bench account ' || g",
                "bill_cycle_day": "1",
            },
            "t",
            f"FROM {tables[BillingAccount]} t, generate_series(1, %s) g WHERE t.id = %s",
            [accounts, template.pk],
        )
        # Products: ten per account, the 5G offerings in turn; every 1000th (+3) never started
        # although its service is active (the seeds' leakage).
        insert(
            ProductInstance,
            {
                "customer_id": "a.customer_id",
                "billing_account_id": "a.id",
                "product_offering_id": "o.id",
                "name": "o.name || ' #' || g",
                "status": "CASE WHEN g %% 1000 = 3 THEN 'pendingActive' ELSE 'active' END",
                "characteristics": """'{"bandwidth": "500Mbps"}'::jsonb""",
                "start_date": ("CASE WHEN g %% 1000 = 3 THEN NULL ELSE %s END", [start]),
            },
            None,
            f"FROM generate_series(1, %s) g JOIN {tables[BillingAccount]} a ON a.account_number "
            f"= '{PREFIX}' || lpad(((g - 1) / {PRODUCTS_PER_ACCOUNT} + 1)::text, 10, '0') "
            "JOIN unnest(%s::bigint[]) WITH ORDINALITY AS o_(id, n) ON o_.n = g %% %s + 1 "
            "JOIN catalog_productoffering o ON o.id = o_.id",
            [services, [o.pk for o in offerings], len(offerings)],
        )
        insert(
            Service,
            {
                "name": "'5G slice of ' || p.name",
                "category": "'CFS'",
                "service_specification_id": str(specification.pk),
                "product_id": "p.id",
                "state": "'active'",
                "characteristics": "p.characteristics",
                "start_date": ("%s", [start]),
            },
            None,
            f"FROM {tables[ProductInstance]} p JOIN {tables[BillingAccount]} a "
            f"ON a.id = p.billing_account_id WHERE a.account_number LIKE '{PREFIX}%%'",
        )
        insert(
            ServiceResource,
            {
                "service_id": "s.id",
                "resource_id": (
                    "(%s::bigint[])[s.id %% %s + 1]",
                    [[e.pk for e in elements], len(elements)],
                ),
                "capacity_mbps": "500",
                "state": "'active'",
            },
            None,
            f"FROM {tables[Service]} s",
            [],
        )
        insert(
            CustomerBill,
            {
                "billing_account_id": "a.id",
                "bill_no": f"'{PREFIX}-' || a.id",
                "period_start": ("%s", [last_month]),
                "period_end": ("%s", [this_month]),
                "bill_date": ("%s", [this_month]),
                "payment_due_date": ("%s", [this_month + timedelta(days=14)]),
                "currency": "a.currency",
                "tax_excluded_amount": "0",
                "tax_amount": "0",
                "tax_included_amount": "0",
            },
            None,
            f"FROM {tables[BillingAccount]} a WHERE a.account_number LIKE '{PREFIX}%%'",
        )
        # A recurring line per product of last month's bill at the catalog price; every
        # 1000th (+4) at 5.00 more, every 1000th (+5) missing.
        insert(
            AppliedCharge,
            {
                "bill_id": "b.id",
                "billing_account_id": "p.billing_account_id",
                "product_id": "p.id",
                "charge_type": "'recurring'",
                "name": "price.name",
                "period_start": "b.period_start",
                "period_end": "b.period_end",
                "quantity": "1",
                "unit": "'month'",
                "currency": "price.currency",
                "tax_rate": "0",
                "tax_excluded_amount": "price.amount "
                "+ CASE WHEN p.id %% 1000 = 4 THEN 5 ELSE 0 END",
                "tax_amount": "0",
                "tax_included_amount": "price.amount",
                "charge_key": "'recurring:' || p.id || ':' || price.id || ':' || "
                "to_char(b.period_start, 'YYYYMMDD')",
                "date": "b.period_start",
            },
            None,
            f"FROM {tables[ProductInstance]} p JOIN {tables[CustomerBill]} b "
            "ON b.billing_account_id = p.billing_account_id "
            f"JOIN {tables[ProductOfferingPrice]} price "
            "ON price.product_offering_id = p.product_offering_id "
            "AND price.price_type = 'recurring' AND price.lifecycle_status = 'launched' "
            "WHERE p.start_date IS NOT NULL AND p.id %% 1000 <> 5",
        )
        # One usage record per product in the last 7 days; every 500th rejected.
        insert(
            UsageEvent,
            {
                "event_id": "'rc-' || s.id",
                "service_id": "s.id",
                "product_id": "s.product_id",
                "billing_account_id": "p.billing_account_id",
                "usage_date": ("%s - (1 + s.id %% 7) * interval '1 day'", [now]),
                "rating_group": "'DATA_5G'",
                "volume": "1 + s.id %% 10",
                "unit": "'GB'",
                "rated_volume": "1 + s.id %% 10",
                "status": "CASE WHEN s.id %% 500 = 0 THEN 'rejected' ELSE 'received' END",
                "rejection_reason": "CASE WHEN s.id %% 500 = 0 THEN 'unpricedRatingGroup' "
                "ELSE '' END",
                "received_at": ("%s - (1 + s.id %% 7) * interval '1 day'", [now]),
            },
            None,
            f"FROM {tables[Service]} s JOIN {tables[ProductInstance]} p ON p.id = s.product_id",
        )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")


def write_journal(path: Path) -> int:
    """The gNBs' running configuration as the lab's journal (one snapshot line per element):
    what each service was configured with, but ~0.1% drifted or missing, and ~0.1% orphans."""
    from django.db import connection

    by_element = defaultdict(dict)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT r.name, s.id, s.name, s.characteristics FROM inventory_serviceresource b "
            "JOIN inventory_service s ON s.id = b.service_id "
            "JOIN inventory_resource r ON r.id = b.resource_id"
        )
        for element, service_id, name, characteristics in cursor.fetchall():
            characteristics = (
                json.loads(characteristics) if isinstance(characteristics, str) else characteristics
            )
            if service_id % 1000 == 2:
                continue  # missing
            if service_id % 1000 == 1:
                characteristics = {**characteristics, "bandwidth": "100Mbps"}  # drifted
            by_element[element][str(service_id)] = {
                "name": str(service_id),
                "admin-state": "unlocked",
                "characteristics": {"service": name, **characteristics},
            }
    orphans = 0
    for number, element in enumerate(sorted(by_element)):
        ref = str(ORPHAN_BASE + number)
        by_element[element][ref] = {
            "name": ref,
            "admin-state": "unlocked",
            "characteristics": {"service": "left behind by a failed undo"},
        }
        orphans += 1
    with path.open("w", encoding="utf-8") as journal:
        for element, entries in by_element.items():
            state = {
                "mode": "none",
                "failuresLeft": 0,
                "latencyMs": None,
                "config": {"lab-generic": entries},
                "answers": [],
                "changes": [],
            }
            journal.write(json.dumps({"op": "snapshot", "element": element, "state": state}))
            journal.write("\n")
    return orphans


def start_lab(journal: Path) -> tuple[subprocess.Popen, str]:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    environment = {**os.environ, "LABNET_LATENCY_MS": "0"}
    process = subprocess.Popen(
        [sys.executable, "manage.py", "labnetd", "--port", str(port), "--state-file", str(journal)],
        cwd=ROOT,
        env=environment,
        stdout=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    import requests

    for _ in range(600):
        try:
            requests.get(f"{url}/lab/elements", timeout=1)
            return process, url
        except requests.RequestException:
            time.sleep(0.1)
    raise SystemExit("labnetd did not start")


def floors(now: datetime) -> dict[str, float]:
    """Each comparison's physical floor on the same rows."""
    from django.db import connection

    from inventory.models import Resource
    from inventory.network.restconf import element_root, http_pool

    timings = {}
    began = time.perf_counter()
    entries = 0
    for name in Resource.objects.filter(resource_kind="gnb").values_list("name", flat=True):
        response = http_pool().request("GET", f"{element_root(name)}/data", timeout=30)
        entries += len(
            response.json()["ietf-restconf:data"].get("lab-generic:services", {}).get("service", [])
        )
    timings["network: GET every element's whole configuration"] = time.perf_counter() - began
    with connection.cursor() as cursor:
        began = time.perf_counter()
        cursor.execute(
            "SELECT count(*) FILTER (WHERE active AND NOT billable), "
            "count(*) FILTER (WHERE billable AND NOT active AND p.status = 'active'), "
            "count(*) FILTER (WHERE c.id IS NULL AND billable), "
            "count(*) FILTER (WHERE c.tax_excluded_amount <> price.amount) "
            "FROM (SELECT p.*, p.status IN ('active','suspended','pendingTerminate','terminated') "
            "  AND p.start_date IS NOT NULL AS billable, EXISTS (SELECT 1 FROM inventory_service "
            "  s WHERE s.product_id = p.id AND s.state = 'active') AS active "
            "  FROM inventory_productinstance p) p "
            "LEFT JOIN billing_appliedcharge c ON c.product_id = p.id "
            "  AND c.charge_type = 'recurring' "
            "LEFT JOIN catalog_productofferingprice price "
            "  ON price.product_offering_id = p.product_offering_id "
            "  AND price.price_type = 'recurring' AND price.lifecycle_status = 'launched'"
        )
        cursor.fetchall()
        timings["billing: one SQL statement"] = time.perf_counter() - began
        began = time.perf_counter()
        cursor.execute(
            "SELECT date_trunc('day', usage_date), rating_group, status, rejection_reason, "
            "count(*), sum(volume) FROM billing_usageevent WHERE usage_date >= %s "
            "GROUP BY 1, 2, 3, 4",
            [now - timedelta(days=7)],
        )
        cursor.fetchall()
        timings["mediation: one SQL statement"] = time.perf_counter() - began
    return timings, entries


def _do_units(unit_ids: list[int]) -> None:
    """A forked worker's share of a run's units (its own database connection)."""
    from django.db import connections

    from billing.services import reconciliation as engine

    connections.close_all()  # the parent's connection is not shared across processes
    for unit_id in unit_ids:
        engine.reconciliation_unit_do(unit_id=unit_id)


def run_in_processes(processes: int) -> tuple[float, object]:
    """A second run, its units shared among `processes` forked processes (as that many
    workers would take the fanned-out tasks): seconds, and the run."""
    import multiprocessing

    from django.db import connections

    from billing.models import ReconciliationUnit
    from billing.services import reconciliation as engine

    began = time.perf_counter()
    run = engine.reconciliation_create(by="bench")
    ids = list(
        ReconciliationUnit.objects.filter(run=run).order_by("pk").values_list("pk", flat=True)
    )
    connections.close_all()
    with multiprocessing.get_context("fork").Pool(processes) as pool:
        pool.map(_do_units, [ids[share::processes] for share in range(processes)])
    seconds = time.perf_counter() - began
    run.refresh_from_db()
    return seconds, run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--services", type=int, default=100_000)
    parser.add_argument("--gnbs", type=int, default=100)
    parser.add_argument(
        "--processes", type=int, default=4, help="processes sharing the second run's units"
    )
    args = parser.parse_args()
    django_on_bench_database(DEFAULT_URL)

    from django.conf import settings
    from django.db.models import Sum

    from billing.models import ReconciliationRun, ReconciliationUnit, RevenueCase
    from billing.services import reconciliation as engine
    from telco import clock

    now = clock.now()
    began = time.perf_counter()
    build(args.services, args.gnbs, now)
    print(f"{args.services} services ready in {time.perf_counter() - began:.1f} s", flush=True)
    RevenueCase.objects.all().delete()
    ReconciliationRun.objects.all().delete()

    journal = Path(tempfile.mkdtemp(prefix="bench-labnet-")) / "labnet.jsonl"
    orphans = write_journal(journal)
    lab, url = start_lab(journal)
    settings.LABNET_URL = url
    try:
        floor_times, entries = floors(now)
        began = time.perf_counter()
        run = engine.reconciliation_create(by="bench")
        created = time.perf_counter() - began
        per_comparison = defaultdict(float)
        for unit in ReconciliationUnit.objects.filter(run=run).order_by("pk"):
            unit_began = time.perf_counter()
            engine.reconciliation_unit_do(unit_id=unit.pk)
            per_comparison[unit.comparison] += time.perf_counter() - unit_began
        total = time.perf_counter() - began
        run.refresh_from_db()
        # Found again: the same differences update their cases, none is opened.
        parallel, again = run_in_processes(args.processes)
    finally:
        lab.terminate()
        lab.wait()
    print(f"lab: {entries} entries on {args.gnbs} gNBs ({orphans} orphans)")
    print(
        f"run {run.pk}: {run.state}, {run.units_done}/{run.units_total} units, "
        f"found {run.found_by_kind}, {run.cases_opened} cases opened"
    )
    print(f"  whole run (this process, unit after unit): {total:6.2f} s  (goal <= 60 s)")
    print(f"  planning the units:                       {created:6.2f} s")
    for comparison, seconds in per_comparison.items():
        units = run.units.filter(comparison=comparison).count()
        print(f"  {comparison:<10} {units:4d} units:                   {seconds:6.2f} s")
    print(
        f"  again on {args.processes} processes (found again: {again.cases_opened} opened, "
        f"{again.cases_closed} closed, {again.state}):  {parallel:6.2f} s"
    )
    print("floors, same rows:")
    for name, seconds in floor_times.items():
        print(f"  {name:<52} {seconds:6.2f} s")
    differences = run.units.aggregate(total=Sum("differences"))["total"]
    print(f"differences recorded: {differences}")


if __name__ == "__main__":
    main()
