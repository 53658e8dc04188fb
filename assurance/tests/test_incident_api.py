"""TMF656 serviceProblem (incidents), problemAcknowledgement, maintenance windows, and the
TMF642 correlation fields of alarms."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from assurance.correlation import correlate
from assurance.maintenance import incident_in_maintenance, incidents_outside_maintenance
from assurance.models import Incident, IncidentService
from assurance.tests.test_correlation import net, raise_alarm  # noqa: F401 - the fixture
from inventory.tests.factories import GnbFactory
from telco import clock

pytestmark = pytest.mark.django_db

BASE = "/tmf-api/serviceProblemManagement/v4"


@pytest.fixture
def cut(net):  # noqa: F811
    """The trunk is cut, R2 alarms too: one incident, rooted at the trunk."""
    root = raise_alarm(net["trunk"], cause="cableCut")
    symptom = raise_alarm(net["r2"], at=clock.now() + timedelta(seconds=2))
    correlate([symptom.pk, root.pk])
    return {"incident": Incident.objects.get(), "root": root, "symptom": symptom, **net}


def test_a_service_problem_shows_root_cause_alarms_and_impact(cut, agent_api):
    incident = cut["incident"]
    body = agent_api.get(f"{BASE}/serviceProblem/{incident.pk}").json()
    assert body["@type"] == "ServiceProblem"
    assert body["status"] == "pending"
    assert [r["id"] for r in body["rootCauseResource"]] == [str(cut["trunk"].pk)]
    assert body["rootCauseResource"][0]["name"] == "TRUNK"
    assert {a["id"] for a in body["underlyingAlarm"]} == {
        str(cut["root"].pk),
        str(cut["symptom"].pk),
    }
    assert {r["id"] for r in body["affectedResource"]} == {
        str(cut["trunk"].pk),
        str(cut["r2"].pk),
    }
    assert body["affectedNumberOfServices"] == 3
    impacts = sorted(s["impact"] for s in body["affectedService"])
    assert impacts == ["degraded", "down", "down"]
    assert body["impactedCustomerCount"] == 3
    assert body["servicesDown"] == 2
    assert body["servicesDegraded"] == 1
    assert body["timeRaised"] is not None


def test_the_alarm_shows_its_root_cause_and_correlated_alarms(cut, agent_api):
    root = agent_api.get(f"/tmf-api/alarmManagement/v4/alarm/{cut['root'].pk}").json()
    assert root["isRootCause"] is True
    assert [a["id"] for a in root["correlatedAlarm"]] == [str(cut["symptom"].pk)]
    symptom = agent_api.get(f"/tmf-api/alarmManagement/v4/alarm/{cut['symptom'].pk}").json()
    assert symptom["isRootCause"] is False
    assert symptom["correlatedAlarm"] == []


def test_the_list_costs_the_same_queries_whatever_it_holds(cut, agent_api):
    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert agent_api.get(f"{BASE}/serviceProblem").status_code == 200
        return len(captured)

    few = queries()
    for _ in range(3):
        alarm = raise_alarm(GnbFactory())
        correlate([alarm.pk])
    assert Incident.objects.count() == 4
    assert queries() == few


def test_the_noc_acknowledges_assigns_notes_and_sets_the_eta(cut, noc_api, noc_user):
    incident = cut["incident"]
    eta = (clock.now() + timedelta(hours=3)).replace(microsecond=0)
    answer = noc_api.patch(
        f"{BASE}/serviceProblem/{incident.pk}",
        {
            "status": "acknowledged",
            "note": [{"text": "Splice team dispatched"}],
            "expectedRestoreTime": eta.isoformat(),
        },
        format="json",
    )
    assert answer.status_code == 200, answer.json()
    body = answer.json()
    assert body["status"] == "acknowledged"
    assert body["acknowledgedBy"] == noc_user.username
    assert body["note"][0]["text"] == "Splice team dispatched"
    assert body["expectedRestoreTime"].startswith(eta.strftime("%Y-%m-%dT%H:%M"))
    answer = noc_api.patch(
        f"{BASE}/serviceProblem/{incident.pk}",
        {"responsibleParty": [{"id": noc_user.username}]},
        format="json",
    )
    assert answer.status_code == 200, answer.json()
    assert answer.json()["status"] == "inProgress"
    assert answer.json()["responsibleParty"][0]["id"] == noc_user.username


def test_resolving_by_hand_ends_the_impact(cut, noc_api):
    incident = cut["incident"]
    answer = noc_api.patch(
        f"{BASE}/serviceProblem/{incident.pk}", {"status": "resolved"}, format="json"
    )
    assert answer.status_code == 200
    assert answer.json()["resolutionDate"] is not None
    assert not IncidentService.objects.filter(incident=incident, ended_at__isnull=True).exists()


def test_bad_patches_are_refused_with_the_field(cut, noc_api, agent_api):
    url = f"{BASE}/serviceProblem/{cut['incident'].pk}"
    assert agent_api.patch(url, {"status": "resolved"}, format="json").status_code == 403
    answer = noc_api.patch(url, {"status": "fixed"}, format="json")
    assert answer.status_code == 400
    assert "status" in str(answer.json())
    answer = noc_api.patch(url, {"name": "x"}, format="json")
    assert answer.status_code == 400
    assert "name" in str(answer.json())
    answer = noc_api.patch(url, {"responsibleParty": [{"id": "nobody"}]}, format="json")
    assert answer.status_code == 400
    assert "responsibleParty" in str(answer.json())
    # A move the table refuses: 409, nothing changes.
    assert noc_api.patch(url, {"status": "closed"}, format="json").status_code == 409
    assert Incident.objects.get().state == "pending"


def test_problem_acknowledgement(cut, noc_api, agent_api):
    incident = cut["incident"]
    body = {"problem": [{"id": str(incident.pk)}]}
    url = f"{BASE}/problemAcknowledgement"
    assert agent_api.post(url, body, format="json").status_code == 403
    answer = noc_api.post(url, body, format="json")
    assert answer.status_code == 201
    assert answer.json()["ackProblem"][0]["status"] == "acknowledged"
    answer = noc_api.post(url, {"problem": [{"id": "999999"}]}, format="json")
    assert answer.status_code == 400
    assert "problem" in str(answer.json())


def test_planned_work_flags_the_incident_and_alarms_are_still_stored(net, noc_api, agent_api):  # noqa: F811
    now = clock.now()
    window = {
        "resource": {"id": "TRUNK"},
        "startsAt": (now - timedelta(minutes=5)).isoformat(),
        "endsAt": (now + timedelta(hours=2)).isoformat(),
        "description": "Re-splicing",
    }
    url = f"{BASE}/maintenanceWindow"
    assert agent_api.post(url, window, format="json").status_code == 403
    answer = noc_api.post(url, window, format="json")
    assert answer.status_code == 201, answer.json()
    assert answer.json()["resource"]["name"] == "TRUNK"
    symptom = raise_alarm(net["g1"])
    correlate([symptom.pk])
    incident = Incident.objects.get()
    assert incident.in_maintenance
    assert incident_in_maintenance(incident)
    assert not incidents_outside_maintenance().exists()
    assert incident.alarms.count() == 1
    # Bad windows: an unknown resource, an end before the start.
    bad = noc_api.post(url, {**window, "resource": {"id": "NOPE"}}, format="json")
    assert bad.status_code == 400
    assert "resource" in str(bad.json())
    bad = noc_api.post(url, {**window, "endsAt": window["startsAt"]}, format="json")
    assert bad.status_code == 400
    assert "endsAt" in str(bad.json())
    assert agent_api.get(url).json()[0]["description"] == "Re-splicing"
