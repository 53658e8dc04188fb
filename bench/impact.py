"""Impact query time: the customers behind one element, and behind one cable, each carrying
10,000 services.

    .venv/bin/python bench/impact.py [--services 10000] [--runs 30]

Uses DATABASE_URL (default postgres://postgres@127.0.0.1:5432/telco_bench_impact): creates and
migrates the database, seeds the demo operator (1,000 customers) as background, then builds one
aggregation router ("AGG-BENCH") with 40 gNBs uplinked to it by fibre links that all run in one
cable ("CABLE-BENCH", in a duct), the router uplinked to a core router, and N customers' 5G
services bound to those gNBs and their slices. It times two questions, each as
`inventory.selectors.impact_summary` answers it (impacted services, distinct customers, customers
by segment, resources down) plus the first page of 25 impacted services:

- "what breaks if this element fails?" for the aggregation router;
- "what breaks if this cable is cut?" for the cable: links in it, the gNBs downstream of those
  links and their slices, the services bound there, their customers.

The connection runs with `jit = off`, as the application's do (telco/settings.py): the recursive
CTEs' cost estimates are large enough to trigger JIT compilation, which costs more than the query.
"""

import argparse
import statistics
import time

from common import django_on_bench_database

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/telco_bench_impact"
BATCH = 5000


def build_hub(services: int):
    from catalog.models import ProductOffering, ServiceSpecification
    from crm.models import BillingAccount, Customer, Party
    from inventory.models import ProductInstance, Resource, Service, ServiceResource, Site

    hub = Resource.objects.filter(name="AGG-BENCH").first()
    if hub is not None:
        return hub
    site = Site.objects.order_by("id").first()
    hub = Resource.objects.create(
        name="AGG-BENCH",
        resource_kind="router",
        category="physical",
        site=site,
        capacity_mbps=10**7,
    )
    gnbs = Resource.objects.bulk_create(
        [
            Resource(
                name=f"GNB-BENCH-{n:03d}",
                resource_kind="gnb",
                category="physical",
                site=site,
                parent=hub,
                capacity_mbps=10**7,
            )
            for n in range(40)
        ]
    )
    spec = ServiceSpecification.objects.get(name="5G Slice Service")
    offering = ProductOffering.objects.get(name="5G Premium")
    for start in range(0, services, BATCH):
        numbers = range(start, min(start + BATCH, services))
        parties = Party.objects.bulk_create(
            [
                Party(kind="individual", given_name="Bench", family_name=f"Customer{n}")
                for n in numbers
            ]
        )
        customers = Customer.objects.bulk_create(
            [
                Customer(party=p, name=f"Bench Customer{n}")
                for n, p in zip(numbers, parties, strict=True)
            ]
        )
        accounts = BillingAccount.objects.bulk_create(
            [
                BillingAccount(customer=c, account_number=f"BENCH{n:07d}", name=c.name)
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
        cfs = Service.objects.bulk_create(
            [
                Service(
                    name=f"5G for {p.pk}",
                    category="CFS",
                    service_specification=spec,
                    product=p,
                    state="active",
                )
                for p in products
            ]
        )
        slices = Resource.objects.bulk_create(
            [
                Resource(
                    name=f"SLICE-BENCH-{s.pk}",
                    resource_kind="slice",
                    category="logical",
                    parent=gnbs[n % len(gnbs)],
                )
                for n, s in zip(numbers, cfs, strict=True)
            ]
        )
        bindings = []
        for n, service, slice_resource in zip(numbers, cfs, slices, strict=True):
            bindings.append(
                ServiceResource(
                    service=service, resource=gnbs[n % len(gnbs)], capacity_mbps=100, state="active"
                )
            )
            bindings.append(
                ServiceResource(
                    service=service, resource=slice_resource, is_exclusive=True, state="active"
                )
            )
        ServiceResource.objects.bulk_create(bindings)
    return hub


def build_cable(hub):
    """Detach the gNBs from the hub and uplink each by a fibre link in one cable instead."""
    from inventory.demo_network import csv_text
    from inventory.models import Resource
    from inventory.network_import import network_import

    cable = Resource.objects.filter(name="CABLE-BENCH").first()
    if cable is not None:
        return cable
    gnbs = list(Resource.objects.filter(name__startswith="GNB-BENCH-").order_by("name"))
    Resource.objects.filter(pk__in=[g.pk for g in gnbs]).update(parent=None)
    core = Resource.objects.create(
        name="CORE-BENCH",
        resource_kind="router",
        category="physical",
        site=hub.site,
        capacity_mbps=10**7,
    )
    imports = [
        ("cards", ["equipment", "slot"], [[e.name, "0"] for e in (*gnbs, hub, core)]),
        (
            "ports",
            ["parent", "position", "capacity_mbps"],
            [[f"{g.name}/0", "1", 25_000] for g in gnbs]
            + [["AGG-BENCH/0", str(n), 25_000] for n in range(1, len(gnbs) + 1)]
            + [["AGG-BENCH/0", "100", 400_000], ["CORE-BENCH/0", "1", 400_000]],
        ),
        ("ducts", ["name"], [["DUCT-BENCH"]]),
        ("cables", ["name", "duct"], [["CABLE-BENCH", "DUCT-BENCH"], ["TRUNK-BENCH", ""]]),
        (
            "links",
            ["name", "a_end", "z_end", "cable"],
            [
                [f"{g.name}-UPLINK", f"{g.name}/0/1", f"AGG-BENCH/0/{n}", "CABLE-BENCH"]
                for n, g in enumerate(gnbs, start=1)
            ]
            + [["AGG-BENCH-UPLINK", "AGG-BENCH/0/100", "CORE-BENCH/0/1", "TRUNK-BENCH"]],
        ),
    ]
    for kind, header, rows in imports:
        network_import(kind=kind, text=csv_text(header, rows))
    return Resource.objects.get(name="CABLE-BENCH")


def timed(question, runs: int) -> tuple[list[float], dict]:
    timings, summary = [], {}
    for _ in range(runs):
        started = time.perf_counter()
        summary = question()
        timings.append((time.perf_counter() - started) * 1000)
    timings.sort()
    return timings, summary


def report(label: str, timings: list[float], summary: dict) -> None:
    p95 = timings[max(0, int(len(timings) * 0.95) - 1)]
    print(
        f"{label}: {summary['service_count']} services, {summary['customer_count']} customers"
        f" ({summary['resource_count']} resources down): median "
        f"{statistics.median(timings):.1f} ms, p95 {p95:.1f} ms over {len(timings)} runs"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--services", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=30)
    args = parser.parse_args()

    django_on_bench_database(DEFAULT_URL)
    from django.core.management import call_command
    from django.db import connection

    from crm.models import Customer
    from inventory.selectors import impact_summary

    if not Customer.objects.exists():
        call_command("seed_demo", customers=1000, skip_bill_run=True, verbosity=0)
    hub = build_hub(args.services)
    cable = build_cable(hub)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")

    def counts(resource_id: int):
        # Services, distinct customers (by segment) and resources down: one statement.
        return lambda: impact_summary([resource_id])

    def first_page(resource_id: int):
        # ...and the first page of impacted services the impact view lists under them.
        def question():
            summary = impact_summary([resource_id])
            page = summary["services"].select_related("product__customer").order_by("pk")[:25]
            return {**summary, "services": list(page)}

        return question

    # The connection runs as the application's do, with jit=off (telco/settings.py).
    for name, resource in (("element", hub), ("cable", cable)):
        report(f"{name} {resource.name}, counts", *timed(counts(resource.pk), args.runs))
        report(
            f"{name} {resource.name}, counts + first page",
            *timed(first_page(resource.pk), args.runs),
        )


if __name__ == "__main__":
    main()
