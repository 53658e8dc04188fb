"""TMF642 PATCH /alarm/{id}: what the spec's Alarm_Update allows, through the alarm's state
machine and history; deduplication stays coherent when a reduction-key attribute changes."""

from datetime import UTC, datetime

import pytest
import time_machine

from assurance.models import Alarm, AlarmStateChange
from inventory.tests.factories import GnbFactory

pytestmark = pytest.mark.django_db

ALARMS = "/tmf-api/alarmManagement/v4/alarm"
NOW = datetime(2027, 5, 10, 8, 15, tzinfo=UTC)


def alarm_body(object_id, **overrides) -> dict:
    return {
        "alarmRaisedTime": "2027-05-10T08:00:00Z",
        "alarmType": "communicationsAlarm",
        "alarmedObject": {"id": str(object_id)},
        "perceivedSeverity": "critical",
        "probableCause": "lossOfSignal",
        "sourceSystemId": "ems-north",
        "state": "raised",
        **overrides,
    }


@pytest.fixture
def gnb():
    return GnbFactory(name="gnb-north-1")


def raise_alarm(noc_api, gnb, **overrides) -> dict:
    response = noc_api.post(ALARMS, alarm_body(gnb.pk, **overrides), format="json")
    assert response.status_code == 201, response.json()
    return response.json()


def history(alarm_id) -> list[tuple]:
    return list(
        AlarmStateChange.objects.filter(alarm_id=alarm_id)
        .order_by("id")
        .values_list("from_state", "to_state", "changed_by", "reason")
    )


def test_patch_rewrites_what_the_alarm_says_and_records_who_and_when(noc_api, gnb):
    alarm = raise_alarm(noc_api, gnb)

    with time_machine.travel(NOW, tick=False):
        response = noc_api.patch(
            f"{ALARMS}/{alarm['id']}",
            {
                "alarmType": "equipmentAlarm",
                "probableCause": "powerProblem",
                "specificProblem": "PSU 2 failed",
                "perceivedSeverity": "major",
                "alarmDetails": "rectifier alarm",
                "externalAlarmId": "ems-4711",
                "alarmedObjectType": "gNB",
            },
            content_type="application/merge-patch+json",
        )

    assert response.status_code == 200, response.json()
    body = response.json()
    assert {
        key: body[key]
        for key in (
            "state",
            "alarmType",
            "probableCause",
            "specificProblem",
            "perceivedSeverity",
            "alarmDetails",
            "externalAlarmId",
            "alarmedObjectType",
            "alarmChangedTime",
        )
    } == {
        "state": "updated",
        "alarmType": "equipmentAlarm",
        "probableCause": "powerProblem",
        "specificProblem": "PSU 2 failed",
        "perceivedSeverity": "major",
        "alarmDetails": "rectifier alarm",
        "externalAlarmId": "ems-4711",
        "alarmedObjectType": "gNB",
        "alarmChangedTime": "2027-05-10T08:15:00Z",
    }
    change = AlarmStateChange.objects.filter(alarm_id=alarm["id"]).order_by("id").last()
    assert (change.from_state, change.to_state, change.changed_by, change.changed_at) == (
        "raised",
        "updated",
        "noc1",
        NOW,
    )
    assert change.reason == (
        "alarmType: 'communicationsAlarm' -> 'equipmentAlarm'; "
        "probableCause: 'lossOfSignal' -> 'powerProblem'; "
        "specificProblem: '' -> 'PSU 2 failed'; "
        "perceivedSeverity: 'critical' -> 'major'; "
        "alarmDetails: '' -> 'rectifier alarm'; "
        "externalAlarmId: '' -> 'ems-4711'; "
        "alarmedObjectType: '' -> 'gNB'"
    )


def test_state_updated_moves_raised_to_updated_and_updated_again(noc_api, gnb):
    alarm = raise_alarm(noc_api, gnb)

    first = noc_api.patch(f"{ALARMS}/{alarm['id']}", {"state": "updated"}, format="json")
    second = noc_api.patch(f"{ALARMS}/{alarm['id']}", {"state": "updated"}, format="json")

    assert (first.status_code, second.status_code) == (200, 200)
    assert second.json()["state"] == "updated"
    assert [(f, t) for f, t, _, _ in history(alarm["id"])] == [
        ("", "raised"),
        ("raised", "updated"),
        ("updated", "updated"),
    ]


def test_acknowledging_and_commenting_leave_the_state(noc_api, gnb):
    alarm = raise_alarm(noc_api, gnb)

    response = noc_api.patch(
        f"{ALARMS}/{alarm['id']}",
        {
            "ackState": "acknowledged",
            "ackUserId": "jane",
            "ackSystemId": "noc-console",
            "comment": [{"comment": "looking", "time": "2027-05-10T08:20:00Z"}],
        },
        format="json",
    )

    assert response.status_code == 200, response.json()
    body = response.json()
    assert (body["state"], body["ackState"], body["ackUserId"], body["ackSystemId"]) == (
        "raised",
        "acknowledged",
        "jane",
        "noc-console",
    )
    assert [c["comment"] for c in body["comment"]] == ["looking"]
    assert history(alarm["id"])[-1] == ("unacknowledged", "acknowledged", "noc1", "acknowledged")


def test_clear_by_patch_takes_the_cleared_time(noc_api, gnb):
    alarm = raise_alarm(noc_api, gnb)

    response = noc_api.patch(
        f"{ALARMS}/{alarm['id']}",
        {"state": "cleared", "alarmClearedTime": "2027-05-10T08:30:00Z"},
        format="json",
    )

    assert response.status_code == 200, response.json()
    assert (response.json()["state"], response.json()["alarmClearedTime"]) == (
        "cleared",
        "2027-05-10T08:30:00Z",
    )


def test_a_new_cause_rekeys_the_alarm_so_deduplication_follows_it(noc_api, gnb):
    alarm = raise_alarm(noc_api, gnb)
    noc_api.patch(f"{ALARMS}/{alarm['id']}", {"probableCause": "powerProblem"}, format="json")

    repeat_of_new_fault = noc_api.post(
        ALARMS, alarm_body(gnb.pk, probableCause="powerProblem"), format="json"
    )
    report_of_old_fault = noc_api.post(ALARMS, alarm_body(gnb.pk), format="json")

    assert repeat_of_new_fault.status_code == 200
    assert repeat_of_new_fault.json()["id"] == alarm["id"]
    assert repeat_of_new_fault.json()["occurrenceCount"] == 2
    assert report_of_old_fault.status_code == 201
    assert report_of_old_fault.json()["id"] != alarm["id"]
    assert sorted(Alarm.objects.values_list("probable_cause", "occurrence_count")) == [
        ("lossOfSignal", 1),
        ("powerProblem", 2),
    ]


def test_a_new_key_another_active_alarm_has_is_409_and_changes_nothing(noc_api, gnb):
    alarm = raise_alarm(noc_api, gnb)
    raise_alarm(noc_api, gnb, probableCause="powerProblem")
    before = noc_api.get(f"{ALARMS}/{alarm['id']}").json()
    rows = history(alarm["id"])

    response = noc_api.patch(
        f"{ALARMS}/{alarm['id']}",
        {"probableCause": "powerProblem", "perceivedSeverity": "minor"},
        format="json",
    )

    assert response.status_code == 409
    assert list(response.json()["errors"]) == ["probableCause"]
    assert noc_api.get(f"{ALARMS}/{alarm['id']}").json() == before
    assert history(alarm["id"]) == rows


def test_the_key_of_a_cleared_alarm_is_free_to_take(noc_api, gnb):
    alarm = raise_alarm(noc_api, gnb)
    other = raise_alarm(noc_api, gnb, probableCause="powerProblem")
    noc_api.patch(f"{ALARMS}/{other['id']}", {"state": "cleared"}, format="json")

    response = noc_api.patch(
        f"{ALARMS}/{alarm['id']}", {"probableCause": "powerProblem"}, format="json"
    )

    assert response.status_code == 200, response.json()
    assert response.json()["probableCause"] == "powerProblem"


@pytest.mark.parametrize(
    "patch",
    [
        {"probableCause": "powerProblem"},
        {"state": "updated"},
        {"state": "cleared"},
        {"ackState": "acknowledged"},
        {"comment": [{"comment": "too late"}]},
        {"perceivedSeverity": "critical"},  # even a value it already has
    ],
)
def test_anything_on_a_cleared_alarm_is_409_and_changes_nothing(noc_api, gnb, patch):
    alarm = raise_alarm(noc_api, gnb)
    noc_api.patch(f"{ALARMS}/{alarm['id']}", {"state": "cleared"}, format="json")
    before = noc_api.get(f"{ALARMS}/{alarm['id']}").json()
    rows = history(alarm["id"])

    response = noc_api.patch(f"{ALARMS}/{alarm['id']}", patch, format="json")

    assert response.status_code == 409
    assert response.json()["code"] == "invalidStateTransition"
    assert noc_api.get(f"{ALARMS}/{alarm['id']}").json() == before
    assert history(alarm["id"]) == rows


@pytest.mark.parametrize(
    ("patch", "field"),
    [
        ({"alarmType": "badAlarm"}, "alarmType"),
        ({"probableCause": ""}, "probableCause"),
        ({"probableCause": "x" * 81}, "probableCause"),
        ({"state": "raised"}, "state"),
        ({"alarmClearedTime": "2027-05-10T08:30:00Z"}, "alarmClearedTime"),
        ({"ackUserId": "jane"}, "ackUserId"),
        ({"alarmedObject": {"id": "1"}}, "alarmedObject"),
    ],
)
def test_a_bad_patch_is_400_naming_the_field_and_changes_nothing(noc_api, gnb, patch, field):
    alarm = raise_alarm(noc_api, gnb)
    before = noc_api.get(f"{ALARMS}/{alarm['id']}").json()

    response = noc_api.patch(f"{ALARMS}/{alarm['id']}", patch, format="json")

    assert response.status_code == 400
    assert list(response.json()["errors"]) == [field]
    assert noc_api.get(f"{ALARMS}/{alarm['id']}").json() == before
    assert len(history(alarm["id"])) == 1


def test_only_the_noc_patches_alarms(agent_api, noc_api, gnb):
    alarm = raise_alarm(noc_api, gnb)

    response = agent_api.patch(
        f"{ALARMS}/{alarm['id']}", {"probableCause": "powerProblem"}, format="json"
    )

    assert response.status_code == 403
    assert Alarm.objects.get().probable_cause == "lossOfSignal"
