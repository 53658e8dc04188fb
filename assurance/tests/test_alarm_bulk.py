"""Many alarms in one TMF642 POST: per-item answers, set-based deduplication, clears, limits."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from assurance.models import Alarm, AlarmStateChange
from assurance.services import AlarmReport, alarms_ingest
from assurance.tests.factories import subscribe
from inventory.tests.factories import GnbFactory, SliceFactory

pytestmark = pytest.mark.django_db

ALARMS = "/tmf-api/alarmManagement/v4/alarm"


def item(object_id, **overrides) -> dict:
    body = {
        "alarmRaisedTime": "2026-11-24T10:00:00Z",
        "alarmType": "communicationsAlarm",
        "alarmedObject": {"id": str(object_id)},
        "perceivedSeverity": "critical",
        "probableCause": "lossOfSignal",
        "sourceSystemId": "ems-north",
        "state": "raised",
    }
    body.update(overrides)
    return body


@pytest.fixture
def network():
    gnb = GnbFactory(name="gnb-bulk-1")
    slice_ = SliceFactory(parent=gnb, name="slice-bulk-1")
    other = GnbFactory(name="gnb-bulk-2")
    subscription = subscribe(gnb, slice_)
    return {"gnb": gnb, "slice": slice_, "other": other, "subscription": subscription}


def test_a_batch_answers_per_item_and_stores_every_valid_one(noc_api, network):
    gnb, other = network["gnb"], network["other"]
    existing = noc_api.post(ALARMS, item(other.name, probableCause="powerProblem"), format="json")
    assert existing.status_code == 201

    answer = noc_api.post(
        ALARMS,
        [
            item(gnb.name),  # 0 created
            item(gnb.pk, perceivedSeverity="major"),  # 1 the same fault by id: deduplicated
            item(other.name, probableCause="powerProblem"),  # 2 repeat of a stored alarm
            item("no-such-element"),  # 3 unknown resource
            item(other.name, perceivedSeverity="loud"),  # 4 bad field
            item(other.name, probableCause="powerProblem", state="cleared"),  # 5 clear of 2
            "not an alarm",  # 6
            item(other.name, probableCause="fanFailure", state="cleared"),  # 7 nothing to clear
        ],
        format="json",
    )

    assert answer.status_code == 207, answer.json()
    body = answer.json()
    created = Alarm.objects.get(probable_cause="lossOfSignal")
    stored = Alarm.objects.get(probable_cause="powerProblem")
    href = f"http://testserver{ALARMS}/"
    assert {key: body[key] for key in OUTCOME_KEYS} == {
        "created": 1,
        "deduplicated": 2,
        "reopened": 0,
        "cleared": 1,
        "rejected": 4,
    }
    results = body["results"]
    assert [result["outcome"] for result in results] == [
        "created",
        "deduplicated",
        "deduplicated",
        "rejected",
        "rejected",
        "cleared",
        "rejected",
        "rejected",
    ]
    assert results[0]["alarm"] == {
        "id": str(created.pk),
        "href": f"{href}{created.pk}",
        "@referredType": "Alarm",
    }
    assert results[1]["alarm"]["id"] == str(created.pk)
    assert results[2]["alarm"]["id"] == results[5]["alarm"]["id"] == str(stored.pk)
    assert results[3] == {
        "index": 3,
        "outcome": "rejected",
        "status": "400",
        "reason": "alarmedObject.id: No resource in the inventory has this id or name.",
        "errors": {"alarmedObject.id": ["No resource in the inventory has this id or name."]},
    }
    assert results[4]["status"] == "400"
    assert list(results[4]["errors"]) == ["perceivedSeverity"]
    assert list(results[6]["errors"]) == ["non_field_errors"]
    assert results[7]["status"] == "404"
    # Two reports of one fault: one alarm, counted twice, its latest severity.
    assert created.occurrence_count == 2
    assert created.perceived_severity == "major"
    assert created.is_service_affecting is True
    assert list(created.affected_services.all()) == [network["subscription"].service]
    assert stored.state == "cleared"
    assert stored.occurrence_count == 2
    assert stored.alarm_cleared_time is not None
    assert Alarm.objects.count() == 2
    assert list(
        AlarmStateChange.objects.filter(alarm=stored).values_list("from_state", "to_state")
    ) == [("", "raised"), ("raised", "cleared")]
    assert list(
        AlarmStateChange.objects.filter(alarm=created).values_list("from_state", "to_state")
    ) == [("", "raised")]


OUTCOME_KEYS = ("created", "deduplicated", "reopened", "cleared", "rejected")


def test_an_all_valid_batch_is_200_and_the_alarm_reads_back(noc_api, network):
    answer = noc_api.post(
        ALARMS, [item(network["slice"].name), item(network["gnb"].name)], format="json"
    )

    assert answer.status_code == 200, answer.json()
    assert [r["outcome"] for r in answer.json()["results"]] == ["created", "created"]
    alarm_id = answer.json()["results"][0]["alarm"]["id"]
    shown = noc_api.get(f"{ALARMS}/{alarm_id}").json()
    assert shown["alarmedObject"]["name"] == "slice-bulk-1"
    assert shown["serviceAffecting"] is True
    assert shown["isFlapping"] is False
    assert shown["flapCount"] == 0


def test_limits_roles_and_the_single_post(noc_api, agent_api, network, settings):
    settings.ALARM_BATCH_MAX = 2

    too_many = noc_api.post(ALARMS, [item(network["gnb"].name)] * 3, format="json")
    empty = noc_api.post(ALARMS, [], format="json")
    forbidden = agent_api.post(ALARMS, [item(network["gnb"].name)], format="json")

    assert too_many.status_code == 413
    assert too_many.json()["code"] == "batchTooLarge"
    assert empty.status_code == 400
    assert forbidden.status_code == 403
    assert Alarm.objects.count() == 0
    single = noc_api.post(ALARMS, item(network["gnb"].name), format="json")
    assert single.status_code == 201
    assert single.json()["occurrenceCount"] == 1


def test_the_service_costs_the_same_statements_for_any_batch_size(network):
    def batch(size: int, cause: str) -> list[AlarmReport]:
        return [
            AlarmReport(
                source_system_id="ems",
                alarmed_object_id=network["gnb"].name if n % 2 else network["slice"].name,
                alarm_type="communicationsAlarm",
                probable_cause=f"{cause}-{n // 2}",
                perceived_severity="major",
            )
            for n in range(size)
        ]

    with CaptureQueriesContext(connection) as small:
        alarms_ingest(batch(4, "small"), by="ems")
    with CaptureQueriesContext(connection) as large:
        results = alarms_ingest(batch(400, "large"), by="ems")

    assert len(large) == len(small)
    assert {result.outcome for result in results} == {"created"}
    assert Alarm.objects.filter(probable_cause__startswith="large").count() == 400


def test_the_batch_validator_agrees_with_the_serializer_or_defers_to_it():
    """The lean per-item validator of a batch vouches only for what the serializer takes as
    it is, with the same report; anything else (conversions, errors) goes to the serializer."""
    from assurance.api.serializers import AlarmReportSerializer, AlarmReportValidator

    plain = [
        item("gnb-1"),
        item("gnb-1", state="cleared", alarmClearedTime="2026-11-24T10:05:00+01:00"),
        item("gnb-1", perceivedSeverity="cleared"),
        item("gnb-1", alarmRaisedTime="2026-11-24T10:00:00", specificProblem="", extra=1),
        item("gnb-1", alarmDetails="rx -40 dBm", externalAlarmId="e-7", alarmedObjectType="gNB"),
    ]
    deferred = [
        "not an alarm",
        {"alarmedObject": {"id": "gnb-1"}},
        item("gnb-1", probableCause=" padded "),
        item("gnb-1", sourceSystemId=5),
        item("gnb-1", alarmDetails="Störung"),
        item("gnb-1", probableCause="x" * 81),
        item("gnb-1", perceivedSeverity="loud"),
        item("gnb-1", alarmRaisedTime="yesterday"),
        item("gnb-1", alarmedObject={"id": 7}),
        item("gnb-1", specificProblem=None),
        {key: value for key, value in item("gnb-1").items() if key != "alarmRaisedTime"},
    ]
    validator = AlarmReportValidator()
    for body in plain:
        serializer = AlarmReportSerializer(data=body)
        assert serializer.is_valid(), serializer.errors
        assert validator.report(body) == serializer.report()
    for body in deferred:
        assert validator.report(body) is None
