"""TMF642 Alarm Management: alarms, and the ackAlarms / clearAlarms tasks."""

from drf_spectacular.utils import extend_schema

from assurance import selectors, services
from assurance.api.schema import AckAlarmsAnswer, AlarmAnswer, ClearAlarmsAnswer
from assurance.api.serializers import (
    AckAlarmsCreateSerializer,
    AckAlarmsSerializer,
    AlarmCreateSerializer,
    AlarmPatchSerializer,
    AlarmSerializer,
    ClearAlarmsCreateSerializer,
    ClearAlarmsSerializer,
)
from assurance.choices import AlarmTaskKind
from telco.api.views import TMFCreateMixin, TMFPatchMixin, TMFViewSet
from telco.roles import AGENT, NOC


@extend_schema(responses=AlarmAnswer)
class AlarmViewSet(TMFCreateMixin, TMFPatchMixin, TMFViewSet):
    """`/alarm`: the network's fault source reports (POST); the NOC updates, acks and clears."""

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
