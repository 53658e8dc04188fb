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
from billing.models import SlaCredit
from catalog.models import ServiceLevelAgreement
from crm.models import LabSmsMessage
from inventory.paths import service_paths_rebuild
from inventory.tests.factories import GnbFactory
from telco import clock

ALARMS = "/tmf-api/alarmManagement/v4/alarm"


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
