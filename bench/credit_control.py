"""Online charging: credit-control requests per second at 100 concurrent sessions, with latency.

    .venv/bin/python bench/credit_control.py [--sessions 100] [--clients 4] [--requests 30000]
        [--updates 20] [--chunks 10] [--durable-reservations]

Uses DATABASE_URL (default postgres://postgres@127.0.0.1:5432/telco_bench_credit_control).
Makes `--sessions` prepaid products (one balance each, deep enough never to run dry) and keeps
that many Gy sessions open at all times: each session sends an initial request, `--updates`
updates (1 MB used, 1 MB asked for) and a terminate, then the next session takes its place.
`--clients` threads, each with its own database connection, carry the requests of the
sessions (a Diameter front end's worker pool): 100 sessions interleave over them. Each request
is one call of the credit-control service (billing.services.charging), which is what the
HTTP view or a Diameter front end calls.

Updates within the quota are counted in Redis (CHARGING_STORE_ENABLED, the cache's server:
CACHE_URL, default redis://127.0.0.1:6379/13 here); reservations and terminations commit
asynchronously unless `--durable-reservations` (CHARGING_DURABLE_RESERVATIONS).

Prints requests/s, p50/p95/p99 latency and, in the same run, the floor: the same number of
bare single-row UPDATEs, each committed (durably), by the same number of threads.
"""

import argparse
import statistics
import threading
import time
from decimal import Decimal

from common import django_on_bench_database

FLOOR_TABLE = "bench_credit_floor"


def prepare(sessions: int) -> list[int]:
    """`sessions` active prepaid products with deep balances; their ids."""
    from billing.models import ChargingSession, PrepaidBucket, PrepaidPlan
    from billing.services import prepaid_provision
    from catalog.tests.factories import ProductOfferingFactory
    from crm.tests.factories import BillingAccountFactory
    from inventory.models import ProductInstance

    plan = PrepaidPlan.objects.select_related("offering").first()
    if plan is None:
        plan = PrepaidPlan.objects.create(
            offering=ProductOfferingFactory(name="Bench prepaid", lifecycle_status="launched"),
            data_mb=Decimal(10**12),
        )
    products = list(
        ProductInstance.objects.filter(product_offering=plan.offering).values_list("pk", flat=True)
    )
    for _ in range(sessions - len(products)):
        account = BillingAccountFactory()
        product = ProductInstance.objects.create(
            customer=account.customer,
            billing_account=account,
            product_offering=plan.offering,
            name="Bench prepaid",
            status="active",
        )
        prepaid_provision(product=product)
        products.append(product.pk)
    # Each run starts from full balances and no sessions.
    ChargingSession.objects.filter(state="active").update(state="terminated")
    PrepaidBucket.objects.filter(product_id__in=products, usage_type="data").update(
        remaining=Decimal(10**12), reserved=0
    )
    return products[:sessions]


def run_sessions(products: list[int], clients: int, requests: int, updates: int, tag: str):
    """Drive the sessions from `clients` threads until `requests` requests were answered."""
    from django.db import connection

    from billing.services import charging

    latencies: list[list[float]] = [[] for _ in range(clients)]
    refused = [0] * clients
    per_client = requests // clients
    barrier = threading.Barrier(clients + 1)

    def client(number: int) -> None:
        mine = products[number::clients]
        # Each session: position in its life (0 = initial, 1..updates, then terminate).
        state = dict.fromkeys(mine, 0)
        serial = dict.fromkeys(mine, 0)
        timings = latencies[number]
        barrier.wait()
        done = 0
        while done < per_client:
            for product in mine:
                step = state[product]
                name = f"{tag}-{product}-{serial[product]}"
                began = time.perf_counter()
                if step == 0:
                    answer = charging.credit_control_initial(
                        session_id=name, product_id=product, usage_type="data", requested_units=1
                    )
                elif step <= updates:
                    answer = charging.credit_control_update(
                        session_id=name, used_units=1, requested_units=1
                    )
                else:
                    answer = charging.credit_control_terminate(session_id=name, used_units=1)
                timings.append(time.perf_counter() - began)
                refused[number] += answer.result_code != charging.SUCCESS and step <= updates
                if step > updates:
                    state[product], serial[product] = 0, serial[product] + 1
                else:
                    state[product] = step + 1
                done += 1
        connection.close()

    threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
    for thread in threads:
        thread.start()
    barrier.wait()
    started = time.perf_counter()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    return elapsed, [value for timings in latencies for value in timings], sum(refused)


def run_floor(rows: int, clients: int, requests: int):
    """The same number of bare single-row UPDATEs, each its own durable commit."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {FLOOR_TABLE}")
        cursor.execute(f"CREATE TABLE {FLOOR_TABLE} (id int PRIMARY KEY, used numeric(18,4))")
        cursor.execute(
            f"INSERT INTO {FLOOR_TABLE} SELECT n, 0 FROM generate_series(1, %s) n",  # noqa: S608
            [rows],
        )
    latencies: list[list[float]] = [[] for _ in range(clients)]
    per_client = requests // clients
    barrier = threading.Barrier(clients + 1)

    def client(number: int) -> None:
        timings = latencies[number]
        ids = list(range(number + 1, rows + 1, clients)) or [1]
        barrier.wait()
        with connection.cursor() as cursor:
            for n in range(per_client):
                began = time.perf_counter()
                cursor.execute(
                    f"UPDATE {FLOOR_TABLE} SET used = used + 1 WHERE id = %s",  # noqa: S608
                    [ids[n % len(ids)]],
                )
                timings.append(time.perf_counter() - began)
        connection.close()

    threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
    for thread in threads:
        thread.start()
    barrier.wait()
    started = time.perf_counter()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE {FLOOR_TABLE}")
    return elapsed, [value for timings in latencies for value in timings]


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * share))] * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=100)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--requests", type=int, default=30000)
    parser.add_argument("--updates", type=int, default=20)
    parser.add_argument("--chunks", type=int, default=10)
    parser.add_argument("--durable-reservations", action="store_true")
    args = parser.parse_args()

    django_on_bench_database(
        "postgres://postgres@127.0.0.1:5432/telco_bench_credit_control",
        CHARGING_QUOTA_CHUNKS=str(args.chunks),
        CHARGING_DURABLE_RESERVATIONS=str(args.durable_reservations).lower(),
        CACHE_URL="redis://127.0.0.1:6379/13",
    )
    from django.conf import settings

    from billing.services import charging_store

    products = prepare(args.sessions)
    print(
        f"{args.sessions} concurrent sessions over {args.clients} client threads, "
        f"{args.updates} updates a session, quota chunk {settings.CHARGING_QUOTA_CHUNKS}x, "
        f"counts in {'Redis' if charging_store.is_enabled() else 'the session row'}, "
        f"reservations {'durable' if settings.CHARGING_DURABLE_RESERVATIONS else 'async'}"
    )
    run_sessions(products, args.clients, min(args.requests, 2000), args.updates, f"w{time.time()}")
    elapsed, latencies, refused = run_sessions(
        products, args.clients, args.requests, args.updates, f"r{time.time()}"
    )
    rate = len(latencies) / elapsed
    print(
        f"credit control: {len(latencies)} requests in {elapsed:.2f} s = {rate:,.0f} requests/s; "
        f"p50 {percentile(latencies, 0.5):.2f} ms, p95 {percentile(latencies, 0.95):.2f} ms, "
        f"p99 {percentile(latencies, 0.99):.2f} ms; refused {refused}"
    )
    floor_elapsed, floor_latencies = run_floor(args.sessions, args.clients, args.requests)
    floor_rate = len(floor_latencies) / floor_elapsed
    print(
        f"floor (bare single-row UPDATE, durable commit each): {len(floor_latencies)} in "
        f"{floor_elapsed:.2f} s = {floor_rate:,.0f}/s; p50 "
        f"{percentile(floor_latencies, 0.5):.2f} ms, p95 {percentile(floor_latencies, 0.95):.2f} ms"
    )
    print(
        f"ratio: {rate / floor_rate:.2f}x the floor's rate; "
        f"mean latency {statistics.fmean(latencies) * 1000:.2f} ms"
    )


if __name__ == "__main__":
    main()
