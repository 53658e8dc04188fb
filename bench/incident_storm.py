"""A cable cut under 10,000 customers: the alarm storm, one incident, its impact.

    .venv/bin/python bench/incident_storm.py [--customers 10000] [--large 100000] [--runs 30]

Uses DATABASE_URL (default postgres://postgres@127.0.0.1:5432/telco_bench_incidents): creates
and migrates it, seeds a small demo (for the catalog), then builds the shape of the demo's
`CABLE-<REGION>-RING-n`: a core router, 50 site routers uplinked to it by fibre links that all
run in one ring cable (CABLE-STORM-RING-1, in a duct), 100 gNBs behind each site router (each
uplinked in the site's access cable), and the customers' 5G services bound to the gNBs. Service
paths are rebuilt (`inventory.paths`), timed.

The storm: the 5,000 symptom alarms (the 50 trunk links, the 50 site routers, 4,900 gNBs) and
the cable's own alarm LAST, in one batch through the bulk ingest service (`alarms_ingest`, as
the TMF642 array POST uses it), which calls correlation when the alarms are stored. It prints
the time until one incident with the cable as root cause and its full impact exists (goal
<= 2 s), of which correlation and impact, and checks the incident.

Then the impact query (services down/degraded, distinct customers by segment, from the service
paths) for the cable with 10,000 and with 100,000 customers (goals 20 ms / 200 ms), beside the
one-statement floor: the index-only count of the same path rows through the cable.
"""

import argparse
import statistics
import time
from datetime import timedelta

from common import django_on_bench_database
from django.db import transaction

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/telco_bench_incidents"
SITES = 50
GNBS_PER_SITE = 100
BATCH = 5000
SYMPTOMS = 5000


@transaction.atomic
def build_network():
    from django.db import connection

    from inventory.choices import LINK_KINDS, LinkMedium
    from inventory.demo_network import csv_text
    from inventory.models import Link, Resource, Site
    from inventory.network_import import network_import

    cable = Resource.objects.filter(name="CABLE-STORM-RING-1").first()
    if cable is not None:
        return cable
    site = Site.objects.order_by("pk").first()
    core = Resource.objects.create(
        name="CORE-STORM", resource_kind="router", category="physical", site=site
    )
    routers = Resource.objects.bulk_create(
        [
            Resource(
                name=f"R-STORM-{s:02d}", resource_kind="router", category="physical", site=site
            )
            for s in range(SITES)
        ]
    )
    gnbs = Resource.objects.bulk_create(
        [
            Resource(
                name=f"GNB-STORM-{s:02d}-{g:03d}",
                resource_kind="gnb",
                category="physical",
                site=site,
                capacity_mbps=10**7,
            )
            for s in range(SITES)
            for g in range(GNBS_PER_SITE)
        ]
    )
    network_import(kind="ducts", text=csv_text(["name"], [["DUCT-STORM-RING-1"]]))
    network_import(
        kind="cables",
        text=csv_text(
            ["name", "duct"],
            [["CABLE-STORM-RING-1", "DUCT-STORM-RING-1"]]
            + [[f"CABLE-STORM-{s:02d}-ACCESS", ""] for s in range(SITES)],
        ),
    )
    # Equipment-to-equipment links (a router has a hundred downlinks, which the CSV import,
    # checking port by port, refuses), written as the import writes them: resource rows, then
    # link rows.
    cables = dict(
        Resource.objects.filter(name__startswith="CABLE-STORM-").values_list("name", "pk")
    )
    ends = [(r, core, "CABLE-STORM-RING-1") for r in routers]
    ends += [
        (g, routers[n // GNBS_PER_SITE], f"CABLE-STORM-{n // GNBS_PER_SITE:02d}-ACCESS")
        for n, g in enumerate(gnbs)
    ]
    links = Resource.objects.bulk_create(
        [
            Resource(
                name=f"{a.name}-UPLINK",
                resource_kind=LINK_KINDS[LinkMedium.FIBRE],
                category="physical",
                parent_id=cables[cable],
            )
            for a, _, cable in ends
        ]
    )
    with connection.cursor() as cursor:
        cursor.executemany(
            f"INSERT INTO {Link._meta.db_table} (resource_ptr_id, a_end_id, z_end_id,"  # noqa: S608
            " a_device_id, z_device_id, medium) VALUES (%s, %s, %s, %s, %s, %s)",
            [
                (link.pk, a.pk, z.pk, a.pk, z.pk, LinkMedium.FIBRE)
                for link, (a, z, _) in zip(links, ends, strict=True)
            ],
        )
    return Resource.objects.get(name="CABLE-STORM-RING-1")


def add_customers(total: int) -> int:
    """Customers with a 5G service on the storm's gNBs (round robin), up to `total`."""
    from catalog.models import ProductOffering, ServiceSpecification
    from crm.models import BillingAccount, Customer, Party
    from inventory.models import ProductInstance, Resource, Service, ServiceResource

    have = Service.objects.filter(name__startswith="STORM 5G ").count()
    gnbs = list(
        Resource.objects.filter(name__startswith="GNB-STORM-", resource_kind="gnb")
        .order_by("name")
        .values_list("pk", flat=True)
    )
    spec = ServiceSpecification.objects.get(name="5G Slice Service")
    offering = ProductOffering.objects.get(name="5G Premium")
    segments = ["consumer", "consumer", "consumer", "smallBusiness", "enterprise"]
    for start in range(have, total, BATCH):
        numbers = range(start, min(start + BATCH, total))
        parties = Party.objects.bulk_create(
            [Party(kind="individual", given_name="Storm", family_name=f"C{n}") for n in numbers]
        )
        customers = Customer.objects.bulk_create(
            [
                Customer(party=p, name=f"Storm C{n}", segment=segments[n % len(segments)])
                for n, p in zip(numbers, parties, strict=True)
            ]
        )
        accounts = BillingAccount.objects.bulk_create(
            [
                BillingAccount(customer=c, account_number=f"STORM{n:08d}", name=c.name)
                for n, c in zip(numbers, customers, strict=True)
            ]
        )
        products = ProductInstance.objects.bulk_create(
            [
                ProductInstance(
                    customer=c,
                    billing_account=a,
                    product_offering=offering,
                    name="5G Premium",
                    status="active",
                )
                for c, a in zip(customers, accounts, strict=True)
            ]
        )
        services = Service.objects.bulk_create(
            [
                Service(
                    name=f"STORM 5G {n}",
                    category="CFS",
                    service_specification=spec,
                    product=p,
                    state="active",
                )
                for n, p in zip(numbers, products, strict=True)
            ]
        )
        ServiceResource.objects.bulk_create(
            [
                ServiceResource(
                    service=s, resource_id=gnbs[n % len(gnbs)], capacity_mbps=10, state="active"
                )
                for n, s in zip(numbers, services, strict=True)
            ]
        )
    return total - have


def rebuild_paths() -> None:
    from django.db import connection

    from inventory.paths import service_paths_rebuild

    started = time.perf_counter()
    rows = service_paths_rebuild()
    print(f"service paths rebuilt: {rows} rows in {time.perf_counter() - started:.1f} s")
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")


def storm(cable) -> None:
    from assurance import correlation
    from assurance.models import Alarm, Incident
    from assurance.services.ingest import AlarmReport, alarms_ingest
    from inventory.models import Link, Resource
    from telco import clock

    Incident.objects.all().delete()
    Alarm.objects.filter(source_system_id="storm-ems").delete()
    trunk_links = list(Link.objects.filter(parent=cable).values_list("pk", flat=True))
    routers = list(
        Resource.objects.filter(name__startswith="R-STORM-", parent__isnull=True).values_list(
            "pk", flat=True
        )
    )
    gnbs = list(
        Resource.objects.filter(name__startswith="GNB-STORM-", resource_kind="gnb")
        .order_by("name")
        .values_list("pk", flat=True)
    )
    symptoms = (trunk_links + routers + gnbs)[:SYMPTOMS]
    now = clock.now()
    reports = [
        AlarmReport(
            source_system_id="storm-ems",
            alarmed_object_id=str(pk),
            alarm_type="communicationsAlarm",
            probable_cause="linkDown" if n < len(trunk_links) else "lossOfSignal",
            perceived_severity="critical",
            alarm_raised_time=now + timedelta(milliseconds=n),
        )
        for n, pk in enumerate(symptoms)
    ]
    reports.append(
        AlarmReport(
            source_system_id="storm-ems",
            alarmed_object_id=str(cable.pk),
            alarm_type="communicationsAlarm",
            probable_cause="cableCut",
            perceived_severity="critical",
            alarm_raised_time=now + timedelta(seconds=6),
        )
    )
    spent = {}
    real_correlate = correlation.correlate

    def timed_correlate(alarm_ids, **guessed):
        started = time.perf_counter()
        real_correlate(alarm_ids, **guessed)
        spent["correlate"] = time.perf_counter() - started

    correlation.correlate = timed_correlate
    try:
        started = time.perf_counter()
        alarms_ingest(reports, by="bench")
        total = time.perf_counter() - started
    finally:
        correlation.correlate = real_correlate
    incident = Incident.objects.get(state="pending")
    root = Alarm.objects.get(pk=incident.root_alarm_id)
    assert root.resource_id == cable.pk, "the cable is the root cause"
    assert root.is_root_cause
    alarms = incident.alarms.count()
    print(
        f"storm: {len(reports)} alarms (root last) -> one incident (#{incident.pk}, root "
        f"{cable.name}) with {alarms} alarms, {incident.services_down} services down, "
        f"{incident.customers_count} customers {incident.customers_by_segment}, revenue at "
        f"risk {incident.revenue_at_risk} {incident.currency}/month: {total:.2f} s "
        f"(goal <= 2 s), of which correlation and impact {spent.get('correlate', 0):.2f} s"
    )
    print(f"  incidents in the database: {Incident.objects.count()} (one per fault)")


def impact_query(cable, runs: int) -> None:
    from django.db import connection

    from inventory import paths

    sql = f"""
        WITH {paths.PATH_IMPACT_CTE}
        SELECT path_impact.impact, customer.segment, COUNT(*), COUNT(DISTINCT customer.id)
        FROM path_impact
        JOIN {paths.SERVICE} service ON service.id = path_impact.service_id
        JOIN {paths.PRODUCT} product ON product.id = service.product_id
        JOIN {paths.CUSTOMER} customer ON customer.id = product.customer_id
        GROUP BY path_impact.impact, customer.segment"""  # noqa: S608
    floor = f"SELECT COUNT(*) FROM {paths.PATH} WHERE resource_id = ANY(%(failed)s)"  # noqa: S608

    def timed(statement: str) -> tuple[float, list]:
        timings, rows = [], []
        # As the application runs it (incident_impact_refresh): in a transaction, hash joins.
        with transaction.atomic(), connection.cursor() as cursor, paths.bulk_plan(cursor):
            for _ in range(runs):
                started = time.perf_counter()
                cursor.execute(statement, {"failed": [cable.pk]})
                rows = cursor.fetchall()
                timings.append((time.perf_counter() - started) * 1000)
        return statistics.median(timings), rows

    query_ms, rows = timed(sql)
    floor_ms, floor_rows = timed(floor)
    customers = sum(row[3] for row in rows)
    print(
        f"impact query, {customers} customers behind {cable.name}: median {query_ms:.1f} ms "
        f"over {runs} runs; floor (index-only count of the {floor_rows[0][0]} path rows "
        f"through the cable, one statement): {floor_ms:.1f} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=10_000)
    parser.add_argument("--large", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=30)
    args = parser.parse_args()

    django_on_bench_database(DEFAULT_URL, INCIDENT_CONFIRMATION_SECONDS="60")
    from django.core.management import call_command

    from crm.models import Customer

    if not Customer.objects.exists():
        call_command("seed_demo", customers=50, skip_bill_run=True, verbosity=0)
    started = time.perf_counter()
    cable = build_network()
    if add_customers(args.customers):
        rebuild_paths()
    print(f"network and {args.customers} customers ready in {time.perf_counter() - started:.1f} s")
    storm(cable)
    impact_query(cable, args.runs)
    if args.large > args.customers:
        if add_customers(args.large):
            rebuild_paths()
        impact_query(cable, args.runs)


if __name__ == "__main__":
    main()
