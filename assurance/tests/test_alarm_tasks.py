"""TMF642 tasks ackAlarms and clearAlarms: many alarms in one request."""

import pytest

from assurance.models import Alarm, AlarmStateChange, AlarmTask
from assurance.tests.test_alarm_api import ALARMS, alarm_body
from inventory.tests.factories import GnbFactory

pytestmark = pytest.mark.django_db

ACK = "/tmf-api/alarmManagement/v4/ackAlarms"
CLEAR = "/tmf-api/alarmManagement/v4/clearAlarms"


@pytest.fixture
def alarms(noc_api):
    gnb = GnbFactory(name="gnb-west-1")
    created = [
        noc_api.post(ALARMS, alarm_body(gnb.pk, probableCause=cause), format="json").json()
        for cause in ("lossOfSignal", "powerProblem")
    ]
    other = noc_api.post(ALARMS, alarm_body("element-9"), format="json").json()
    return {"gnb": gnb, "on_gnb": created, "other": other}


def test_ack_alarms_acknowledges_the_matching_alarms(noc_api, alarms):
    on_gnb = [a["id"] for a in alarms["on_gnb"]]

    response = noc_api.post(
        ACK,
        {
            "ackUserId": "jane",
            "ackSystemId": "noc-console",
            "alarmPattern": [{"alarmedObject": {"id": "gnb-west-1"}}],
        },
        format="json",
    )

    assert response.status_code == 201, response.json()
    body = response.json()
    task = AlarmTask.objects.get()
    assert response["Location"] == f"http://testserver{ACK}/{task.pk}"
    assert body["@type"] == "AckAlarms"
    assert body["state"] == "done"
    assert body["ackUserId"] == "jane"
    assert body["ackSystemId"] == "noc-console"
    assert sorted(a["id"] for a in body["ackedAlarm"]) == sorted(on_gnb)
    assert body["ackedAlarm"][0]["href"].startswith(f"http://testserver{ALARMS}/")
    assert sorted(
        Alarm.objects.filter(ack_state="acknowledged").values_list("pk", flat=True)
    ) == sorted(int(i) for i in on_gnb)
    assert set(Alarm.objects.filter(pk__in=on_gnb).values_list("ack_user_id", flat=True)) == {
        "jane"
    }
    assert AlarmStateChange.objects.filter(to_state="acknowledged").count() == 2
    assert noc_api.get(f"{ACK}/{task.pk}").json() == body
    # Acknowledging again moves nothing.
    again = noc_api.post(
        ACK, {"ackUserId": "jane", "alarmPattern": [{"id": on_gnb[0]}]}, format="json"
    )
    assert again.json()["ackedAlarm"] == []


def test_clear_alarms_clears_by_id_and_attributes(noc_api, alarms):
    first, second = (a["id"] for a in alarms["on_gnb"])

    response = noc_api.post(
        CLEAR,
        {
            "clearUserId": "jane",
            "clearSystemId": "noc-console",
            "alarmClearedTime": "2026-11-24T11:00:00Z",
            "alarmPattern": [{"id": first}, {"probableCause": "powerProblem", "state": "raised"}],
        },
        format="json",
    )

    assert response.status_code == 201, response.json()
    assert sorted(a["id"] for a in response.json()["clearedAlarm"]) == sorted([first, second])
    assert response.json()["alarmClearedTime"] == "2026-11-24T11:00:00Z"
    cleared = noc_api.get(f"{ALARMS}/{first}").json()
    assert (cleared["state"], cleared["alarmClearedTime"]) == ("cleared", "2026-11-24T11:00:00Z")
    assert noc_api.get(f"{ALARMS}/{alarms['other']['id']}").json()["state"] == "raised"
    assert list(
        AlarmStateChange.objects.filter(alarm_id=first).values_list("from_state", "to_state")
    ) == [("", "raised"), ("raised", "cleared")]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"alarmPattern": [{"id": "1"}]}, "ackUserId"),
        ({"ackUserId": "jane", "alarmPattern": []}, "alarmPattern"),
        ({"ackUserId": "jane", "alarmPattern": [{}]}, "alarmPattern[0]"),
        ({"ackUserId": "jane", "alarmPattern": [{"colour": "red"}]}, "alarmPattern[0].colour"),
        (
            {"ackUserId": "jane", "alarmPattern": [{"alarmedObject": {}}]},
            "alarmPattern[0].alarmedObject.id",
        ),
    ],
)
def test_bad_task_input_is_400_and_changes_nothing(noc_api, alarms, body, field):
    response = noc_api.post(ACK, body, format="json")

    assert response.status_code == 400
    assert list(response.json()["errors"]) == [field]
    assert AlarmTask.objects.count() == 0
    assert Alarm.objects.filter(ack_state="acknowledged").count() == 0


def test_task_roles(agent_api, finance_api, alarms):
    body = {"clearUserId": "x", "alarmPattern": [{"id": alarms["other"]["id"]}]}
    assert agent_api.post(CLEAR, body, format="json").status_code == 403
    assert finance_api.get(CLEAR).status_code == 403
    assert agent_api.get(CLEAR).status_code == 200
    assert Alarm.objects.filter(state="cleared").count() == 0
