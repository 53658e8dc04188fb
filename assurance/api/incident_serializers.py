"""TMF656 Service Problem Management: an incident as a ServiceProblem, its PATCH, the
problemAcknowledgement task, and maintenance windows."""

from rest_framework import serializers

from assurance.choices import AlarmState, IncidentState
from assurance.models import Incident, MaintenanceWindow
from inventory import selectors as inventory_selectors
from telco.api.serializers import TMFSerializer, href_for


def _iso(value):
    return serializers.DateTimeField().to_representation(value) if value else None


class ServiceProblemSerializer(TMFSerializer):
    """An incident as TMF656 v4 shows a ServiceProblem; impact figures as extensions.

    Expects the queryset of `incident_views.incident_list()` (alarms, open impacts and root
    resource prefetched): a page costs the same few queries whatever it holds."""

    tmf_type = "ServiceProblem"
    url_name = "assurance-api:serviceProblem-detail"

    class Meta:
        model = Incident
        fields = ()

    def to_representation(self, instance):
        body = super().to_representation(instance)
        alarms = list(instance.alarms.all())
        impacts = list(instance.impacts.all())
        active_resources = sorted(
            {a.resource_id for a in alarms if a.resource_id and a.state != AlarmState.CLEARED}
        )
        body.update(
            {
                "name": instance.name,
                "description": instance.description,
                "category": instance.category,
                "priority": instance.priority,
                "status": instance.state,
                "statusChangeReason": instance.status_change_reason,
                "statusChangeDate": _iso(instance.status_change_date),
                "originatingSystem": instance.originating_system,
                "timeRaised": _iso(instance.first_alarm_time),
                "timeChanged": _iso(instance.last_update),
                "resolutionDate": _iso(instance.resolved_at),
                "rootCauseResource": self.resources([instance.root_resource_id], instance),
                "underlyingAlarm": [
                    {
                        "id": str(alarm.pk),
                        "href": href_for(self.request, "assurance-api:alarm-detail", alarm.pk),
                        "@referredType": "Alarm",
                    }
                    for alarm in alarms
                ],
                "affectedService": [
                    {
                        "id": str(impact.service_id),
                        "href": href_for(
                            self.request, "inventory-api:service-detail", impact.service_id
                        ),
                        "@referredType": "Service",
                        "impact": impact.impact,
                    }
                    for impact in impacts
                ],
                "affectedResource": self.resources(active_resources, instance),
                "affectedNumberOfServices": instance.services_down + instance.services_degraded,
                "responsibleParty": (
                    [
                        {
                            "id": instance.assigned_to,
                            "name": instance.assigned_to,
                            "role": "assignee",
                            "@referredType": "Individual",
                        }
                    ]
                    if instance.assigned_to
                    else []
                ),
                "note": [
                    {"text": n["text"], "author": n.get("author", ""), "date": n.get("date")}
                    for n in instance.notes
                ],
                # Extensions: the impact kept true while the incident lives, and the NOC's work.
                "servicesDown": instance.services_down,
                "servicesDegraded": instance.services_degraded,
                "impactedProductCount": instance.products_count,
                "impactedAccountCount": instance.accounts_count,
                "impactedCustomerCount": instance.customers_count,
                "impactedCustomersBySegment": instance.customers_by_segment,
                "revenueAtRisk": self.money(instance.revenue_at_risk, instance.currency),
                "impactUpdatedDate": _iso(instance.impact_updated_at),
                "confirmedDate": _iso(instance.confirmed_at),
                "acknowledgedDate": _iso(instance.acknowledged_at),
                "acknowledgedBy": instance.acknowledged_by,
                "expectedRestoreTime": _iso(instance.expected_restore_time),
                "inMaintenance": instance.in_maintenance,
            }
        )
        body["@type"] = body.pop("@type")
        return body

    def resources(self, resource_ids, instance) -> list[dict]:
        names = {instance.root_resource_id: getattr(instance.root_resource, "name", "")}
        return [
            {
                "id": str(pk),
                "href": href_for(self.request, "inventory-api:resource-detail", pk),
                **({"name": names[pk]} if names.get(pk) else {}),
                "@referredType": "Resource",
            }
            for pk in resource_ids
            if pk is not None
        ]


class ResponsiblePartyField(serializers.ListField):
    """responsibleParty: [] (withdraw) or [{"id": "<NOC username>", ...}] (one assignee)."""

    def __init__(self, **kwargs):
        super().__init__(child=serializers.DictField(), **kwargs)

    def to_internal_value(self, data):
        parties = super().to_internal_value(data)
        if len(parties) > 1:
            raise serializers.ValidationError("An incident has one responsible party.")
        if parties and not str(parties[0].get("id", "")).strip():
            raise serializers.ValidationError("The responsible party names its id (a username).")
        return str(parties[0]["id"]).strip() if parties else ""


class NoteField(serializers.ListField):
    """note: notes to append, each {"text": ...} (author and date are the caller and now)."""

    def __init__(self, **kwargs):
        super().__init__(child=serializers.DictField(), allow_empty=False, **kwargs)

    def to_internal_value(self, data):
        notes = super().to_internal_value(data)
        texts = []
        for note in notes:
            text = note.get("text")
            if not isinstance(text, str) or not text.strip():
                raise serializers.ValidationError("Every note has a text.")
            texts.append(text)
        return texts


class ServiceProblemPatchSerializer(serializers.Serializer):
    """What the NOC may change: status, responsibleParty, note (appended), expectedRestoreTime."""

    status = serializers.ChoiceField(choices=IncidentState.choices, required=False)
    statusChangeReason = serializers.CharField(required=False, allow_blank=True, max_length=200)
    responsibleParty = ResponsiblePartyField(required=False)
    note = NoteField(required=False)
    expectedRestoreTime = serializers.DateTimeField(required=False, allow_null=True)


class ProblemAcknowledgementCreateSerializer(serializers.Serializer):
    """TMF656 problemAcknowledgement: the service problems to acknowledge."""

    problem = serializers.ListField(child=serializers.DictField(), allow_empty=False)

    def validate_problem(self, problems):
        ids = []
        for problem in problems:
            raw = str(problem.get("id", ""))
            if not raw.isdigit():
                raise serializers.ValidationError("Every problem names its id.")
            ids.append(int(raw))
        found = set(Incident.objects.filter(pk__in=ids).values_list("pk", flat=True))
        missing = [pk for pk in ids if pk not in found]
        if missing:
            raise serializers.ValidationError(f"No service problem {missing[0]}.")
        return ids


class MaintenanceWindowSerializer(TMFSerializer):
    """A maintenance window: planned work on a resource (and what depends on it)."""

    tmf_type = "MaintenanceWindow"
    url_name = "assurance-api:maintenanceWindow-detail"

    resource = serializers.DictField(write_only=True)
    startsAt = serializers.DateTimeField(source="starts_at")
    endsAt = serializers.DateTimeField(source="ends_at")
    description = serializers.CharField(required=False, allow_blank=True, max_length=200)

    class Meta:
        model = MaintenanceWindow
        fields = ("resource", "startsAt", "endsAt", "description")

    def validate_resource(self, value):
        resource = inventory_selectors.resource_by_reference(str(value.get("id", "")))
        if resource is None:
            raise serializers.ValidationError("No resource has this id or name.")
        return resource

    def validate(self, attrs):
        if attrs["ends_at"] <= attrs["starts_at"]:
            raise serializers.ValidationError({"endsAt": ["A window ends after it starts."]})
        return attrs

    def to_representation(self, instance):
        body = super().to_representation(instance)
        body["resource"] = {
            "id": str(instance.resource_id),
            "href": href_for(self.request, "inventory-api:resource-detail", instance.resource_id),
            "name": instance.resource.name,
            "@referredType": "Resource",
        }
        body["createdBy"] = instance.created_by
        body["@type"] = body.pop("@type")
        return body
