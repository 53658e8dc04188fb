"""Activation throughput: service orders completed per second, lab network at zero latency.

    .venv/bin/python bench/activation.py [--orders 200] [--workers 2]

Uses DATABASE_URL (default postgres://postgres@127.0.0.1:5432/telco_bench_activation) and
CELERY_BROKER_URL (default redis://127.0.0.1:6379/12). Seeds the demo operator (200 customers)
for its catalog and gNBs, starts N `celery -A telco worker` processes (one process each, as two
workers on two machines would be) against a lab network (`manage.py labnetd`, RESTCONF element
servers) at zero latency, submits the service orders the way
TMF641 does (`orders.services.service_order_submit`, 5G slice, 100Mbps), and times until every
order is completed. Prints orders per second and the time to the first and the last completion.
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
    os.environ["LABNET_URL"] = url
    for _ in range(100):
        try:
            LabControl(url, timeout=1).elements()
            return lab
        except LabUnreachable:
            time.sleep(0.1)
    lab.kill()
    raise SystemExit("the lab network did not start")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=200)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()

    django_on_bench_database(
        "postgres://postgres@127.0.0.1:5432/telco_bench_activation",
        CELERY_BROKER_URL="redis://127.0.0.1:6379/12",
    )
    from django.core.management import call_command
    from django.db import transaction

    from catalog.models import ServiceSpecification
    from crm.models import Customer
    from orders.models import ServiceOrder
    from orders.services import ItemRequest, service_order_submit
    from telco.celery import app, worker_command

    if not Customer.objects.exists():
        call_command("seed_demo", customers=200, skip_bill_run=True, verbosity=0)
    app.control.purge()
    # The elements the workers configure, answering at once, in a process of their own (as
    # scripts/run serves them: a thread here would share this process's GIL with the polling).
    lab = _lab_network_start()
    workers = [subprocess.Popen(worker_command(f"bench{n}")) for n in range(args.workers)]
    try:
        while len(app.control.ping(timeout=1.0)) < args.workers:
            time.sleep(0.5)
        specification = ServiceSpecification.objects.get(name="5G Slice Service")
        item = ItemRequest(
            item_id="1",
            action="add",
            target_id=str(specification.pk),
            characteristics={"bandwidth": "100Mbps"},
        )
        started = time.perf_counter()
        order_ids = []
        for _ in range(args.orders):
            with transaction.atomic():
                order_ids.append(service_order_submit(items=[item]).pk)
        submitted = time.perf_counter() - started
        first = None
        while True:
            done = ServiceOrder.objects.filter(
                pk__in=order_ids, state__in=["completed", "failed"]
            ).count()
            if done and first is None:
                first = time.perf_counter() - started
            if done == len(order_ids):
                break
            time.sleep(0.05)
        elapsed = time.perf_counter() - started
        failed = ServiceOrder.objects.filter(pk__in=order_ids, state="failed").count()
    finally:
        for worker in workers:
            worker.terminate()
        for worker in workers:
            worker.wait(timeout=30)
        lab.terminate()
        lab.wait(timeout=30)
    print(
        f"{args.orders} service orders, {args.workers} workers, lab latency 0 ms, {failed} failed"
    )
    print(
        f"submitted in {submitted:.1f} s; first completed after {first:.2f} s, "
        f"all after {elapsed:.1f} s"
    )
    print(f"throughput: {args.orders / elapsed:.1f} service orders completed per second")


if __name__ == "__main__":
    main()
