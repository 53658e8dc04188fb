"""Customer-search latency on a seeded database: median and p95 over ~200 realistic searches.

    .venv/bin/python bench/customer_search.py [--customers 100000] [--searches 200]

Uses DATABASE_URL (default postgres://postgres@127.0.0.1:5432/telco_bench): creates the
database if missing, migrates it, seeds it with `seed_demo --skip-bill-run` when it holds fewer
customers than asked (about 80 s for 100,000), then times the agent portal's search
(`crm.portal_queries.search_customers`: name, email, phone, account number, MSISDN, service
id, exact hits ranked first, 25 results) and shows which indexes the plans use.
"""

import argparse
import random
import re
import statistics
import time

from common import django_on_bench_database

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/telco_bench"
RESULTS = 25


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--searches", type=int, default=200)
    parser.add_argument("--seed", type=int, default=7, help="Random seed for picking queries.")
    args = parser.parse_args()

    django_on_bench_database(DEFAULT_URL)
    from django.core.management import call_command
    from django.db import connection

    from crm.models import Customer
    from inventory import demo_network

    have = Customer.objects.count()
    if have < args.customers:
        print(f"seeding: {have} customers, want {args.customers}", flush=True)
        call_command("seed_demo", customers=args.customers, skip_bill_run=True)
    demo_network.ensure_mobile_numbers()  # databases seeded before numbers were bound
    with connection.cursor() as cursor:
        cursor.execute(
            "ANALYZE crm_party, crm_customer, crm_billingaccount, inventory_resource,"
            " inventory_serviceresource, inventory_service"
        )

    queries = realistic_queries(random.Random(args.seed), args.searches)
    run(queries[:10])  # warm the connection and the caches
    latencies = run(queries)
    kinds: dict[str, list[float]] = {}
    for (kind, _query), ms in zip(queries, latencies, strict=True):
        kinds.setdefault(kind, []).append(ms)

    print(f"\n{connection.vendor}, {Customer.objects.count():,} customers, {len(queries)} searches")
    print(f"  all            median {median(latencies):7.2f} ms   p95 {p95(latencies):7.2f} ms")
    for kind, values in kinds.items():
        print(f"  {kind:14} median {median(values):7.2f} ms   p95 {p95(values):7.2f} ms")
    print("\nindexes in the plans:")
    for kind, query in first_of_each(queries):
        print(f"  {kind:14} {query!r:24} {', '.join(plan_indexes(query)) or 'NO INDEX'}")


def realistic_queries(rng: random.Random, n: int) -> list[tuple[str, str]]:
    """Surnames, partial emails, phone fragments, account numbers, MSISDNs (with and without
    +) and service ids drawn from the data."""
    from catalog.choices import ResourceKind
    from crm.models import BillingAccount, Party
    from inventory.models import Service, ServiceResource

    parties = list(
        Party.objects.exclude(email="").order_by("?").values("family_name", "email", "phone")[:n]
    )
    accounts = list(
        BillingAccount.objects.order_by("?").values_list("account_number", flat=True)[:n]
    )
    numbers = list(
        ServiceResource.objects.filter(resource__resource_kind=ResourceKind.MSISDN)
        .order_by("?")
        .values_list("resource__value", flat=True)[:n]
    )
    service_ids = list(
        Service.objects.filter(product__isnull=False).order_by("?").values_list("pk", flat=True)[:n]
    )
    kinds = ("surname", "email", "phone", "account", "msisdn", "service id")
    queries = []
    for i in range(n):
        party = parties[i % len(parties)]
        kind = kinds[i % len(kinds)]
        if kind == "surname":
            query = party["family_name"] or party["email"].split("@")[0][:6]
        elif kind == "email":
            local = party["email"].split("@")[0]
            query = local[: max(6, len(local) - rng.randint(0, 4))]
        elif kind == "phone":
            query = party["phone"][-rng.randint(6, 9) :]
        elif kind == "account":
            account = accounts[i % len(accounts)]
            query = account if rng.random() < 0.5 else account[-rng.randint(6, 8) :]
        elif kind == "msisdn":
            number = numbers[i % len(numbers)]
            query = f"+{number}" if rng.random() < 0.5 else number
        else:
            query = str(service_ids[i % len(service_ids)])
        queries.append((kind, query))
    return queries


def run(queries: list[tuple[str, str]]) -> list[float]:
    from crm.portal_queries import search_customers

    latencies = []
    for _kind, query in queries:
        started = time.perf_counter()
        search_customers(query, limit=RESULTS)
        latencies.append((time.perf_counter() - started) * 1000)
    return latencies


def first_of_each(queries: list[tuple[str, str]]) -> list[tuple[str, str]]:
    seen: dict[str, str] = {}
    for kind, query in queries:
        seen.setdefault(kind, query)
    return list(seen.items())


def plan_indexes(query: str) -> list[str]:
    from crm.portal_queries import ranked_customer_search

    plan = ranked_customer_search(query)[:RESULTS].explain()
    used = re.findall(
        r"(?:Bitmap Index Scan on|Index Scan using|Index Only Scan using) (\w+)", plan
    )
    scans = re.findall(r"Seq Scan on (\w+)", plan)
    return sorted(set(used)) + [f"SEQ SCAN {table}" for table in sorted(set(scans))]


def median(values: list[float]) -> float:
    return statistics.median(values)


def p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[94]


if __name__ == "__main__":
    main()
