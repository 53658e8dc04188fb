"""Product-order intake through the TMF622 API: orders accepted per second, request latency.

    .venv/bin/python bench/order_intake.py [--orders 300] [--clients 4] [--web-workers 2]

Uses DATABASE_URL (default postgres://postgres@127.0.0.1:5432/telco_bench_order_intake) and
CELERY_BROKER_URL (default redis://127.0.0.1:6379/13). Seeds the demo operator (200 customers)
when the database has no customer, for its catalog, customers and gNBs; starts gunicorn
(`--web-workers` sync processes, as production serves the API) and POSTs N valid 5G Premium
orders to `/tmf-api/productOrderingManagement/v4/productOrder` from `--clients` concurrent
keep-alive HTTP clients, as an agent with a token. Every answer must be `201 acknowledged`.

Intake only: no Celery worker runs, so activation is not measured; each accepted order's task
is enqueued on commit (one Redis push inside the request, as in production) and the queue is
purged afterwards. Prints orders accepted per second and the latency median and p95.
"""

import argparse
import http.client
import json
import os
import socket
import statistics
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from io import StringIO

from common import ROOT, django_on_bench_database

ORDERS_PATH = "/tmf-api/productOrderingManagement/v4/productOrder"
BANDWIDTHS = ("100Mbps", "500Mbps", "1Gbps")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=300)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--web-workers", type=int, default=2)
    args = parser.parse_args()

    django_on_bench_database(
        "postgres://postgres@127.0.0.1:5432/telco_bench_order_intake",
        CELERY_BROKER_URL="redis://127.0.0.1:6379/13",
    )
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.db.models import Count

    from catalog.models import ProductOffering
    from crm.models import Customer
    from orders.models import ProductOrder
    from telco.auth import token_issue
    from telco.celery import app
    from telco.roles import AGENT, ensure_roles

    if not Customer.objects.exists():
        call_command("seed_demo", customers=200, skip_bill_run=True, verbosity=0, stdout=StringIO())
    groups = ensure_roles()
    user, _ = get_user_model().objects.get_or_create(username="bench-agent")
    user.groups.add(groups[AGENT])
    token = token_issue(user=user).key  # renewed when the one of an earlier run expired
    offering = ProductOffering.objects.get(name="5G Premium")
    customers = Customer.objects.annotate(account_count=Count("accounts")).filter(account_count=1)
    if offering.market_segments:
        customers = customers.filter(segment__in=offering.market_segments)
    customer_ids = list(customers.order_by("pk").values_list("pk", flat=True))
    bodies = [
        json.dumps(
            {
                "productOrderItem": [
                    {
                        "id": "1",
                        "action": "add",
                        "productOffering": {"id": str(offering.pk)},
                        "product": {
                            "productCharacteristic": [
                                {"name": "bandwidth", "value": BANDWIDTHS[n % len(BANDWIDTHS)]}
                            ]
                        },
                    }
                ],
                "relatedParty": [
                    {"id": str(customer_ids[n % len(customer_ids)]), "@referredType": "Customer"}
                ],
                "externalId": f"bench-{n}",
            }
        )
        for n in range(args.orders)
    ]
    before = ProductOrder.objects.count()

    port = _free_port()
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
        env={**os.environ, "PYTHONWARNINGS": "ignore:No directory at:UserWarning"},
    )
    try:
        _wait_listening(port)
        headers = {"Authorization": f"Token {token}", "Content-Type": "application/json"}
        # Warm each web worker (imports, connections) before timing.
        _post_all(port, headers, bodies[: args.clients * 2], args.clients)
        started = time.perf_counter()
        results = _post_all(port, headers, bodies[args.clients * 2 :], args.clients)
        elapsed = time.perf_counter() - started
    finally:
        server.terminate()
        server.wait(timeout=30)
        app.control.purge()

    refused = [(status, body) for status, body, _ in results if status != 201]
    if refused:
        status, body = refused[0]
        sys.exit(f"{len(refused)} orders refused; first: {status} {body[:300]}")
    latencies = sorted(ms for _, _, ms in results)
    accepted = ProductOrder.objects.count() - before
    assert accepted == args.orders, (accepted, args.orders)
    print(
        f"{len(results)} product orders (+{args.clients * 2} warm-up) through TMF622, "
        f"{args.clients} clients, gunicorn {args.web_workers} workers, PostgreSQL, Redis"
    )
    print(f"throughput: {len(results) / elapsed:.1f} orders accepted per second")
    print(
        f"latency: median {statistics.median(latencies):.1f} ms, "
        f"p95 {latencies[int(0.95 * (len(latencies) - 1))]:.1f} ms, max {latencies[-1]:.1f} ms"
    )


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _wait_listening(port: int, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.2)
    sys.exit("gunicorn did not start")


def _post_all(port: int, headers: dict, bodies: list[str], clients: int) -> list:
    """POST every body, `clients` at a time, each client on its own keep-alive connection."""
    shares = [bodies[n::clients] for n in range(clients)]

    def client(share: list[str]) -> list[tuple[int, str, float]]:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        results = []
        for body in share:
            sent = time.perf_counter()
            connection.request("POST", ORDERS_PATH, body=body, headers=headers)
            response = connection.getresponse()
            answer = response.read().decode()
            results.append((response.status, answer, (time.perf_counter() - sent) * 1000))
        connection.close()
        return results

    with ThreadPoolExecutor(max_workers=clients) as pool:
        return [result for share in pool.map(client, shares) for result in share]


if __name__ == "__main__":
    main()
