"""TMF642 Alarm representations and the inputs of its POST and PATCH."""

from rest_framework import serializers
from rest_framework.fields import empty

from assurance.choices import AckState, AlarmState, AlarmType, Severity
from assurance.models import Alarm, AlarmTask
from assurance.services import PATTERN_ATTRIBUTES, UPDATABLE_ATTRIBUTES, AlarmReport
from telco.api.serializers import TMFSerializer, href_for
from telco.ids import parse_id


class AlarmedObjectSerializer(serializers.Serializer):
    id = serializers.CharField(max_length=120)


class AlarmCreateSerializer(serializers.Serializer):
    """The body of `POST /alarm`: the spec's mandatory attributes plus the optional ones we keep."""

    alarmRaisedTime = serializers.DateTimeField()
    alarmType = serializers.ChoiceField(choices=AlarmType.choices)
    alarmedObject = AlarmedObjectSerializer()
    perceivedSeverity = serializers.ChoiceField(choices=Severity.choices)
    probableCause = serializers.CharField(max_length=80)
    sourceSystemId = serializers.CharField(max_length=80)
    state = serializers.ChoiceField(choices=AlarmState.choices)
    specificProblem = serializers.CharField(max_length=200, required=False, allow_blank=True)
    alarmDetails = serializers.CharField(required=False, allow_blank=True)
    alarmedObjectType = serializers.CharField(max_length=60, required=False, allow_blank=True)
    externalAlarmId = serializers.CharField(max_length=80, required=False, allow_blank=True)

    def validate_state(self, value):
        if value != AlarmState.RAISED:
            raise serializers.ValidationError("A new alarm is reported with state 'raised'.")
        return value

    def validate_perceivedSeverity(self, value):
        if value == Severity.CLEARED:
            raise serializers.ValidationError(
                "An alarm is not raised as 'cleared'; clear it with PATCH state=cleared."
            )
        return value


class AlarmReportSerializer(serializers.Serializer):
    """One item of a batch `POST /alarm` (a JSON array): a raise as in the single POST, or a
    clear (`state: cleared`, or `perceivedSeverity: cleared` as X.733 sources say it) naming the
    same source, object, type, cause and specific problem as its raise."""

    alarmRaisedTime = serializers.DateTimeField(required=False)
    alarmClearedTime = serializers.DateTimeField(required=False)
    alarmType = serializers.ChoiceField(choices=AlarmType.choices)
    alarmedObject = AlarmedObjectSerializer()
    perceivedSeverity = serializers.ChoiceField(choices=Severity.choices, required=False)
    probableCause = serializers.CharField(max_length=80)
    sourceSystemId = serializers.CharField(max_length=80)
    state = serializers.ChoiceField(
        choices=[AlarmState.RAISED, AlarmState.CLEARED], default=AlarmState.RAISED
    )
    specificProblem = serializers.CharField(max_length=200, required=False, allow_blank=True)
    alarmDetails = serializers.CharField(required=False, allow_blank=True)
    alarmedObjectType = serializers.CharField(max_length=60, required=False, allow_blank=True)
    externalAlarmId = serializers.CharField(max_length=80, required=False, allow_blank=True)

    def validate(self, attrs):
        is_clear = (
            attrs["state"] == AlarmState.CLEARED
            or attrs.get("perceivedSeverity") == Severity.CLEARED
        )
        if not is_clear:
            for name in ("alarmRaisedTime", "perceivedSeverity"):
                if name not in attrs:
                    raise serializers.ValidationError({name: ["Required to raise an alarm."]})
        attrs["is_clear"] = is_clear
        return attrs

    def report(self) -> AlarmReport:
        """The validated item as the ingest service takes it."""
        return self.report_of(self.validated_data)

    @staticmethod
    def report_of(data: dict) -> AlarmReport:
        return AlarmReport(
            source_system_id=data["sourceSystemId"],
            alarmed_object_id=data["alarmedObject"]["id"],
            alarm_type=data["alarmType"],
            probable_cause=data["probableCause"],
            perceived_severity=data.get("perceivedSeverity", Severity.MAJOR),
            alarm_raised_time=data.get("alarmRaisedTime"),
            specific_problem=data.get("specificProblem", ""),
            alarm_details=data.get("alarmDetails", ""),
            alarmed_object_type=data.get("alarmedObjectType", ""),
            external_alarm_id=data.get("externalAlarmId", ""),
            is_clear=data["is_clear"],
            cleared_time=data.get("alarmClearedTime"),
        )


def _plain_text(value, field: serializers.CharField) -> bool:
    """Whether DRF's CharField takes `value` as it is (nothing to strip, convert or refuse)."""
    return (
        isinstance(value, str)
        and value.isascii()
        and "\x00" not in value
        and value == value.strip()
        and (field.max_length is None or len(value) <= field.max_length)
        and (bool(value) or field.allow_blank)
    )


SERIALIZER, CHOICE, TEXT, DATETIME, OTHER = range(5)


def _plan(fields) -> list[tuple]:
    """(name, field, kind, inner plan) per field of a serializer, read once per batch: walking
    DRF's field mapping and telling the fields' classes apart for every item cost more than
    checking the values."""
    plan = []
    for name, field in fields.items():
        if isinstance(field, serializers.Serializer):
            plan.append((name, field, SERIALIZER, _plan(field.fields)))
        elif isinstance(field, serializers.ChoiceField):
            plan.append((name, field, CHOICE, None))
        elif isinstance(field, serializers.CharField):
            plan.append((name, field, TEXT, None))
        elif isinstance(field, serializers.DateTimeField):
            plan.append((name, field, DATETIME, None))
        else:
            plan.append((name, field, OTHER, None))
    return plan


def _lean_fields(plan: list[tuple], item: dict, times: dict) -> dict | None:
    data = {}
    for name, field, kind, inner_plan in plan:
        if name not in item:
            if field.required:
                return None
            if field.default is not empty:
                data[name] = field.default
            continue
        value = item[name]
        if kind == SERIALIZER:
            inner = _lean_fields(inner_plan, value, times) if isinstance(value, dict) else None
            if inner is None:
                return None
            data[name] = inner
        elif kind == CHOICE:
            if not isinstance(value, str) or value not in field.choice_strings_to_values:
                return None
            data[name] = field.choice_strings_to_values[value]
        elif kind == TEXT:
            if not _plain_text(value, field):
                return None
            data[name] = value
        elif kind == DATETIME and isinstance(value, str):
            # A storm's reports share their times: each distinct text is parsed once.
            if (name, value) not in times:
                try:
                    times[name, value] = field.to_internal_value(value)
                except serializers.ValidationError:
                    times[name, value] = None
            if times[name, value] is None:
                return None
            data[name] = times[name, value]
        else:
            return None
    return data


class AlarmReportValidator:
    """Validates the items of a batch as `AlarmReportSerializer` does, without building a
    serializer per item (which deep-copies its fields each time: it cost more than storing and
    correlating the alarms). The plain item (strings as they are, known choices, ISO times) is
    checked here field by field against the serializer's own fields; any other answers None,
    and goes through the serializer, so every error reads exactly as DRF writes it."""

    def __init__(self):
        self.serializer = AlarmReportSerializer()
        self.plan = _plan(self.serializer.fields)
        self.times: dict[tuple[str, str], object] = {}

    def report(self, item) -> AlarmReport | None:
        if not isinstance(item, dict):
            return None
        data = _lean_fields(self.plan, item, self.times)
        if data is None:
            return None
        try:
            data = self.serializer.validate(data)
        except serializers.ValidationError:
            return None
        return AlarmReportSerializer.report_of(data)


class CommentSerializer(serializers.Serializer):
    comment = serializers.CharField()
    userId = serializers.CharField(required=False, allow_blank=True)
    systemId = serializers.CharField(required=False, allow_blank=True)
    time = serializers.DateTimeField(required=False)


class AlarmPatchSerializer(serializers.Serializer):
    """What TMF642's Alarm_Update lets a client change that we keep (the view refuses the rest).

    What the alarm says (`alarmType`, `probableCause`, `specificProblem`, `perceivedSeverity`,
    `alarmDetails`, `externalAlarmId`, `alarmedObjectType`) moves it to `updated`; `state` may
    be set to `updated` or `cleared` (with `alarmClearedTime`); `ackState` (with `ackUserId`,
    `ackSystemId`) and `comment`s leave the state as it is.
    """

    alarmType = serializers.ChoiceField(choices=AlarmType.choices, required=False)
    probableCause = serializers.CharField(max_length=80, required=False)
    specificProblem = serializers.CharField(max_length=200, required=False, allow_blank=True)
    perceivedSeverity = serializers.ChoiceField(choices=Severity.choices, required=False)
    alarmDetails = serializers.CharField(required=False, allow_blank=True)
    externalAlarmId = serializers.CharField(max_length=80, required=False, allow_blank=True)
    alarmedObjectType = serializers.CharField(max_length=60, required=False, allow_blank=True)
    ackState = serializers.ChoiceField(choices=AckState.choices, required=False)
    ackUserId = serializers.CharField(max_length=150, required=False)
    ackSystemId = serializers.CharField(max_length=80, required=False, allow_blank=True)
    comment = CommentSerializer(many=True, required=False)
    state = serializers.ChoiceField(choices=AlarmState.choices, required=False)
    alarmClearedTime = serializers.DateTimeField(required=False)

    # TMF name -> the alarm's field, for what the alarm says.
    ATTRIBUTES = {tmf: field for field, tmf in UPDATABLE_ATTRIBUTES.items()}

    def validate_state(self, value):
        if value == AlarmState.RAISED:
            raise serializers.ValidationError(
                "An alarm is raised once, by its report; PATCH sets 'updated' or 'cleared'."
            )
        return value

    def validate(self, attrs):
        if "alarmClearedTime" in attrs and attrs.get("state") != AlarmState.CLEARED:
            raise serializers.ValidationError(
                {"alarmClearedTime": "Given only with state 'cleared'."}
            )
        for name in ("ackUserId", "ackSystemId"):
            if name in attrs and attrs.get("ackState") != AckState.ACKNOWLEDGED:
                raise serializers.ValidationError(
                    {name: "Given only with ackState 'acknowledged'."}
                )
        return attrs

    def service_arguments(self) -> dict:
        """The validated body as `alarm_patch` keywords."""
        data = self.validated_data
        return {
            "changes": {field: data[tmf] for tmf, field in self.ATTRIBUTES.items() if tmf in data},
            "ack_state": data.get("ackState"),
            "ack_user_id": data.get("ackUserId", ""),
            "ack_system_id": data.get("ackSystemId", ""),
            "comments": data.get("comment"),
            "state": data.get("state"),
            "cleared_time": data.get("alarmClearedTime"),
        }


class AlarmSerializer(TMFSerializer):
    """An alarm as TMF642 v4 shows it."""

    tmf_type = "Alarm"
    url_name = "assurance-api:alarm-detail"

    class Meta:
        model = Alarm
        fields = ()

    def to_representation(self, instance):
        body = super().to_representation(instance)
        body.update(
            {
                "externalAlarmId": instance.external_alarm_id,
                "alarmType": instance.alarm_type,
                "perceivedSeverity": instance.perceived_severity,
                "probableCause": instance.probable_cause,
                "specificProblem": instance.specific_problem,
                "state": instance.state,
                "ackState": instance.ack_state,
                "ackUserId": instance.ack_user_id,
                "ackSystemId": instance.ack_system_id,
                "alarmRaisedTime": _iso(instance.alarm_raised_time),
                # The spec's name is alarmReportingTime; alarmReportedTime is kept as an alias.
                "alarmReportingTime": _iso(instance.alarm_reported_time),
                "alarmReportedTime": _iso(instance.alarm_reported_time),
                "alarmChangedTime": _iso(instance.alarm_changed_time),
                "alarmClearedTime": _iso(instance.alarm_cleared_time),
                "alarmedObject": self.alarmed_object(instance),
                "alarmedObjectType": instance.alarmed_object_type,
                "sourceSystemId": instance.source_system_id,
                "serviceAffecting": instance.is_service_affecting,
                "affectedService": [
                    {
                        "id": str(service.pk),
                        "href": href_for(self.request, "inventory-api:service-detail", service.pk),
                        "name": service.name,
                        "@referredType": "Service",
                    }
                    for service in instance.affected_services.all()
                ],
                "alarmDetails": instance.alarm_details,
                "occurrenceCount": instance.occurrence_count,
                "isRootCause": instance.is_root_cause,
                # The alarms of the fault this root alarm causes (empty on the others).
                "correlatedAlarm": [
                    {
                        "id": str(symptom.pk),
                        "href": href_for(self.request, "assurance-api:alarm-detail", symptom.pk),
                        "@referredType": "Alarm",
                    }
                    for symptom in instance.correlated_alarms.all()
                ]
                if instance.is_root_cause
                else [],
                # Extensions: a raise/clear cycle repeated soon reopens the alarm (a flap).
                "isFlapping": instance.is_flapping,
                "flapCount": instance.flap_count,
                "parentAlarm": [],
                "comment": instance.comments,
            }
        )
        # `@type` last, as the base class puts it.
        body["@type"] = body.pop("@type")
        return body

    def alarmed_object(self, instance) -> dict:
        reference = {"id": instance.alarmed_object_ref, "@referredType": "Resource"}
        if instance.resource_id:
            reference["href"] = href_for(
                self.request, "inventory-api:resource-detail", instance.resource_id
            )
            reference["name"] = instance.resource.name
        return reference


def _iso(value):
    return serializers.DateTimeField().to_representation(value) if value else None


class AlarmPatternField(serializers.ListField):
    """alarmPattern: a non-empty list of patterns, each naming attributes we can match on."""

    MATCHABLE = {*PATTERN_ATTRIBUTES, "alarmedObject"}
    INFORMATIVE = {"href", "name", "@type", "@baseType", "@schemaLocation", "@referredType"}

    def __init__(self, **kwargs):
        super().__init__(child=serializers.DictField(), allow_empty=False, **kwargs)

    def to_internal_value(self, data):
        patterns = super().to_internal_value(data)
        cleaned = []
        for index, pattern in enumerate(patterns):
            unknown = sorted(set(pattern) - self.MATCHABLE - self.INFORMATIVE)
            if unknown:
                raise serializers.ValidationError(
                    {
                        index: {
                            name: ["Alarms cannot be matched on this attribute."]
                            for name in unknown
                        }
                    }
                )
            kept = {name: value for name, value in pattern.items() if name in self.MATCHABLE}
            if not kept:
                raise serializers.ValidationError(
                    {index: ["A pattern names at least one attribute."]}
                )
            if "alarmedObject" in kept and not (
                isinstance(kept["alarmedObject"], dict) and kept["alarmedObject"].get("id")
            ):
                raise serializers.ValidationError({index: {"alarmedObject.id": ["Required."]}})
            if "id" in kept and parse_id(kept["id"]) is None:
                raise serializers.ValidationError({index: {"id": ["Not an alarm id."]}})
            cleaned.append(kept)
        return cleaned


class AckAlarmsCreateSerializer(serializers.Serializer):
    ackUserId = serializers.CharField(max_length=150)
    ackSystemId = serializers.CharField(max_length=80, required=False, allow_blank=True)
    alarmPattern = AlarmPatternField()


class ClearAlarmsCreateSerializer(serializers.Serializer):
    clearUserId = serializers.CharField(max_length=150)
    clearSystemId = serializers.CharField(max_length=80, required=False, allow_blank=True)
    alarmClearedTime = serializers.DateTimeField(required=False)
    alarmPattern = AlarmPatternField()


class AlarmTaskSerializer(TMFSerializer):
    """ackAlarms / clearAlarms as TMF642 shows them: the request and the alarms it moved."""

    class Meta:
        model = AlarmTask
        fields = ()

    def to_representation(self, instance):
        body = super().to_representation(instance)
        moved = [
            {
                "id": str(alarm.pk),
                "href": href_for(self.request, "assurance-api:alarm-detail", alarm.pk),
                "@referredType": "Alarm",
            }
            for alarm in instance.alarms.all()
        ]
        if instance.kind == "ackAlarms":
            body.update(
                ackUserId=instance.user_id,
                ackSystemId=instance.system_id,
                ackTime=_iso(instance.effective_time),
                ackedAlarm=moved,
            )
        else:
            body.update(
                clearUserId=instance.user_id,
                clearSystemId=instance.system_id,
                alarmClearedTime=_iso(instance.effective_time),
                clearedAlarm=moved,
            )
        body.update(state=instance.state, alarmPattern=instance.alarm_pattern)
        body["@type"] = body.pop("@type")
        return body


class AckAlarmsSerializer(AlarmTaskSerializer):
    tmf_type = "AckAlarms"
    url_name = "assurance-api:ackAlarms-detail"


class ClearAlarmsSerializer(AlarmTaskSerializer):
    tmf_type = "ClearAlarms"
    url_name = "assurance-api:clearAlarms-detail"
