"""The NOC pages: active alarms with impacted customers, detail, acknowledge and clear."""

import re

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from assurance import services
from assurance.models import Alarm
from assurance.tests.factories import subscribe
from crm.tests.factories import CustomerFactory
from inventory.tests.factories import GnbFactory, SliceFactory

pytestmark = pytest.mark.django_db

DASHBOARD = "/noc/"


def raise_alarm(resource_ref: str, **overrides):
    arguments = {
        "source_system_id": "ems-north",
        "alarmed_object_id": resource_ref,
        "alarm_type": "communicationsAlarm",
        "perceived_severity": "major",
        "probable_cause": "lossOfSignal",
        "alarm_raised_time": timezone.now(),
        "by": "ems",
    }
    arguments.update(overrides)
    return services.alarm_raise(**arguments)[0]


def test_dashboard_lists_active_alarms_by_severity_with_customers(noc_client):
    gnb = GnbFactory(name="gnb-north-1")
    alice = subscribe(gnb, SliceFactory(parent=gnb), customer=CustomerFactory(name="Alice Ltd"))
    bob = subscribe(SliceFactory(parent=gnb), customer=CustomerFactory(name="Bob Carter"))
    major = raise_alarm(gnb.name)
    critical = raise_alarm("unknown-element", perceived_severity="critical")
    services.alarm_clear(alarm=raise_alarm(gnb.name, probable_cause="old"), by="noc1")

    response = noc_client.get(DASHBOARD)

    assert response.status_code == 200
    page = response.content.decode()
    rows = re.findall(r'<tr id="alarm-(\d+)">', page)
    assert rows == [str(critical.pk), str(major.pk)]  # critical first; cleared not listed
    major_row = page.split(f'<tr id="alarm-{major.pk}">')[1].split("</tr>")[0]
    assert f'href="/portal/customers/{alice.customer.pk}/">Alice Ltd</a>' in major_row
    assert f'href="/portal/customers/{bob.customer.pk}/">Bob Carter</a>' in major_row
    assert "gnb-north-1" in major_row
    assert f'action="/noc/alarms/{major.pk}/acknowledge/"' in major_row
    assert f'action="/noc/alarms/{major.pk}/clear/"' in major_row
    assert 'data-severity="critical" data-count="1"' in page
    assert 'data-severity="major" data-count="1"' in page
    assert 'data-severity="minor" data-count="0"' in page
    assert "csrfmiddlewaretoken" in page


def dashboard_queries(client, count: int) -> int:
    gnb = GnbFactory()
    for _ in range(count):
        subscribe(gnb, SliceFactory(parent=gnb))
    for number in range(count):
        raise_alarm(gnb.name, probable_cause=f"cause-{number}")
    with CaptureQueriesContext(connection) as queries:
        response = client.get(DASHBOARD)
    assert (
        response.content.decode().count('<tr id="alarm-')
        == Alarm.objects.exclude(state="cleared").count()
    )
    return len(queries)


def test_dashboard_query_count_does_not_grow_with_alarms(noc_client):
    two = dashboard_queries(noc_client, 2)
    Alarm.objects.all().delete()
    assert dashboard_queries(noc_client, 10) == two


def test_dashboard_is_for_noc_and_admin_only(finance_client, agent_client, admin_role_client):
    assert finance_client.get(DASHBOARD).status_code == 403
    assert agent_client.get(DASHBOARD).status_code == 403
    assert admin_role_client.get(DASHBOARD).status_code == 200
    anonymous = Client().get(DASHBOARD)
    assert anonymous.status_code == 302
    assert anonymous["Location"].startswith("/accounts/login/")


def test_acknowledge_and_clear_buttons(noc_client):
    gnb = GnbFactory()
    alarm = raise_alarm(gnb.name)

    acknowledged = noc_client.post(f"/noc/alarms/{alarm.pk}/acknowledge/")
    alarm.refresh_from_db()
    assert acknowledged.status_code == 302
    assert acknowledged["Location"] == DASHBOARD
    assert (alarm.ack_state, alarm.ack_user_id) == ("acknowledged", "noc1")

    cleared = noc_client.post(
        f"/noc/alarms/{alarm.pk}/clear/", {"next": f"/noc/alarms/{alarm.pk}/"}
    )
    alarm.refresh_from_db()
    assert cleared["Location"] == f"/noc/alarms/{alarm.pk}/"
    assert alarm.state == "cleared"
    assert alarm.alarm_cleared_time is not None
    assert f'<tr id="alarm-{alarm.pk}">' not in noc_client.get(DASHBOARD).content.decode()

    # Clearing twice is refused with a message, and changes nothing.
    again = noc_client.post(f"/noc/alarms/{alarm.pk}/clear/", follow=True)
    assert "Alarm cannot move from &#x27;cleared&#x27; to &#x27;cleared&#x27;." in (
        again.content.decode()
    )
    assert alarm.history.count() == 3


def test_buttons_refuse_other_roles_and_get(agent_client, noc_client):
    alarm = raise_alarm(GnbFactory().name)

    assert agent_client.post(f"/noc/alarms/{alarm.pk}/clear/").status_code == 403
    assert noc_client.get(f"/noc/alarms/{alarm.pk}/clear/").status_code == 405
    alarm.refresh_from_db()
    assert alarm.state == "raised"


def test_alarm_detail_shows_impact_and_history(noc_client):
    gnb = GnbFactory(name="gnb-east-1")
    subscription = subscribe(gnb, customer=CustomerFactory(name="Carol Stone"))
    alarm = raise_alarm(gnb.name)
    services.alarm_acknowledge(alarm=alarm, by="noc1")

    page = noc_client.get(f"/noc/alarms/{alarm.pk}/").content.decode()

    assert "gnb-east-1" in page
    assert f'href="/portal/customers/{subscription.customer.pk}/">Carol Stone</a>' in page
    assert subscription.service.name in page
    assert "unacknowledged</td><td>acknowledged</td><td>noc1</td>" in page.replace("\n", "")
    assert noc_client.get("/noc/alarms/99999/").status_code == 404
