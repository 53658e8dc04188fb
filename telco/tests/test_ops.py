"""Running it (telco.ops): /metrics (who may read it, request, Celery and business figures),
request ids through the logs and into a real worker's task, /health, production settings."""

import json
import logging
import os
import re
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest
import redis
from django.conf import settings
from django.test import Client

from assurance.models import Alarm, Incident
from billing.models import BillRun, RevenueCase, UsageEvent
from crm.tests.factories import BillingAccountFactory
from orders.models import ProductOrder, ServiceOrder
from telco import clock
from telco.celery import app, worker_command
from telco.ops.logging import JsonFormatter, RequestContextFilter

pytestmark = pytest.mark.django_db

METRICS_TOKEN = "scraper-token-0123456789"


def sample(text: str, name: str, **labels) -> float | None:
    """The value of one sample of the exposition (labels matched exactly), or None."""
    for line in text.splitlines():
        if not line.startswith(name + "{") and not line.startswith(name + " "):
            continue
        found = dict(re.findall(r'(\w+)="([^"]*)"', line.split("}")[0])) if "{" in line else {}
        if line.split("{")[0].split(" ")[0] == name and found == labels:
            return float(line.rsplit(" ", 1)[1])
    return None


@pytest.fixture
def scrape(settings):
    settings.METRICS_TOKEN = METRICS_TOKEN

    def read() -> str:
        response = Client().get("/metrics", HTTP_AUTHORIZATION=f"Bearer {METRICS_TOKEN}")
        assert response.status_code == 200
        assert response["Content-Type"].startswith("text/plain; version=")
        return response.content.decode()

    return read


def test_metrics_are_for_the_noc_admins_and_the_token(
    settings, agent_client, noc_client, admin_role_client
):
    settings.METRICS_TOKEN = METRICS_TOKEN
    anonymous = Client().get("/metrics")
    assert anonymous.status_code == 401
    assert anonymous.has_header("WWW-Authenticate")
    wrong = Client().get("/metrics", HTTP_AUTHORIZATION="Bearer wrong")
    assert wrong.status_code == 401
    assert wrong["WWW-Authenticate"] == 'Bearer realm="metrics"'
    assert agent_client.get("/metrics").status_code == 403
    assert noc_client.get("/metrics").status_code == 200
    assert admin_role_client.get("/metrics").status_code == 200
    token = Client().get("/metrics", HTTP_AUTHORIZATION=f"Bearer {METRICS_TOKEN}")
    assert token.status_code == 200
    assert b"telco_http_request_duration_seconds" in token.content
    settings.METRICS_TOKEN = ""  # no token configured: no bearer is accepted
    assert Client().get("/metrics", HTTP_AUTHORIZATION="Bearer ").status_code == 401


def test_request_metrics_by_route_not_by_path(noc_api, scrape):
    route = "/tmf-api/alarmManagement/v4/alarm/(?P<pk>[^/]+)/?"
    labels = {"method": "GET", "route": route, "status": "4xx"}
    before = sample(scrape(), "telco_http_request_duration_seconds_count", **labels) or 0
    for alarm_id in (987654, 987655):
        assert noc_api.get(f"/tmf-api/alarmManagement/v4/alarm/{alarm_id}").status_code == 404
    text = scrape()
    assert sample(text, "telco_http_request_duration_seconds_count", **labels) == before + 2
    bucket = {**labels, "le": "10.0"}
    assert sample(text, "telco_http_request_duration_seconds_bucket", **bucket) == before + 2
    assert "987654" not in text
    unmatched = {"method": "GET", "route": "<unmatched>", "status": "4xx"}
    noc_api.get("/no/such/page/12345")
    assert sample(scrape(), "telco_http_request_duration_seconds_count", **unmatched) >= 1


def test_business_figures_move_with_the_data(scrape, django_assert_num_queries):
    text = scrape()
    assert sample(text, "telco_product_orders_open", state="acknowledged") == 0
    assert sample(text, "telco_alarms_open", severity="critical") == 0
    assert sample(text, "telco_incidents_open") == 0
    assert sample(text, "telco_activations_completed_last_hour") == 0
    assert sample(text, "telco_usage_events_received", window="1m") == 0
    assert sample(text, "telco_revenue_cases_open", kind="activeNotBillable") == 0
    assert "telco_bill_run_accounts_done{" not in text

    now = clock.now()
    account = BillingAccountFactory()
    for state in ("acknowledged", "acknowledged", "inProgress", "completed"):
        ProductOrder.objects.create(customer=account.customer, billing_account=account, state=state)
    for minutes, state in ((30, "completed"), (20, "completed"), (10, "completed"), (5, "failed")):
        ServiceOrder.objects.create(
            state=state, order_date=now - timedelta(minutes=minutes), completion_date=now
        )
    # Completed two hours ago: outside the hour.
    ServiceOrder.objects.create(
        state="completed",
        order_date=now - timedelta(hours=3),
        completion_date=now - timedelta(hours=2),
    )
    for severity, state in (("critical", "raised"), ("critical", "raised"), ("minor", "cleared")):
        Alarm.objects.create(
            source_system_id="ems",
            alarmed_object_ref=f"olt-{severity}-{state}-{Alarm.objects.count()}",
            alarm_type="communicationsAlarm",
            perceived_severity=severity,
            probable_cause="lossOfSignal",
            state=state,
            reduction_key=f"key-{Alarm.objects.count()}",
            alarm_raised_time=now,
        )
    Incident.objects.create(name="fibre cut", state="inProgress", first_alarm_time=now)
    Incident.objects.create(name="old fault", state="resolved", first_alarm_time=now)
    # In order of arrival, as ids grow: ten minutes ago, three minutes ago, then three now.
    for minutes in (10, 3):
        UsageEvent.objects.create(
            status="rejected",
            rejection_reason="missingAttribute",
            received_at=now - timedelta(minutes=minutes),
        )
    UsageEvent.objects.bulk_create(
        [UsageEvent(status="rejected", rejection_reason="missingAttribute") for _ in range(3)]
    )
    run = BillRun.objects.create(as_of=now.date(), accounts_total=40, accounts_done=15)
    BillRun.objects.create(as_of=now.date(), state="completed", accounts_total=9, accounts_done=9)
    for number, state in enumerate(("open", "investigating", "resolved")):
        RevenueCase.objects.create(
            kind="activeNotBillable", fingerprint=f"leak-{number}", state=state, summary="leak"
        )

    # One query a figure (two for usage's windows), however many rows.
    with django_assert_num_queries(8):
        text = scrape()
    assert sample(text, "telco_product_orders_open", state="acknowledged") == 2
    assert sample(text, "telco_product_orders_open", state="inProgress") == 1
    assert sample(text, "telco_product_orders_open", state="completed") is None
    assert sample(text, "telco_activations_completed_last_hour") == 3
    assert sample(text, "telco_activation_seconds_last_hour", statistic="mean") == 1200
    assert sample(text, "telco_activation_seconds_last_hour", statistic="p50") == 1200
    assert sample(text, "telco_activation_seconds_last_hour", statistic="max") == 1800
    assert sample(text, "telco_alarms_open", severity="critical") == 2
    assert sample(text, "telco_alarms_open", severity="minor") == 0
    assert sample(text, "telco_incidents_open") == 1
    # The event received three minutes ago counts in five minutes, not in one.
    assert sample(text, "telco_usage_events_received", window="1m") == 3
    assert sample(text, "telco_usage_events_received", window="5m") == 4
    assert sample(text, "telco_bill_run_accounts_done", run=str(run.pk)) == 15
    assert sample(text, "telco_bill_run_accounts_total", run=str(run.pk)) == 40
    assert sample(text, "telco_revenue_cases_open", kind="activeNotBillable") == 2


class LinesHandler(logging.Handler):
    def __init__(self):
        super().__init__(logging.INFO)
        self.lines = []

    def emit(self, record):
        self.lines.append(self.format(record))


def test_request_id_round_trip_and_json_log_lines(client, agent_client, settings):
    settings.LOG_REQUESTS = True
    response = client.get("/health", HTTP_X_REQUEST_ID="lb-req-0001")
    assert response["X-Request-ID"] == "lb-req-0001"
    fresh = client.get("/health", HTTP_X_REQUEST_ID="bad id with spaces\n")
    assert re.fullmatch(r"[0-9a-f]{32}", fresh["X-Request-ID"])
    assert client.get("/health")["X-Request-ID"] != fresh["X-Request-ID"]

    # The console handler's filter and formatter, as LOG_FORMAT=json configures them.
    handler = LinesHandler()
    handler.addFilter(RequestContextFilter())
    handler.setFormatter(JsonFormatter())
    loggers = [logging.getLogger("telco.request"), logging.getLogger("django.request")]
    for logger in loggers:
        logger.addHandler(handler)
    try:
        client.get("/accounts/login/", HTTP_X_REQUEST_ID="lb-req-0002")
        agent_client.get("/portal/", HTTP_X_REQUEST_ID="lb-req-0003")
        client.get("/no/such/page", HTTP_X_REQUEST_ID="lb-req-0004")
    finally:
        for logger in loggers:
            logger.removeHandler(handler)
    line, signed_in, *not_found = [json.loads(text) for text in handler.lines]
    # Django's own "Not Found" line comes after the middleware let the request go: same id.
    assert {(each["logger"], each["request_id"]) for each in not_found} == {
        ("telco.request", "lb-req-0004"),
        ("django.request", "lb-req-0004"),
    }
    assert (signed_in["request_id"], signed_in["user"]) == ("lb-req-0003", "agent1")
    assert "user" not in line
    assert line["request_id"] == "lb-req-0002"
    assert line["level"] == "INFO"
    assert line["logger"] == "telco.request"
    assert line["message"] == "GET /accounts/login/ 200"
    assert (line["path"], line["method"], line["status"]) == ("/accounts/login/", "GET", 200)
    assert line["duration_ms"] >= 0
    assert line["time"].endswith("+00:00")


def test_csp_and_security_headers_on_a_page(agent_client):
    page = agent_client.get("/portal/")
    assert page.status_code == 200
    policy = page["Content-Security-Policy"]
    assert "default-src 'self'" in policy
    assert "script-src 'self';" in policy  # no inline script anywhere
    assert page["X-Frame-Options"] == "DENY"
    assert page["X-Content-Type-Options"] == "nosniff"
    docs = agent_client.get("/api/docs/").content.decode()
    assert "<script>" not in docs  # Swagger UI's start script is a file of its own


def test_health_answers_503_with_what_failed(client, settings, scrape):
    if settings.CELERY_TASK_ALWAYS_EAGER:
        pytest.skip("no broker to lose: the embedded default answers 'embedded'")
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:1/0"  # nothing listens there
    started = time.monotonic()
    response = client.get("/health")
    assert time.monotonic() - started < 2
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "fail"
    assert body["checks"]["database"]["status"] == "ok"
    assert body["checks"]["broker"]["status"] == "fail"
    assert body["checks"]["workers"]["status"] == "fail"
    assert sample(scrape(), "telco_celery_broker_up") == 0


def test_check_deploy_passes_in_production():
    environment = {
        **os.environ,
        "PRODUCTION": "true",
        "TLS": "true",
        "DEBUG": "false",
        "SECRET_KEY": "k3y-" + "x7Qp9sLm2" * 8,
    }
    done = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=settings.BASE_DIR,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    weak = {**environment, "SECRET_KEY": "short"}
    refused = subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=settings.BASE_DIR,
        env=weak,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert refused.returncode != 0
    assert "strong SECRET_KEY" in refused.stderr
    debug = {**environment, "DEBUG": "true"}
    refused = subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=settings.BASE_DIR,
        env=debug,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert "DEBUG must be off" in refused.stderr


def test_queue_depth_counts_tasks_nobody_takes(settings, scrape):
    if settings.CELERY_TASK_ALWAYS_EAGER:
        pytest.skip("no broker: tasks run eagerly and nothing waits")
    queue = "ops-probe-waiting"
    settings.CELERY_TASK_ROUTES = {**settings.CELERY_TASK_ROUTES, "ops_probe.*": {"queue": queue}}
    broker = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    try:
        assert sample(scrape(), "telco_celery_queue_depth", queue=queue) == 0
        for _ in range(3):
            app.send_task("ops_probe.nothing", queue=queue)
        assert sample(scrape(), "telco_celery_queue_depth", queue=queue) == 3
        assert sample(scrape(), "telco_celery_queue_depth", queue="billing") is not None
    finally:
        broker.delete(queue, f"_kombu.binding.{queue}")


@pytest.fixture
def json_logging_worker(transactional_db, lab_network, tmp_path):
    """A real worker taking the billing queue only, logging JSON at INFO into a file."""
    if settings.CELERY_TASK_ALWAYS_EAGER:
        pytest.skip("CELERY_BROKER_URL is not set: no broker for a real worker")
    database = settings.DATABASES["default"]
    database_url = (
        f"postgres://{database['USER']}@{database['HOST']}:{database['PORT']}/{database['NAME']}"
    )
    log_file = tmp_path / "worker.log"
    command = [
        *worker_command("ops-probe"),
        *("-Q", "billing", "-l", "info", "--logfile", str(log_file)),
    ]
    environment = {**os.environ, "DATABASE_URL": database_url, "LOG_FORMAT": "json"}
    process = subprocess.Popen(command, env=environment, cwd=settings.BASE_DIR)  # noqa: S603
    deadline = time.monotonic() + 60
    while not app.control.ping(timeout=0.5, destination=[f"ops-probe@{os.uname().nodename}"]):
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            pytest.fail("the Celery worker did not start")
    yield log_file
    process.terminate()
    process.wait(timeout=20)


def json_lines(path: Path) -> list[dict]:
    lines = []
    for line in path.read_text().splitlines():
        if line.startswith("{"):
            lines.append(json.loads(line))
    return lines


def test_a_task_started_by_a_request_logs_its_request_id_and_is_timed(
    json_logging_worker, finance_api, scrape, client
):
    before = scrape()
    runs_before = sample(before, "telco_celery_task_duration_seconds_count", queue="billing") or 0

    started = finance_api.post(
        "/api/revenue-assurance/v1/reconciliationRun",
        {},
        format="json",
        HTTP_X_REQUEST_ID="ops-request-0042",
    )
    assert started.status_code == 202, started.content
    assert started["X-Request-ID"] == "ops-request-0042"

    deadline = time.monotonic() + 30
    while True:
        task_lines = [
            line
            for line in json_lines(json_logging_worker)
            if line.get("task_name") == "billing.reconciliation_run"
        ]
        if task_lines or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert task_lines, json_logging_worker.read_text()[-2000:]
    assert {line["request_id"] for line in task_lines} == {"ops-request-0042"}
    assert all(line["task_id"] for line in task_lines)

    run_url = f"/api/revenue-assurance/v1/reconciliationRun/{started.json()['id']}"
    while finance_api.get(run_url).json()["state"] == "running" and time.monotonic() < deadline:
        time.sleep(0.2)
    # The worker records a task's timing after the task has returned (its postrun signal), so
    # after the run's state is committed: wait for it rather than read in between.
    deadline = time.monotonic() + 30
    while True:
        text = scrape()
        runs = sample(text, "telco_celery_task_duration_seconds_count", queue="billing") or 0
        if runs >= runs_before + 1 or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert runs >= runs_before + 1
    waits = sample(text, "telco_celery_task_wait_seconds_count", queue="billing")
    assert waits >= 1
    assert sample(text, "telco_celery_task_duration_seconds_bucket", queue="billing", le="+Inf")

    health = client.get("/health")
    assert health.status_code == 200, health.json()
    assert health.json()["status"] == "ok"
    assert {name: check["status"] for name, check in health.json()["checks"].items()} == {
        "database": "ok",
        "broker": "ok",
        "workers": "ok",
    }


def test_task_latency_buckets_are_cumulative_when_read(scrape):
    from telco.ops import task_metrics

    def buckets() -> dict[str, float]:
        text, name = scrape(), "telco_celery_task_duration_seconds_bucket"
        return {
            bound: sample(text, name, queue="default", le=bound) or 0
            for bound in ("0.01", "0.05", "0.25", "0.5", "300", "+Inf")
        }

    before = buckets()
    for seconds in (0.02, 0.3, 0.3, 600):  # the last above every bound: +Inf only
        task_metrics.record("default", run_seconds=seconds, wait_seconds=None)

    after = buckets()
    assert {bound: after[bound] - before[bound] for bound in after} == {
        "0.01": 0,
        "0.05": 1,
        "0.25": 1,
        "0.5": 3,
        "300": 3,
        "+Inf": 4,
    }
