"""Reconciliation through its API: who may list, start and resume runs, refusals with their
fields, and a run done by a real worker (units fanned out as tasks) with its progress."""

from datetime import timedelta

from billing.choices import ReconciliationRunState
from billing.models import ReconciliationRun, ReconciliationUnit, RevenueCase
from billing.services import reconciliation as engine
from billing.tests.factories import active_product
from inventory.choices import ServiceState
from inventory.models import Service
from telco import clock
from telco.testing import wait_for

RUNS = "/api/revenue-assurance/v1/reconciliationRun"


def test_runs_api_roles_refusals_progress_and_resume(
    db, agent_api, noc_api, finance_api, risk_api, admin_api, django_assert_max_num_queries
):
    for client in (agent_api, noc_api):
        assert client.get(RUNS).status_code == 403
        assert client.post(RUNS, {}, format="json").status_code == 403
    assert risk_api.get(RUNS).json() == []

    bad = finance_api.post(RUNS, {"asOf": "last night"}, format="json")
    assert bad.status_code == 400
    assert "asOf" in str(bad.json())

    started = finance_api.post(RUNS, {}, format="json")
    assert started.status_code == 202, started.data
    body = started.json()
    assert started["Location"].endswith(f"{RUNS}/{body['id']}")
    assert body["state"] == "running"
    assert body["startedBy"] == "finance1"
    assert (body["unitsDone"], body["progress"], body["failedUnits"]) == (0, 0, [])
    assert body["unitsTotal"] == 7  # the usage days; no element, no product yet

    # One run at a time (this one waits for a worker: the test's transaction never commits).
    again = risk_api.post(RUNS, {}, format="json")
    assert again.status_code == 400
    assert f"Reconciliation {body['id']} is running" in str(again.json())

    run = engine.reconciliation_run_here(run_id=body["id"])
    assert run.state == ReconciliationRunState.COMPLETED
    detail = admin_api.get(f"{RUNS}/{run.pk}").json()
    assert (detail["unitsDone"], detail["progress"], detail["state"]) == (7, 100, "completed")
    assert detail["finishedAt"] is not None
    assert admin_api.post(f"{RUNS}/{run.pk}/resume").status_code == 400  # completed
    assert finance_api.get(f"{RUNS}/999999").status_code == 404
    assert noc_api.post(f"{RUNS}/{run.pk}/resume").status_code == 403

    # A failed run (a unit in error) shows the unit, and resumes.
    failed = ReconciliationRun.objects.create(state=ReconciliationRunState.FAILED, units_total=1)
    ReconciliationUnit.objects.create(run=failed, comparison="network", key="OLT-9", error="down")
    shown = risk_api.get(f"{RUNS}/{failed.pk}").json()
    assert shown["failedUnits"] == [{"comparison": "network", "key": "OLT-9", "error": "down"}]
    resumed = risk_api.post(f"{RUNS}/{failed.pk}/resume")
    assert resumed.status_code == 202
    assert resumed.json()["state"] == "running"
    assert resumed.json()["failedUnits"] == []

    # The list's queries do not grow with the runs.
    for _ in range(3):
        extra = ReconciliationRun.objects.create(state=ReconciliationRunState.FAILED)
        ReconciliationUnit.objects.create(run=extra, comparison="mediation", key="x", error="e")
    with django_assert_max_num_queries(6):
        listed = finance_api.get(RUNS).json()
    assert len(listed) == 5
    assert [each["state"] for each in listed if each["id"] == failed.pk] == ["running"]


def test_a_run_on_a_real_worker_reports_its_progress_and_opens_cases(celery_worker, finance_api):
    # Delivered, never billed; and billed, not delivered (the worker's clock is the session's).
    start = clock.now() - timedelta(days=40)
    leaking = [active_product(start_date=start, status="pendingActive") for _ in range(3)]
    for product in leaking:
        Service.objects.filter(product=product).update(state=ServiceState.ACTIVE)
    undelivered = active_product(start_date=start)
    Service.objects.filter(product=undelivered).update(state=ServiceState.INACTIVE)

    response = finance_api.post(RUNS, {}, format="json")
    assert response.status_code == 202, response.data
    run_id = response.json()["id"]
    run = wait_for(
        lambda: ReconciliationRun.objects.filter(pk=run_id).exclude(state="running").first(), 60
    )
    assert run.state == ReconciliationRunState.COMPLETED, run.error
    progress = finance_api.get(f"{RUNS}/{run_id}").json()
    assert progress["progress"] == 100
    assert progress["unitsDone"] == progress["unitsTotal"] == 8  # 7 days and the products
    assert progress["foundByKind"] == {"activeNotBillable": 3, "billableNotActive": 1}
    assert progress["casesOpened"] == 4
    assert set(
        RevenueCase.objects.filter(kind="activeNotBillable").values_list("product_id", flat=True)
    ) == {product.pk for product in leaking}
