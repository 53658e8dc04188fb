"""Flapping: a raise soon after its clear reopens the alarm and counts a cycle (one alarm)."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from assurance.models import Alarm, AlarmStateChange
from assurance.services import AlarmReport, alarms_ingest
from inventory.tests.factories import GnbFactory

pytestmark = pytest.mark.django_db

ALARMS = "/tmf-api/alarmManagement/v4/alarm"
START = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def flap_settings(settings):
    settings.ALARM_FLAP_MINUTES = 10
    settings.ALARM_FLAP_CYCLES = 3


@pytest.fixture
def gnb():
    return GnbFactory(name="gnb-flap-1")


def report(gnb, *, clear: bool = False) -> AlarmReport:
    return AlarmReport(
        source_system_id="ems",
        alarmed_object_id=gnb.name,
        alarm_type="communicationsAlarm",
        probable_cause="linkDown",
        perceived_severity="major",
        is_clear=clear,
    )


def send(gnb, *clears: bool, at: datetime) -> list[str]:
    with time_machine.travel(at, tick=False):
        results = alarms_ingest([report(gnb, clear=clear) for clear in clears], by="ems")
    return [result.outcome for result in results]


def test_a_raise_soon_after_its_clear_reopens_the_alarm(gnb):
    assert send(gnb, False, at=START) == ["created"]
    assert send(gnb, True, at=START + timedelta(minutes=1)) == ["cleared"]

    assert send(gnb, False, at=START + timedelta(minutes=3)) == ["reopened"]

    alarm = Alarm.objects.get()
    assert alarm.state == "raised"
    assert alarm.alarm_cleared_time is None
    assert alarm.flap_count == 1
    assert alarm.flap_window_start == START + timedelta(minutes=3)
    assert alarm.is_flapping is False
    assert alarm.occurrence_count == 2
    assert list(
        AlarmStateChange.objects.filter(alarm=alarm).values_list("from_state", "to_state")
    ) == [("", "raised"), ("raised", "cleared"), ("cleared", "raised")]
    assert AlarmStateChange.objects.filter(alarm=alarm).last().reason == (
        "raised again within 10 min of its clear: flap cycle 1"
    )


def test_n_cycles_within_the_window_mark_one_alarm_flapping(gnb, noc_api):
    send(gnb, False, at=START)
    outcomes = []
    for cycle in range(3):
        at = START + timedelta(minutes=2 * cycle + 1)
        outcomes += send(gnb, True, at=at) + send(gnb, False, at=at + timedelta(minutes=1))

    assert outcomes == ["cleared", "reopened"] * 3
    alarm = Alarm.objects.get()
    assert alarm.flap_count == 3
    assert alarm.is_flapping is True
    body = noc_api.get(f"{ALARMS}/{alarm.pk}").json()
    assert body["isFlapping"] is True
    assert body["flapCount"] == 3


def test_cycles_in_one_batch_keep_their_order(gnb):
    with time_machine.travel(START, tick=False):
        results = alarms_ingest(
            [report(gnb), report(gnb, clear=True), report(gnb), report(gnb, clear=True)]
            + [report(gnb), report(gnb)],
            by="ems",
        )

    assert [r.outcome for r in results] == [
        "created",
        "cleared",
        "reopened",
        "cleared",
        "reopened",
        "deduplicated",
    ]
    alarm = Alarm.objects.get()
    assert (alarm.state, alarm.flap_count, alarm.occurrence_count) == ("raised", 2, 4)


def test_a_raise_after_the_window_is_a_new_alarm_and_old_cycles_expire(gnb):
    send(gnb, False, at=START)
    send(gnb, True, at=START + timedelta(minutes=1))
    send(gnb, False, at=START + timedelta(minutes=2))  # cycle 1
    send(gnb, True, at=START + timedelta(minutes=3))
    # The next reopen comes after the window the first cycle opened: counting starts again.
    assert send(gnb, False, at=START + timedelta(minutes=12, seconds=30)) == ["reopened"]
    assert Alarm.objects.get().flap_count == 1
    send(gnb, True, at=START + timedelta(minutes=13))

    assert send(gnb, False, at=START + timedelta(minutes=30)) == ["created"]

    assert Alarm.objects.count() == 2
    assert list(Alarm.objects.order_by("pk").values_list("state", flat=True)) == [
        "cleared",
        "raised",
    ]


def test_a_clear_by_the_noc_then_a_single_post_is_still_a_new_alarm(gnb, noc_api):
    """The single TMF POST keeps its behaviour: flapping is the network feed's (bulk, traps)."""
    body = {
        "alarmRaisedTime": "2026-11-24T10:00:00Z",
        "alarmType": "communicationsAlarm",
        "alarmedObject": {"id": gnb.name},
        "perceivedSeverity": "major",
        "probableCause": "linkDown",
        "sourceSystemId": "ems",
        "state": "raised",
    }
    first = noc_api.post(ALARMS, body, format="json").json()
    noc_api.patch(f"{ALARMS}/{first['id']}", {"state": "cleared"}, format="json")

    again = noc_api.post(ALARMS, body, format="json")

    assert again.status_code == 201
    assert again.json()["id"] != first["id"]
