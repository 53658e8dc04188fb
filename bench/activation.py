"""Activation throughput: 5G, fibre and VPN service orders completed per second, lab network
at zero latency, and where one order's time goes.

    .venv/bin/python bench/activation.py [--orders 200] [--workers 2]

Uses DATABASE_URL (default postgres://postgres@127.0.0.1:5432/telco_bench_activation_v2) and
CELERY_BROKER_URL (default redis://127.0.0.1:6379/12). Seeds the demo operator (200 customers:
its catalog, gNBs, OLTs with PON ports, site routers as BNG and PE), starts a lab network
(`manage.py labnetd`, RESTCONF element servers, zero latency) and N `celery -A telco worker`
processes (one process each, as workers on N machines would be). The workers keep their
database connection from one task to the next (`conn_max_age` on their DATABASE_URL, as a
production worker's should): opening a PostgreSQL connection for every order took 25-35 ms
on this machine under load, where one short statement takes 1 ms.

Per technology (5G slice 100Mbps; fibre 500Mbps; IP VPN over two sites, 50Mbps each) the
workers start and wait, the orders are submitted the way TMF641 does
(`orders.services.service_order_submit`) in one transaction, so that they reach the workers
together, and the run is timed from the first order picked up to the last completed (the
orders' own start and completion times). Beside it, the CPU time an order cost while they ran,
per process: the workers, PostgreSQL (the backends serving the bench's database, so other
databases' work on a shared machine is left out) and the lab's element server; with 2 cores,
2000 ms / that total is the ceiling of orders/s.

Then one order of each, run inline in this process (no Celery): its queries, the time spent in
SQL, its RESTCONF calls and the time they alone take (the floor of a network-bound workflow:
the element round trips it cannot avoid), so the ratio says how much is our own overhead.
"""

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import django_on_bench_database


def _lab_network_start() -> subprocess.Popen:
    """`manage.py labnetd` on a free port at zero latency with a journal of its own; the
    workers started after this find it through LABNET_URL."""
    from django.conf import settings

    from inventory.network.labclient import LabControl, LabUnreachable

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    journal = Path(tempfile.mkdtemp()) / "labnet.jsonl"
    lab = subprocess.Popen(
        [sys.executable, "manage.py", "labnetd", "--port", str(port), "--state-file", journal],
        env={**os.environ, "LABNET_LATENCY_MS": "0"},
        stdout=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    os.environ["LABNET_URL"] = url  # for the workers
    settings.LABNET_URL = url  # for the orders run inline here
    # A minute: on a loaded machine the command's start (Django set up) took more than 10 s.
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            LabControl(url, timeout=1).elements()
            return lab
        except LabUnreachable:
            time.sleep(0.1)
    lab.kill()
    raise SystemExit("the lab network did not start")


TECHNOLOGIES = ("5G", "fibre", "VPN")


def _item_requests(count: int) -> dict:
    """`count` TMF641 add items per technology; a VPN joins two sites with a PE each, the
    orders spread over the sites (each PE has 20 access ports)."""
    from catalog.models import ProductOffering, ServiceSpecification
    from inventory import services as inventory_services
    from inventory.models import Site
    from orders.services import ItemRequest

    def add(specification, characteristics):
        return ItemRequest("1", "add", str(specification.pk), characteristics)

    five_g = ServiceSpecification.objects.get(name="5G Slice Service")
    fibre = ServiceSpecification.objects.get(name="FTTH Access Service")
    vpn = ProductOffering.objects.get(name="Enterprise VPN")
    vpn_specification = vpn.product_specification.service_specifications.get()
    sites = sorted(inventory_services.edge_routers(Site.objects.values_list("pk", flat=True)))

    def site_pair(n: int) -> str:
        return f"{sites[(2 * n) % len(sites)]},{sites[(2 * n + 1) % len(sites)]}"

    return {
        "5G": [add(five_g, {"bandwidth": "100Mbps"})] * count,
        "fibre": [add(fibre, {"bandwidth": "500Mbps"})] * count,
        "VPN": [
            add(vpn_specification, {"bandwidth": "50Mbps", "sites": site_pair(n)})
            for n in range(count)
        ],
    }


def _submit(items: list) -> list[int]:
    from django.db import transaction

    from orders.services import service_order_submit

    order_ids = []
    for item in items:
        with transaction.atomic():
            order_ids.append(service_order_submit(items=[item]).pk)
    return order_ids


def _completed_within(order_ids: list[int], timeout: float) -> tuple[float, int]:
    """Wait until every order ended; (seconds from the first start to the last completion,
    failed orders)."""
    from django.db.models import Max, Min

    from orders.models import ServiceOrder

    orders = ServiceOrder.objects.filter(pk__in=order_ids)
    deadline = time.monotonic() + timeout
    while orders.exclude(state__in=["completed", "failed"]).exists():
        if time.monotonic() > deadline:
            raise SystemExit(f"orders still running after {timeout:.0f} s")
        time.sleep(0.2)
    span = orders.aggregate(first=Min("start_date"), last=Max("last_update"))
    return (span["last"] - span["first"]).total_seconds(), orders.filter(state="failed").count()


def _worker_environment() -> dict:
    """The workers' environment: this one, their DATABASE_URL keeping connections open (Django
    closes a connection after each task otherwise)."""
    url = os.environ["DATABASE_URL"]
    if "conn_max_age" not in url:
        url += ("&" if "?" in url else "?") + "conn_max_age=600"
    return {**os.environ, "DATABASE_URL": url}


def _cpu_seconds(pids: list[int]) -> dict[int, float]:
    """User and system CPU seconds each process has used so far (Linux /proc)."""
    used = {}
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
        except OSError:
            continue  # ended meanwhile
        used[pid] = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return used


def _postgres_pids() -> list[int]:
    """The PostgreSQL backends serving the bench's database (the workers', this process's):
    other databases' work on a shared machine is not counted."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database()"
            " AND backend_type = 'client backend'"
        )
        return [pid for (pid,) in cursor.fetchall()]


def _workers_ready(names: list[str], timeout: float = 120) -> None:
    from telco.celery import app

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        answered = {name.split("@")[0] for reply in app.control.ping(timeout=1) for name in reply}
        if set(names) <= answered:
            return
    raise SystemExit("the workers did not start")


def _throughput(items: dict, orders: int, workers: int, lab_pid: int) -> dict:
    from django.db import transaction

    from telco.celery import app, worker_command

    results = {}
    for technology in TECHNOLOGIES:
        app.control.purge()
        names = [f"bench{n}" for n in range(workers)]
        processes = [
            subprocess.Popen(worker_command(name), env=_worker_environment()) for name in names
        ]
        try:
            _workers_ready(names)
            # The workers' database backends start with their first task: PostgreSQL's
            # processes are listed again at the end.
            groups = {
                "workers": lambda processes=processes: [process.pid for process in processes],
                "PostgreSQL": _postgres_pids,
                "lab": lambda: [lab_pid],
            }
            with transaction.atomic():  # the tasks are sent when it commits, all at once
                order_ids = _submit(items[technology])
                before = {group: _cpu_seconds(pids()) for group, pids in groups.items()}
            seconds, failed = _completed_within(order_ids, timeout=600)
            cpu = {}
            for group, pids in groups.items():
                after = _cpu_seconds(pids())
                used = sum(value - before[group].get(pid, 0.0) for pid, value in after.items())
                cpu[group] = used / orders
        finally:
            for process in processes:
                process.terminate()
            for process in processes:
                process.wait(timeout=30)
        results[technology] = (orders / seconds, seconds, failed, cpu)
    return results


def _one_order_inline(item) -> dict:
    """Run one order in this process, counting its queries, SQL time and element calls."""
    from django.db import connection

    from inventory.network import restconf
    from orders.services import service_order_run

    sql = {"queries": 0, "seconds": 0.0}
    calls = {"count": 0, "seconds": 0.0}

    def timed_sql(execute, statement, params, many, context):
        started = time.perf_counter()
        try:
            return execute(statement, params, many, context)
        finally:
            sql["queries"] += 1
            sql["seconds"] += time.perf_counter() - started

    original_call = restconf.RestconfDriver._call

    def timed_call(self, *args, **kwargs):
        started = time.perf_counter()
        try:
            return original_call(self, *args, **kwargs)
        finally:
            calls["count"] += 1
            calls["seconds"] += time.perf_counter() - started

    restconf.RestconfDriver._call = timed_call
    try:
        with connection.execute_wrapper(timed_sql):
            started = time.perf_counter()
            order_id = _submit([item])[0]
            service_order_run(service_order_id=order_id)
            elapsed = time.perf_counter() - started
    finally:
        restconf.RestconfDriver._call = original_call
    return {"seconds": elapsed, "sql": sql, "calls": calls}


def _drop_database(database_url: str) -> None:
    import psycopg

    server, name = database_url.rsplit("/", 1)
    with psycopg.connect(f"{server}/postgres", autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=200)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()

    database_url = os.environ.get(
        "DATABASE_URL", "postgres://postgres@127.0.0.1:5432/telco_bench_activation_v2"
    )
    _drop_database(database_url)  # every run starts from the same demo network
    django_on_bench_database(
        database_url,
        CELERY_BROKER_URL="redis://127.0.0.1:6379/12",
    )
    from django.core.management import call_command
    from django.db import connection

    call_command("seed_demo", customers=200, skip_bill_run=True, verbosity=0)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")  # as autovacuum would, before the orders
    # The elements the workers configure, answering at once, in a process of their own (as
    # scripts/run serves them: a thread here would share this process's GIL).
    lab = _lab_network_start()
    try:
        items = _item_requests(args.orders + 1)
        results = _throughput(
            {t: items[t][:-1] for t in TECHNOLOGIES}, args.orders, args.workers, lab.pid
        )
        inline = {t: _one_order_inline(items[t][-1]) for t in TECHNOLOGIES}
    finally:
        lab.terminate()
        lab.wait(timeout=30)
    print(f"{args.orders} service orders per technology, {args.workers} workers, lab latency 0 ms")
    for technology, (rate, seconds, failed, cpu) in results.items():
        print(
            f"  {technology:6} {rate:6.1f} orders/s completed "
            f"({seconds:.1f} s from the first start to the last completion, {failed} failed)"
        )
        total = sum(cpu.values())
        print(
            "         CPU an order: "
            + ", ".join(f"{group} {value * 1000:.1f} ms" for group, value in cpu.items())
            + f"; {total * 1000:.1f} ms in all, so at most {os.cpu_count() / total:.0f} "
            f"orders/s on this machine's {os.cpu_count()} cores"
        )
    print("one order inline (no Celery): where the time goes")
    for technology, run in inline.items():
        sql, calls = run["sql"], run["calls"]
        print(
            f"  {technology:6} {run['seconds'] * 1000:6.1f} ms: {sql['queries']} queries "
            f"({sql['seconds'] * 1000:.1f} ms in SQL), {calls['count']} RESTCONF calls "
            f"({calls['seconds'] * 1000:.1f} ms: the floor, "
            f"{run['seconds'] / max(calls['seconds'], 1e-9):.0f} x it)"
        )
    print("goal: >= 50 orders/s completed on two workers at lab latency 0")


if __name__ == "__main__":
    main()
