"""TMF642 Alarm Management: alarms, and the ackAlarms / clearAlarms tasks."""

from django.conf import settings
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from assurance import selectors, services
from assurance.api.schema import (
    AckAlarmsAnswer,
    AlarmAnswer,
    AlarmBatchAnswer,
    ClearAlarmsAnswer,
)
from assurance.api.serializers import (
    AckAlarmsCreateSerializer,
    AckAlarmsSerializer,
    AlarmCreateSerializer,
    AlarmPatchSerializer,
    AlarmReportSerializer,
    AlarmReportValidator,
    AlarmSerializer,
    ClearAlarmsCreateSerializer,
    ClearAlarmsSerializer,
)
from assurance.choices import AlarmTaskKind, IngestOutcome
from telco.api.errors import error_body
from telco.api.serializers import href_for
from telco.api.views import TMFCreateMixin, TMFPatchMixin, TMFViewSet
from telco.roles import AGENT, NOC

OUTCOMES = [outcome.value for outcome in IngestOutcome]
HREF_PLACEHOLDER = 987654321987654321


def field_errors(detail, prefix: str = "") -> dict[str, list[str]]:
    """A batch item's validation errors by field path (`alarmedObject.id`)."""
    if isinstance(detail, dict):
        flat = {}
        for key, value in detail.items():
            flat.update(field_errors(value, f"{prefix}.{key}" if prefix else str(key)))
        return flat
    messages = detail if isinstance(detail, list) else [detail]
    return {prefix or "non_field_errors": [str(message) for message in messages]}


@extend_schema(responses=AlarmAnswer)
class AlarmViewSet(TMFCreateMixin, TMFPatchMixin, TMFViewSet):
    """`/alarm`: the network's fault source reports (POST one alarm, or a JSON array of raises
    and clears); the NOC updates, acks and clears."""

    serializer_class = AlarmSerializer
    # The network's feed: its own rate budget (settings.API_THROTTLE_RATES["ingest"]).
    throttle_scope = "ingest"
    read_roles = (NOC, AGENT)
    write_roles = (NOC,)
    # TMF642 Alarm_Update, less what we do not keep or derive ourselves (see README).
    patchable_fields = (
        "alarmType",
        "probableCause",
        "specificProblem",
        "perceivedSeverity",
        "alarmDetails",
        "externalAlarmId",
        "alarmedObjectType",
        "ackState",
        "ackUserId",
        "ackSystemId",
        "comment",
        "state",
        "alarmClearedTime",
    )
    filter_attributes = {
        "state": "state",
        "ackState": "ack_state",
        "perceivedSeverity": "perceived_severity",
        "alarmType": "alarm_type",
        "probableCause": "probable_cause",
        "specificProblem": "specific_problem",
        "sourceSystemId": "source_system_id",
        "externalAlarmId": "external_alarm_id",
        "serviceAffecting": "is_service_affecting",
        "alarmedObject.id": "alarmed_object_ref",
        "alarmRaisedTime": "alarm_raised_time",
        "alarmChangedTime": "alarm_changed_time",
        "alarmClearedTime": "alarm_cleared_time",
        "affectedService.id": "affected_services__pk",
    }

    def get_queryset(self):
        return selectors.alarm_list()

    def get_serializer(self, *args, **kwargs):
        if "data" in kwargs and self.action == "create":
            return AlarmCreateSerializer(data=kwargs["data"])
        if "data" in kwargs and self.action == "partial_update":
            return AlarmPatchSerializer(data=kwargs["data"])
        return super().get_serializer(*args, **kwargs)

    @extend_schema(responses={201: AlarmAnswer, 200: AlarmAnswer, 207: AlarmBatchAnswer})
    def create(self, request, *args, **kwargs):
        return super().create(request, *args, **kwargs)

    def _create(self, request):
        if isinstance(request.data, list):
            return self.batch_create(request.data)
        return super()._create(request)

    def batch_create(self, items: list) -> Response:
        """A JSON array: every valid item stored, every invalid one answered, per index."""
        if not items:
            raise ValidationError({"non_field_errors": ["The array holds no alarm."]})
        if len(items) > settings.ALARM_BATCH_MAX:
            message = f"A batch holds at most {settings.ALARM_BATCH_MAX} alarms; split it."
            body = error_body(413, "batchTooLarge", "Payload Too Large", message)
            return Response(body, status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE)
        reports, indexes, answers = [], [], {}
        validator = AlarmReportValidator()
        for index, item in enumerate(items):
            report = validator.report(item)
            if report is not None:
                reports.append(report)
                indexes.append(index)
                continue
            serializer = AlarmReportSerializer(data=item)
            if serializer.is_valid():
                reports.append(serializer.report())
                indexes.append(index)
            else:
                errors = field_errors(serializer.errors)
                answers[index] = self.rejection(index, errors)
        results = services.alarms_ingest(reports, by=self.request.user.get_username())
        # Every answer's href differs by the id only: reverse the route once.
        before, _, after = href_for(
            self.request, "assurance-api:alarm-detail", HREF_PLACEHOLDER
        ).rpartition(str(HREF_PLACEHOLDER))
        for result in results:
            index = indexes[result.index]
            if result.outcome == IngestOutcome.REJECTED:
                errors = {result.field or "non_field_errors": [result.reason]}
                # A bad reference is the item's fault (400); a clear of nothing is a 404.
                answers[index] = self.rejection(index, errors, 400 if result.field else 404)
            else:
                answers[index] = {
                    "index": index,
                    "outcome": result.outcome,
                    "alarm": {
                        "id": str(result.alarm_id),
                        "href": f"{before}{result.alarm_id}{after}",
                        "@referredType": "Alarm",
                    },
                }
        ordered = [answers[index] for index in range(len(items))]
        body = {outcome: 0 for outcome in OUTCOMES}
        for answer in ordered:
            body[answer["outcome"]] += 1
        body["results"] = ordered
        rejected = body[IngestOutcome.REJECTED]
        return Response(body, status=status.HTTP_207_MULTI_STATUS if rejected else 200)

    @staticmethod
    def rejection(index: int, errors: dict, status_code: int = 400) -> dict:
        message = "; ".join(f"{field}: {' '.join(msgs)}" for field, msgs in errors.items())
        return {
            "index": index,
            "outcome": IngestOutcome.REJECTED.value,
            "status": str(status_code),
            "reason": message,
            "errors": errors,
        }

    def perform_tmf_create(self, serializer):
        data = serializer.validated_data
        # A repeat of an active alarm is no new resource: the existing one (counted) answers.
        alarm, self.created = services.alarm_raise(
            source_system_id=data["sourceSystemId"],
            alarmed_object_id=data["alarmedObject"]["id"],
            alarm_type=data["alarmType"],
            perceived_severity=data["perceivedSeverity"],
            probable_cause=data["probableCause"],
            alarm_raised_time=data["alarmRaisedTime"],
            specific_problem=data.get("specificProblem", ""),
            alarm_details=data.get("alarmDetails", ""),
            alarmed_object_type=data.get("alarmedObjectType", ""),
            external_alarm_id=data.get("externalAlarmId", ""),
            by=self.request.user.get_username(),
        )
        return alarm

    def perform_tmf_patch(self, instance, serializer):
        return services.alarm_patch(
            alarm=instance, by=self.request.user.get_username(), **serializer.service_arguments()
        )


class AlarmTaskViewSet(TMFCreateMixin, TMFViewSet):
    """Base of the TMF642 tasks: POST runs the task at once; GET shows what it did."""

    read_roles = (NOC, AGENT)
    write_roles = (NOC,)
    kind = ""
    create_serializer_class = None

    def get_queryset(self):
        return selectors.alarm_tasks(self.kind)

    def get_serializer(self, *args, **kwargs):
        if "data" in kwargs and self.action == "create":
            return self.create_serializer_class(data=kwargs["data"])
        return super().get_serializer(*args, **kwargs)


@extend_schema(responses=AckAlarmsAnswer)
class AckAlarmsViewSet(AlarmTaskViewSet):
    """`/ackAlarms`: acknowledge every alarm matching a pattern."""

    kind = AlarmTaskKind.ACK
    serializer_class = AckAlarmsSerializer
    create_serializer_class = AckAlarmsCreateSerializer

    def perform_tmf_create(self, serializer):
        data = serializer.validated_data
        return services.alarm_task_acknowledge(
            patterns=data["alarmPattern"],
            user_id=data["ackUserId"],
            system_id=data.get("ackSystemId", ""),
            by=self.request.user.get_username(),
        )


@extend_schema(responses=ClearAlarmsAnswer)
class ClearAlarmsViewSet(AlarmTaskViewSet):
    """`/clearAlarms`: clear every alarm matching a pattern."""

    kind = AlarmTaskKind.CLEAR
    serializer_class = ClearAlarmsSerializer
    create_serializer_class = ClearAlarmsCreateSerializer

    def perform_tmf_create(self, serializer):
        data = serializer.validated_data
        return services.alarm_task_clear(
            patterns=data["alarmPattern"],
            user_id=data["clearUserId"],
            system_id=data.get("clearSystemId", ""),
            cleared_time=data.get("alarmClearedTime"),
            by=self.request.user.get_username(),
        )
