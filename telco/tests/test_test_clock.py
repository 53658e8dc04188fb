"""The clock acceptance testing can move: off unless TEST_CLOCK_ENABLED, admins only, forward
only, and every process follows it, a real worker included."""

from datetime import timedelta

import pytest
from django.test import override_settings
from django.urls import reverse

from assurance import correlation
from assurance.incident_tasks import incidents_confirm_due_task
from assurance.models import Alarm, Incident
from inventory.tests.factories import GnbFactory
from telco import clock
from telco.testing import wait_for

URL = "/api/v1/testClock"


@pytest.fixture
def test_clock():
    clock._stored["read_at"] = None
    with override_settings(TEST_CLOCK_ENABLED=True):
        yield
    clock._stored["read_at"] = None


@pytest.mark.django_db
def test_off_unless_a_setting_turns_it_on(admin_api, admin_client):
    assert admin_api.get(URL).status_code == 404
    assert admin_api.post(URL, {"advanceBy": "P1D"}, format="json").status_code == 404
    page = admin_client.get(reverse("admin:telco_testclock_changelist"))
    assert page.status_code == 403


@pytest.mark.django_db
def test_admins_move_it_forward_only(
    test_clock, admin_api, admin_user_role, agent_api, anonymous_api
):
    before = clock.now()
    answer = admin_api.post(URL, {"advanceBy": "P40D"}, format="json")
    assert answer.status_code == 200, answer.data
    assert answer.data["offsetSeconds"] == 40 * 86400
    assert timedelta(days=40) <= clock.now() - before < timedelta(days=40, minutes=1)
    assert admin_api.get(URL).data["movedBy"] == admin_user_role.username
    for bad, message in (("P0D", "forward"), ("-P1D", "forward"), ("soon", "")):
        refused = admin_api.post(URL, {"advanceBy": bad}, format="json")
        assert refused.status_code == 400
        assert list(refused.json()["errors"]) == ["advanceBy"]
        assert message in str(refused.json()["errors"]["advanceBy"])
    assert agent_api.post(URL, {"advanceBy": "P1D"}, format="json").status_code == 403
    assert anonymous_api.get(URL).status_code in (401, 403)
    assert clock.now() - before < timedelta(days=40, minutes=1)  # nothing moved by the refusals
    assert admin_api.post(f"{URL}/reset").data["offsetSeconds"] == 0
    assert clock.now() - before < timedelta(minutes=1)


@pytest.mark.django_db
def test_the_admin_page_moves_it(test_clock, admin_client, agent_client):
    url = reverse("admin:telco_testclock_changelist")
    before = clock.now()
    answer = admin_client.post(url, {"advance_by": "2 00:00:00"}, follow=True)
    assert "The clock now reads" in answer.content.decode()
    assert timedelta(days=2) <= clock.now() - before < timedelta(days=2, minutes=1)
    refused = admin_client.post(url, {"advance_by": ""}, follow=True)
    assert "Say how far forward" in refused.content.decode()
    assert agent_client.post(url, {"advance_by": "1 00:00:00"}).status_code == 302  # to login
    assert clock.now() - before < timedelta(days=2, minutes=1)


@pytest.mark.django_db(transaction=True)
def test_a_worker_follows_the_moved_clock(test_clock, restartable_celery_worker, admin_api):
    restartable_celery_worker.restart(TEST_CLOCK_ENABLED="true", TEST_CLOCK_REFRESH_SECONDS="0")
    gnb = GnbFactory()
    alarm = Alarm.objects.create(
        source_system_id="nms",
        alarmed_object_ref=str(gnb.pk),
        resource=gnb,
        alarm_type="communicationsAlarm",
        perceived_severity="critical",
        probable_cause="linkDown",
        reduction_key="gnb-down",
        alarm_raised_time=clock.now(),
    )
    correlation.correlate([alarm.pk])
    incident = Incident.objects.get()
    # Due only on the moved clock: by real time the confirmation delay is a minute away.
    admin_api.post(URL, {"advanceBy": "PT2M"}, format="json")
    incidents_confirm_due_task.delay()
    wait_for(lambda: Incident.objects.filter(confirmed_at__isnull=False).exists())
    incident.refresh_from_db()
    assert incident.confirmed_at - incident.created_at >= timedelta(minutes=2)
