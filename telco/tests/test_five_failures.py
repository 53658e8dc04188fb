"""The five integration failures the product exists to end (../shared/seeds), each injected
and shown prevented, or caught as the right case within one reconciliation:

1. activation fails but billing starts;
2. the network activates but the completion never reaches billing;
3. a fault with no proactive contact of the customers it hurts;
4. degradation not tied to an enterprise customer's SLA;
5. an agent unaware of a network issue affecting the customer on the line.
"""

import time
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
import time_machine
from django.urls import reverse

from assurance.kpis.ingest import kpi_samples_ingest
from assurance.models import Incident, KpiThreshold
from assurance.sla import sla_evaluate
from assurance.tests.factories import subscribe
from billing.models import AppliedCharge, RevenueCase, SlaCredit
from billing.services import bill_run_start, reconciliation
from catalog.models import ServiceLevelAgreement
from crm.models import LabSmsMessage
from inventory.models import ProductInstance, Service
from inventory.network import driver_for
from inventory.paths import service_paths_rebuild
from inventory.tests.factories import GnbFactory
from orders.tests.test_ftth import fibre, order_line
from orders.tests.test_ftth import run as run_order
from telco import clock

ALARMS = "/tmf-api/alarmManagement/v4/alarm"
__all__ = ["fibre"]  # the fixture, from the FTTH tests


def wait_until(condition, timeout: float = 30.0):
    deadline = time.monotonic() + timeout
    while not (result := condition()):
        if time.monotonic() > deadline:
            pytest.fail("timed out waiting")
        time.sleep(0.1)
    return result


def gnb_down(gnb) -> dict:
    return {
        "alarmRaisedTime": clock.now().isoformat(),
        "alarmType": "equipmentAlarm",
        "alarmedObject": {"id": gnb.name},
        "perceivedSeverity": "critical",
        "probableCause": "powerProblem",
        "sourceSystemId": "ems-ran",
        "state": "raised",
    }


@pytest.mark.django_db(transaction=True)
def test_3_a_fault_reaches_every_customer_it_hurts_by_mail_and_sms(
    smtp_server, restartable_celery_worker, noc_api, settings
):
    settings.INCIDENT_CONFIRMATION_SECONDS = 1
    restartable_celery_worker.restart(**smtp_server.environment, INCIDENT_CONFIRMATION_SECONDS="1")
    gnb, bystander_gnb = GnbFactory(), GnbFactory()
    hurt = [subscribe(gnb) for _ in range(3)]
    bystander = subscribe(bystander_gnb)
    service_paths_rebuild()

    answer = noc_api.post(ALARMS, gnb_down(gnb), format="json")
    assert answer.status_code == 201, answer.content

    # Confirmed by the beat sweep after the confirmation delay, the notices go out once.
    wait_until(lambda: len(smtp_server.messages) == 3)
    time.sleep(0.5)  # nothing more arrives
    recipients = {m["To"] for m in smtp_server.messages}
    assert recipients == {s.customer.party.email for s in hurt}
    assert bystander.customer.party.email not in recipients
    texted = set(LabSmsMessage.objects.values_list("to", flat=True))
    assert texted == {s.customer.party.phone for s in hurt}


@pytest.mark.django_db
def test_4_latency_on_an_enterprise_service_counts_against_its_sla_and_credits_the_bill():
    enterprise_gnb = GnbFactory()
    enterprise = subscribe(enterprise_gnb)
    ServiceLevelAgreement.objects.create(
        offering=enterprise.product.product_offering,
        name="Enterprise Gold",
        availability_target=Decimal("99.9"),
        latency_target_ms=20,
        latency_allowance_minutes=30,
        latency_credit_percent=Decimal(5),
    )
    KpiThreshold.objects.create(metric="latency", raise_above=20, clear_below=15, raise_after=2)
    enterprise.product.start_date = datetime(2026, 9, 1, tzinfo=UTC)
    enterprise.product.save()
    start = datetime(2026, 10, 7, 8, 0, tzinfo=UTC)
    with time_machine.travel(datetime(2026, 10, 7, 12, 0, tzinfo=UTC), tick=False):
        # Two hours at 45 ms on the cell serving the enterprise, then back to 10 ms.
        degraded = [45] * 120 + [10] * 5
        result = kpi_samples_ingest(
            [
                (enterprise_gnb.name, None, "latency", start + timedelta(minutes=n), value)
                for n, value in enumerate(degraded)
            ]
        )
    assert (result.alarms_raised, result.alarms_cleared) == (1, 1)

    with time_machine.travel(datetime(2026, 11, 2, 10, 0, tzinfo=UTC), tick=False):
        assert sla_evaluate(as_of=date(2026, 11, 2)) == 1
    credit = SlaCredit.objects.get()
    assert credit.product_id == enterprise.product.pk
    assert credit.credit_percent == Decimal(5)
    assert (credit.period_start.month, credit.period_end.month) == (10, 11)


@pytest.mark.django_db
def test_5_the_agent_sees_the_network_issue_on_the_customers_360(noc_api, agent_client):
    gnb = GnbFactory()
    caller = subscribe(gnb)
    unaffected = subscribe(GnbFactory())
    service_paths_rebuild()

    assert noc_api.post(ALARMS, gnb_down(gnb), format="json").status_code == 201
    incident = Incident.objects.get()
    # Past the confirmation delay (test 3 shows the sweep confirming): no longer a blip.
    Incident.objects.filter(pk=incident.pk).update(confirmed_at=clock.now())

    page = agent_client.get(reverse("crm:customer-detail", args=[caller.customer.pk]))
    assert page.status_code == 200
    text = page.content.decode()
    assert incident.name in text
    assert caller.product.name in text
    elsewhere = agent_client.get(reverse("crm:customer-detail", args=[unaffected.customer.pk]))
    assert incident.name not in elsewhere.content.decode()


def reconcile():
    """One reconciliation, its units done here as a worker would."""
    run = reconciliation.reconciliation_create(by="test")
    return reconciliation.reconciliation_run_here(run_id=run.pk)


@pytest.mark.django_db
def test_1_an_activation_that_fails_is_never_billed_and_a_failed_undo_or_a_billed_failure_is_caught(
    fibre, lab
):
    olt, bng = fibre["olt"], fibre["bng"]
    lab.fail(bng.name, "permanent")
    order = run_order(order_line(fibre, ontSerial="ALCL00000009"))

    # Prevented: the order failed, the product aborted, nothing is on any element or billed.
    assert order.state == "failed"
    product = ProductInstance.objects.get()
    assert product.status == "aborted"
    assert lab.configured() == {}
    with time_machine.travel(clock.now() + timedelta(days=40), tick=False):
        bill_run_start(as_of=clock.now().date())
    assert not AppliedCharge.objects.filter(product=product).exists()
    assert reconcile().found_by_kind == {}

    # Injected: the OLT's undo was lost (its configuration stays), and billing starts anyway.
    access = Service.objects.get(parent__product=product, bindings__resource=olt)
    driver_for("olt").activate(
        element=olt.name,
        idempotency_key="undo-lost",
        service_ref=str(access.pk),
        payload={"ponPort": "0/1/1", "ontSerial": "ALCL00000009", "ontId": 1, "vlan": 1000},
    )
    ProductInstance.objects.filter(pk=product.pk).update(status="active", start_date=clock.now())

    found = reconcile()
    assert found.found_by_kind == {"orphanConfig": 1, "billableNotActive": 1}
    orphan = RevenueCase.objects.get(kind="orphanConfig")
    assert (orphan.element, orphan.service_ref, orphan.product_id) == (
        olt.name,
        str(access.pk),
        product.pk,
    )
    billed = RevenueCase.objects.get(kind="billableNotActive")
    assert billed.product_id == product.pk
    assert billed.amount_at_risk > 0


@pytest.mark.django_db
def test_2_an_activation_whose_completion_never_reaches_billing_is_caught_and_billed_from_its_case(
    fibre, lab, risk_api
):
    order = run_order(order_line(fibre, ontSerial="ALCL00000010"))
    assert order.state == "completed"
    product = ProductInstance.objects.get()
    assert reconcile().found_by_kind == {}

    # Injected: the network is configured and the services active, the product never started.
    ProductInstance.objects.filter(pk=product.pk).update(status="pendingActive", start_date=None)

    assert reconcile().found_by_kind == {"activeNotBillable": 1}
    case = RevenueCase.objects.get()
    assert (case.product_id, case.billing_account_id) == (product.pk, product.billing_account_id)
    assert case.amount_at_risk > 0
    answer = risk_api.post(
        f"/api/revenue-assurance/v1/case/{case.pk}/action",
        {"action": "startBilling"},
        format="json",
    )
    assert answer.status_code == 200, answer.content

    product.refresh_from_db()
    assert product.status == "active"
    assert product.start_date is not None
    assert reconcile().found_by_kind == {}
    assert RevenueCase.objects.get().state == "resolved"
