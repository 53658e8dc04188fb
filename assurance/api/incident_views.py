"""TMF656 Service Problem Management: incidents as service problems (list, retrieve, PATCH by
the NOC), problemAcknowledgement, and the maintenance windows the NOC plans."""

from django.db import transaction
from django.db.models import Prefetch, QuerySet
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import APIView

from assurance import impact, incident_actions, maintenance
from assurance.api.incident_serializers import (
    MaintenanceWindowSerializer,
    ProblemAcknowledgementCreateSerializer,
    ServiceProblemPatchSerializer,
    ServiceProblemSerializer,
)
from assurance.api.schema import ProblemAcknowledgementAnswer
from assurance.choices import OPEN_INCIDENT_STATES, IncidentState
from assurance.models import Alarm, Incident, IncidentService, MaintenanceWindow
from telco.api.serializers import href_for
from telco.api.views import TMFCreateMixin, TMFPatchMixin, TMFViewSet
from telco.roles import AGENT, NOC


def incident_list() -> QuerySet[Incident]:
    """Incidents, newest first, with what a ServiceProblem shows: a page is a fixed handful
    of queries (incidents, their alarms, their open impacts)."""
    return (
        Incident.objects.select_related("root_resource")
        .prefetch_related(
            Prefetch(
                "alarms",
                queryset=Alarm.objects.only("pk", "incident_id", "resource_id", "state").order_by(
                    "pk"
                ),
            ),
            Prefetch(
                "impacts",
                queryset=IncidentService.objects.filter(ended_at__isnull=True)
                .only("pk", "incident_id", "service_id", "impact")
                .order_by("service_id"),
            ),
        )
        .order_by("-first_alarm_time", "-pk")
    )


def after_move(incident: Incident, previous_state: str) -> None:
    """What a status change by hand entails: a resolution tells the customers who were told of
    the incident; a closed incident's impact ends."""
    if incident.state == previous_state:
        return
    if incident.state not in OPEN_INCIDENT_STATES or previous_state not in OPEN_INCIDENT_STATES:
        impact.incident_impact_refresh(incident.pk)
    if incident.state == IncidentState.RESOLVED and incident.confirmed_at is not None:
        from assurance.correlation import notices_call

        notices_call("incident_resolved", incident.pk)


class ServiceProblemViewSet(TMFPatchMixin, TMFViewSet):
    """`/serviceProblem`: incidents. The NOC (and admins) change them; agents read."""

    serializer_class = ServiceProblemSerializer
    read_roles = (NOC, AGENT)
    write_roles = (NOC,)
    patchable_fields = (
        "status",
        "statusChangeReason",
        "responsibleParty",
        "note",
        "expectedRestoreTime",
    )
    filter_attributes = {
        "status": "state",
        "category": "category",
        "priority": "priority",
        "originatingSystem": "originating_system",
        "rootCauseResource.id": "root_resource_id",
        "underlyingAlarm.id": "alarms__pk",
        "affectedService.id": "impacts__service_id",
        "timeRaised": "first_alarm_time",
        "inMaintenance": "in_maintenance",
    }

    def get_queryset(self):
        return incident_list()

    def get_serializer(self, *args, **kwargs):
        if "data" in kwargs and self.action == "partial_update":
            return ServiceProblemPatchSerializer(data=kwargs["data"])
        return super().get_serializer(*args, **kwargs)

    def perform_tmf_patch(self, instance, serializer):
        data = serializer.validated_data
        by = self.request.user.get_username()
        with transaction.atomic():
            previous = instance.state
            if "note" in data:
                for text in data["note"]:
                    instance = incident_actions.incident_comment(instance, text=text, by=by)
            if "responsibleParty" in data:
                instance = incident_actions.incident_assign(
                    instance, to=data["responsibleParty"], by=by
                )
            if "expectedRestoreTime" in data:
                instance = incident_actions.incident_set_eta(
                    instance, eta=data["expectedRestoreTime"], by=by
                )
            target = data.get("status")
            if target and target != instance.state:
                if target == IncidentState.ACKNOWLEDGED:
                    instance = incident_actions.incident_acknowledge(instance, by=by)
                else:
                    instance = incident_actions.incident_move(
                        instance, target, by=by, reason=data.get("statusChangeReason", "")
                    )
            after_move(instance, previous)
        return instance


@extend_schema(
    request=ProblemAcknowledgementCreateSerializer, responses={201: ProblemAcknowledgementAnswer}
)
class ProblemAcknowledgementView(APIView):
    """`POST /problemAcknowledgement`: acknowledge service problems at once (TMF656 task); the
    answer is the task, done, with the problems as they now are."""

    read_roles = (NOC,)
    write_roles = (NOC,)

    def post(self, request):
        serializer = ProblemAcknowledgementCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        by = request.user.get_username()
        with transaction.atomic():
            for incident in Incident.objects.filter(pk__in=serializer.validated_data["problem"]):
                incident_actions.incident_acknowledge(incident, by=by)
        problems = incident_list().filter(pk__in=serializer.validated_data["problem"])
        body = {
            "state": "done",
            "ackProblem": [
                {
                    "id": str(incident.pk),
                    "href": href_for(request, "assurance-api:serviceProblem-detail", incident.pk),
                    "status": incident.state,
                    "@referredType": "ServiceProblem",
                }
                for incident in problems
            ],
            "@type": "ProblemAcknowledgement",
        }
        return Response(body, status=status.HTTP_201_CREATED)


class MaintenanceWindowViewSet(TMFCreateMixin, TMFViewSet):
    """`/maintenanceWindow`: planned work. The NOC plans it; agents read it."""

    serializer_class = MaintenanceWindowSerializer
    read_roles = (NOC, AGENT)
    write_roles = (NOC,)
    filter_attributes = {"resource.id": "resource_id", "startsAt": "starts_at", "endsAt": "ends_at"}

    def get_queryset(self):
        return MaintenanceWindow.objects.select_related("resource").order_by("starts_at", "pk")

    def perform_tmf_create(self, serializer):
        data = serializer.validated_data
        return maintenance.maintenance_window_create(
            resource_id=data["resource"].pk,
            starts_at=data["starts_at"],
            ends_at=data["ends_at"],
            description=data.get("description", ""),
            by=self.request.user.get_username(),
        )
