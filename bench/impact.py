"""Impact query time: the customers behind one network element that carries 10,000 services.

    .venv/bin/python bench/impact.py [--services 10000] [--runs 30]

Uses DATABASE_URL (default postgres://postgres@127.0.0.1:5432/telco_bench_impact): creates and
migrates the database, seeds the demo operator (1,000 customers) as background, then builds one
hub element ("AGG-BENCH") with gNBs under it and N customers' 5G services bound to those gNBs and
their slices, as a fibre aggregation node would carry them. It times
`inventory.topology.services_depending_on([hub])` plus the distinct customer count (the question
"what breaks if this element fails?") and prints the median and p95 in ms.
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--services", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=30)
    args = parser.parse_args()

    django_on_bench_database(DEFAULT_URL)
    from django.core.management import call_command
    from django.db import connection

    from crm.models import Customer
    from inventory.topology import services_depending_on

    if not Customer.objects.exists():
        call_command("seed_demo", customers=1000, skip_bill_run=True, verbosity=0)
    hub = build_hub(args.services)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")

    timings, services, customers = [], 0, 0
    for _ in range(args.runs):
        started = time.perf_counter()
        impacted = services_depending_on([hub.pk])
        services = impacted.count()
        customers = Customer.objects.filter(products__services__in=impacted).distinct().count()
        timings.append((time.perf_counter() - started) * 1000)
    timings.sort()
    p95 = timings[max(0, int(len(timings) * 0.95) - 1)]
    print(f"element {hub.name}: {services} services, {customers} customers impacted")
    print(
        f"impact query ({args.runs} runs): median {statistics.median(timings):.1f} ms, "
        f"p95 {p95:.1f} ms"
    )


if __name__ == "__main__":
    main()
