"""OpenAPI descriptions of the TMF642 answers, which the serializers build by hand.

Each serializer here only describes an answer (the views name it in `extend_schema`); it mirrors
the keys of the matching `to_representation` in `assurance.api.serializers`. `id`, `href` and
`@type` are added to every TMF representation by `telco.api.schema.describe_fields_selection`.
"""

from drf_spectacular.utils import extend_schema_serializer
from rest_framework import serializers

from telco.api.schema import (
    DATE_TIME,
    ENTITY_REF,
    MONEY,
    REF,
    STRING,
    array,
    described,
    extend,
    nullable,
    obj,
)
from telco.api.schema import read_only_text as _text
from telco.api.schema import read_only_time as _time

ALARM_REF = REF
COMMENT = obj({"comment": STRING, "userId": STRING, "systemId": STRING, "time": DATE_TIME})
# A pattern as it was given: the alarm attributes it matched on.
ALARM_PATTERN = {"type": "object", "additionalProperties": True}


@extend_schema_serializer(component_name="Alarm")
class AlarmAnswer(serializers.Serializer):
    """An alarm as TMF642 v4 shows it."""

    externalAlarmId = _text()
    alarmType = _text()
    perceivedSeverity = _text()
    probableCause = _text()
    specificProblem = _text()
    state = _text(help_text="raised, updated or cleared.")
    ackState = _text(help_text="acknowledged or unacknowledged.")
    ackUserId = _text()
    ackSystemId = _text()
    alarmRaisedTime = _time()
    alarmReportingTime = _time()
    alarmReportedTime = _time(help_text="The same as alarmReportingTime (an alias).")
    alarmChangedTime = _time(allow_null=True)
    alarmClearedTime = _time(allow_null=True)
    alarmedObject = described(ENTITY_REF)
    alarmedObjectType = _text()
    sourceSystemId = _text()
    serviceAffecting = serializers.BooleanField(read_only=True)
    affectedService = described(array(ENTITY_REF))
    alarmDetails = _text()
    occurrenceCount = serializers.IntegerField(read_only=True)
    isRootCause = serializers.BooleanField(read_only=True)
    correlatedAlarm = described(array(ALARM_REF))
    parentAlarm = described(array(ALARM_REF))
    comment = described(array(COMMENT))
    isFlapping = serializers.BooleanField(
        read_only=True,
        help_text="Extension: ALARM_FLAP_CYCLES raise/clear cycles within ALARM_FLAP_MINUTES.",
    )
    flapCount = serializers.IntegerField(
        read_only=True, help_text="Extension: raise/clear cycles in the current flap window."
    )


class AlarmBatchItemAnswer(serializers.Serializer):
    """What the batch did with one item: its index, outcome, alarm, and why if rejected."""

    index = serializers.IntegerField(read_only=True)
    outcome = _text(help_text="created, deduplicated, reopened, cleared or rejected.")
    alarm = described(ALARM_REF)
    status = _text(help_text="Rejected only: the HTTP status the item alone would get.")
    reason = _text(help_text="Rejected only.")
    errors = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()),
        read_only=True,
        help_text="Rejected only: messages by field name.",
    )


@extend_schema_serializer(component_name="AlarmBatchResult")
class AlarmBatchAnswer(serializers.Serializer):
    """The answer to a JSON array POSTed on /alarm (200, or 207 when an item was rejected)."""

    created = serializers.IntegerField(read_only=True)
    deduplicated = serializers.IntegerField(read_only=True)
    reopened = serializers.IntegerField(read_only=True)
    cleared = serializers.IntegerField(read_only=True)
    rejected = serializers.IntegerField(read_only=True)
    results = AlarmBatchItemAnswer(many=True, read_only=True)


@extend_schema_serializer(component_name="AckAlarms")
class AckAlarmsAnswer(serializers.Serializer):
    """An ackAlarms task: who acknowledged, when, and the alarms it acknowledged."""

    ackUserId = _text()
    ackSystemId = _text()
    ackTime = _time()
    ackedAlarm = described(array(ALARM_REF))
    state = _text()
    alarmPattern = described(array(ALARM_PATTERN))


@extend_schema_serializer(component_name="ClearAlarms")
class ClearAlarmsAnswer(serializers.Serializer):
    """A clearAlarms task: who cleared, when, and the alarms it cleared."""

    clearUserId = _text()
    clearSystemId = _text()
    alarmClearedTime = _time()
    clearedAlarm = described(array(ALARM_REF))
    state = _text()
    alarmPattern = described(array(ALARM_PATTERN))


@extend_schema_serializer(component_name="ProblemAcknowledgement")
class ProblemAcknowledgementAnswer(serializers.Serializer):
    """A problemAcknowledgement task (TMF656), done, with the problems as they now are."""

    state = _text()
    ackProblem = described(array(extend(REF, {"status": STRING})))


NUMBER_TEXT = nullable(STRING)  # decimals travel as strings, absent when not measured yet
SLA_MONTH = obj(
    {
        "product": obj({"id": STRING, "name": STRING}),
        "serviceLevelSpecification": obj({"id": STRING, "name": STRING}),
        "periodStart": STRING,
        "periodEnd": STRING,
        "isComplete": {"type": "boolean"},
        "availabilityTarget": NUMBER_TEXT,
        "achievedAvailability": NUMBER_TEXT,
        "outageMinutes": NUMBER_TEXT,
        "downMinutes": NUMBER_TEXT,
        "degradedMinutes": NUMBER_TEXT,
        "latencyTargetMs": nullable({"type": "integer"}),
        "latencyMinutes": NUMBER_TEXT,
        "isBreached": {"type": "boolean"},
        "incident": array(obj({"id": STRING})),
        "credit": obj(
            {"creditPercent": STRING, "amount": MONEY, "billNo": nullable(STRING)}, nullable=True
        ),
    }
)


@extend_schema_serializer(component_name="SlaReport")
class SlaReportAnswer(serializers.Serializer):
    """A customer's SLA products month by month, newest first."""

    customer = described(obj({"id": STRING, "name": STRING}))
    month = described(array(SLA_MONTH))
