"""The storm journey in Chromium: a cable under the demo operator's customers is cut; its alarms
arrive in one bulk TMF642 POST (root last) and make ONE incident with its impact; the NOC sees it
first on its dashboard, acknowledges it and sets the restore ETA from the page; an agent sees the
incident and the ETA on an affected customer's 360; that customer got exactly one e-mail, at a
real SMTP server, sent by a real worker."""

import time
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command

from assurance.models import Incident, IncidentService
from inventory.models import Link, Resource
from inventory.selectors import impact_summary
from telco import clock
from telco.testing import browser_login

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ALARMS = "/tmf-api/alarmManagement/v4/alarm"


def wait_until(condition, timeout: float = 30.0):
    deadline = time.monotonic() + timeout
    while not (result := condition()):
        if time.monotonic() > deadline:
            pytest.fail("timed out waiting")
        time.sleep(0.2)
    return result


def storm_of(cable: Resource) -> list[dict]:
    """The cable's links and the equipment at their downstream end alarm, then the cable."""
    links = list(Link.objects.filter(parent=cable).order_by("pk"))
    symptoms = [(link.name, "communicationsAlarm", "linkDown") for link in links]
    symptoms += [
        (link.a_device.name, "equipmentAlarm", "lossOfSignal") for link in links if link.a_device
    ]
    now = clock.now().isoformat()
    body = [
        {
            "alarmRaisedTime": now,
            "alarmType": alarm_type,
            "alarmedObject": {"id": name},
            "perceivedSeverity": "major",
            "probableCause": cause,
            "sourceSystemId": "ems-transport",
            "state": "raised",
        }
        for name, alarm_type, cause in symptoms
    ]
    body.append({**body[0], "alarmedObject": {"id": cable.name}, "probableCause": "cableCut"})
    body[-1]["perceivedSeverity"] = "critical"
    return body


def test_cable_cut_storm_is_one_incident_the_noc_acks_and_the_agent_sees(
    smtp_server, restartable_celery_worker, browser_page, noc_api, settings
):
    settings.INCIDENT_CONFIRMATION_SECONDS = 1
    restartable_celery_worker.restart(**smtp_server.environment, INCIDENT_CONFIRMATION_SECONDS="1")
    call_command("seed_demo", "--customers", "40", stdout=StringIO())
    Incident.objects.all().delete()  # the demo's own faults: this test watches one storm
    # The cable whose cut hurts the most customers (the inventory's impact question).
    cables = Resource.objects.filter(name__startswith="CABLE-").order_by("name")
    assert cables, "the demo builds no cables"
    cable = max(cables, key=lambda c: impact_summary([c.pk])["customer_count"])

    answer = noc_api.post(ALARMS, storm_of(cable), format="json")
    assert answer.status_code in (200, 201, 207), answer.content

    # One incident, rooted on the cable, with its impact.
    incident = wait_until(lambda: Incident.objects.filter(root_resource=cable).first(), 10)
    assert Incident.objects.count() == 1
    assert incident.root_alarm.probable_cause == "cableCut"
    assert incident.root_alarm.is_root_cause
    assert incident.customers_count > 0
    impacted = (
        IncidentService.objects.filter(incident=incident, service__product__isnull=False)
        .select_related("service__product__customer__party")
        .order_by("service__product__customer__name")
        .first()
    )
    customer = impacted.service.product.customer

    # Confirmed by the worker (1 s countdown), then exactly one e-mail to the customer.
    wait_until(lambda: Incident.objects.get(pk=incident.pk).confirmed_at is not None, 20)
    wait_until(lambda: smtp_server.count_by_recipient().get(customer.party.email), 30)

    page = browser_page
    browser_login(page, "noc", "noc-demo")
    assert page.url.endswith("/noc/")
    row = page.locator(f"#incident-{incident.pk}")
    assert "cableCut" in row.inner_text()
    assert cable.name in row.inner_text()
    assert row.locator("[data-customers]").inner_text() == str(incident.customers_count)
    # Incidents come before the alarms on the page.
    assert (
        page.locator("#incidents-heading").bounding_box()["y"]
        < (page.locator("#alarms-heading").bounding_box()["y"])
    )

    row.get_by_role("button", name="Acknowledge").click()
    page.wait_for_url("**/noc/")
    row = page.locator(f"#incident-{incident.pk}")
    assert "acknowledged" in row.inner_text()
    row.locator("summary").click()
    eta = (clock.now() + timedelta(hours=4)).astimezone().replace(second=0, microsecond=0)
    row.locator("input[name=eta]").fill(eta.strftime("%Y-%m-%dT%H:%M"))
    row.get_by_role("button", name="Set ETA").click()
    page.wait_for_url("**/noc/")
    incident.refresh_from_db()
    assert incident.state == "acknowledged"
    assert incident.acknowledged_by == "noc"
    assert incident.expected_restore_time == eta
    assert (
        eta.strftime("%Y-%m-%d %H:%M") in page.locator(f"#incident-{incident.pk} .eta").inner_text()
    )

    # The agent sees it on the affected customer's 360, with the ETA the NOC set.
    page.get_by_role("button", name="Log out").click()
    page.wait_for_load_state()
    browser_login(page, "agent", "agent-demo")
    page.goto(f"/portal/customers/{customer.pk}/")
    panel = page.locator("[data-incidents]")
    assert panel.count() == 1
    incident_row = panel.locator(f"[data-incident='{incident.pk}']")
    assert incident_row.locator("[data-incident-state]").inner_text() == "acknowledged"
    assert "not set yet" not in incident_row.locator("[data-incident-eta]").inner_text()

    # Exactly one e-mail reached that customer for this incident.
    time.sleep(1)  # anything a second worker pass would still send
    assert smtp_server.count_by_recipient()[customer.party.email] == 1
