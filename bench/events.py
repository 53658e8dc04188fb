"""Event delivery (telco.events): events/s posted to one local listener by one Celery worker, and
the delay from a change's commit to its event's arrival (p50, p95), beside the floor: raw HTTP
POSTs/s of the same bodies to the same listener from one process, measured in the same run.

    .venv/bin/python bench/events.py [--events 5000] [--samples 200]

Uses DATABASE_URL (default postgres://postgres@127.0.0.1:5432/telco_bench_events) and
CELERY_BROKER_URL (default redis://127.0.0.1:6379/14); creates and migrates the database (the
outbox triggers are installed after migrate), stores `--events` alarms on one element, and starts
the listener (an HTTP/1.1 server in a thread of this process) and one worker process.

- write cost: one UPDATE of every alarm, with no listener (the triggers' one check per statement)
  and with a listener (one outbox row per alarm, same transaction);
- throughput: that second UPDATE's events, from its commit to the last one received;
- delay: `--samples` changes of one alarm each, one commit each, 20 ms apart; the delay is from
  the commit (in this process) to the arrival at the listener (same machine, same clock).
"""

import argparse
import json
import statistics
import subprocess
import threading
import time
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from common import django_on_bench_database

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/telco_bench_events"
RAISED_AT = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)


class Received:
    def __init__(self):
        self.lock = threading.Lock()
        self.arrivals: list[tuple[float, dict]] = []

    def add(self, body: dict) -> None:
        with self.lock:
            self.arrivals.append((time.time(), body))

    def count(self) -> int:
        with self.lock:
            return len(self.arrivals)


def start_listener(received: Received) -> tuple[ThreadingHTTPServer, str]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as a real receiver would

        def do_POST(self):  # noqa: N802 - http.server's name
            body = self.rfile.read(int(self.headers["Content-Length"]))
            if self.path.startswith("/hooks/"):
                received.add(json.loads(body))
            self.send_response(204)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}"


def seed_alarms(count: int) -> list[int]:
    from assurance.models import Alarm
    from assurance.services import AlarmReport, alarms_ingest
    from assurance.services import ingest as ingest_module
    from inventory.models import Resource

    Alarm.objects.all().delete()
    element, _ = Resource.objects.get_or_create(
        name="BENCH-EVENTS-NE",
        defaults={"resource_kind": "gnb", "category": "physical", "capacity_mbps": 1000},
    )
    reports = [
        AlarmReport(
            source_system_id="bench-ems",
            alarmed_object_id=element.name,
            alarm_type="communicationsAlarm",
            probable_cause=f"cause-{n}",
            perceived_severity="major",
            alarm_raised_time=RAISED_AT,
        )
        for n in range(count)
    ]
    correlate = ingest_module.alarms_correlate
    # ingest is not what is measured
    ingest_module.alarms_correlate = lambda alarm_ids, **guess: None
    try:
        for start in range(0, count, 5000):
            alarms_ingest(reports[start : start + 5000], by="bench")
    finally:
        ingest_module.alarms_correlate = correlate
    return list(Alarm.objects.order_by("id").values_list("id", flat=True))


def update_all(ids: list[int], details: str) -> float:
    from django.db import connection, transaction

    started = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "UPDATE assurance_alarm SET alarm_details = %s WHERE id = ANY(%s)", [details, ids]
        )
    return time.perf_counter() - started


def floor_posts(url: str, body: bytes, count: int) -> float:
    import requests

    session = requests.Session()
    started = time.perf_counter()
    for _ in range(count):
        session.post(f"{url}/floor", data=body, headers={"Content-Type": "application/json"})
    return count / (time.perf_counter() - started)


def wait_until(predicate, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.01)
    return False


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=5000)
    parser.add_argument("--samples", type=int, default=200)
    args = parser.parse_args()
    django_on_bench_database(DEFAULT_URL, CELERY_BROKER_URL="redis://127.0.0.1:6379/14")

    from django.db import transaction

    from telco.celery import app, worker_command
    from telco.events.models import EventListener, OutboxEvent
    from telco.events.registry import tmf_apis
    from telco.events.services import listener_register

    EventListener.objects.all().delete()
    OutboxEvent.objects.all().delete()
    ids = seed_alarms(args.events)
    received = Received()
    server, base_url = start_listener(received)

    app.control.purge()
    worker = subprocess.Popen(worker_command("bench-events"))
    try:
        if not wait_until(lambda: bool(app.control.ping(timeout=0.5)), 60):
            raise SystemExit("the worker did not start")

        unlistened = update_all(ids, "no listener")
        assert not OutboxEvent.objects.exists()
        listener_register(api=tmf_apis()["alarmManagement"], callback=f"{base_url}/hooks")

        # Throughput: one set-based change of every alarm, then its events.
        listened = update_all(ids, "listened")
        committed = time.time()
        if not wait_until(lambda: received.count() >= len(ids), 600):
            raise SystemExit(f"only {received.count()} of {len(ids)} events arrived")
        last_arrival = max(at for at, _ in received.arrivals)
        throughput = len(ids) / (last_arrival - committed)
        sample_body = json.dumps(received.arrivals[0][1]).encode()

        # Delay: one change, one commit, one event; 20 ms apart.
        from assurance.models import Alarm

        before = received.count()
        commits: dict[str, float] = {}
        for n in range(args.samples):
            alarm_id = ids[n % len(ids)]
            with transaction.atomic():
                Alarm.objects.filter(pk=alarm_id).update(alarm_details=f"sample {n}")
            commits[f"sample {n}"] = time.time()
            time.sleep(0.02)
        if not wait_until(lambda: received.count() >= before + args.samples, 120):
            raise SystemExit("the samples did not all arrive")
        delays = sorted(
            (at - commits[body["event"]["alarm"]["alarmDetails"]]) * 1000
            for at, body in received.arrivals[before:]
            if body["event"]["alarm"].get("alarmDetails") in commits
        )
    finally:
        worker.terminate()
        worker.wait(timeout=30)

    floor = floor_posts(base_url, sample_body, min(args.events, 5000))
    server.shutdown()
    p95 = delays[int(len(delays) * 0.95) - 1]
    print(f"{len(ids)} alarms; one local listener (HTTP/1.1 keep-alive); one worker (solo pool)")
    print(f"write, UPDATE of {len(ids)} rows, no listener:   {unlistened * 1000:8.1f} ms")
    print(f"write, UPDATE of {len(ids)} rows, listened:      {listened * 1000:8.1f} ms")
    print(f"delivered, commit to last event:               {throughput:8.0f} events/s")
    print(f"floor, raw POSTs of one event's body:          {floor:8.0f} POSTs/s")
    print(
        f"delay commit -> arrival, {len(delays)} single changes: p50 "
        f"{statistics.median(delays):.0f} ms, p95 {p95:.0f} ms, max {delays[-1]:.0f} ms"
    )


if __name__ == "__main__":
    main()
