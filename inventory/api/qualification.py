"""TMF645 service qualification: `checkServiceQualification` (can these services be delivered at
these sites?) and `queryServiceQualification` (what can be delivered there, how fast?), both
answered at once."""

import json

from rest_framework import serializers

from catalog import selectors as catalog_selectors
from inventory import selectors
from inventory.choices import QualificationKind
from inventory.models import ServiceQualification
from inventory.services.qualification import (
    PlaceRequest,
    QualificationItemRequest,
    service_qualification_check,
    service_qualification_query,
)
from telco.api.schema import STRING, array, enum, obj, schema_field
from telco.api.serializers import RefSerializer, TMFSerializer, reference
from telco.api.views import TMFCreateMixin, TMFViewSet
from telco.exceptions import DomainError
from telco.roles import AGENT, NOC
from telco.selectors import row_with_id

QUALIFICATION_URL = "inventory-api:checkServiceQualification-detail"
QUERY_URL = "inventory-api:queryServiceQualification-detail"
REASON = obj({"code": STRING, "label": STRING, "@type": STRING})
PLACE = obj({"id": STRING, "name": STRING, "role": STRING, "@referredType": STRING})
QUALIFICATION_ITEM = obj(
    {
        "id": STRING,
        "state": STRING,
        "qualificationResult": enum(["qualified", "unqualified"]),
        "eligibilityUnavailabilityReason": array(REASON),
        "service": obj(
            {
                "serviceSpecification": obj({"id": STRING, "href": STRING, "name": STRING}),
                "place": array(PLACE),
                "serviceCharacteristic": array(obj({"name": STRING, "value": STRING})),
            }
        ),
        "@type": STRING,
    }
)


class QualificationAnswerSerializer(TMFSerializer):
    """What a TMF645 check and a query answer alike: answered at once, with their items
    (`item_type` names the items' @type)."""

    item_type = ""

    externalId = serializers.CharField(source="external_id")
    effectiveQualificationDate = serializers.DateTimeField(source="effective_date")
    relatedParty = serializers.JSONField(source="related_party")
    serviceQualificationItem = serializers.SerializerMethodField()
    instantSyncQualification = serializers.SerializerMethodField()

    @schema_field({"type": "boolean"})
    def get_instantSyncQualification(self, qualification) -> bool:
        return True

    @schema_field(array(QUALIFICATION_ITEM))
    def get_serviceQualificationItem(self, qualification):
        return qualification_items(self.request, qualification, self.item_type)


class CheckServiceQualificationSerializer(QualificationAnswerSerializer):
    """TMF645 CheckServiceQualification: per item the result and, per site that cannot be
    served, a reason naming the site."""

    tmf_type = "CheckServiceQualification"
    url_name = QUALIFICATION_URL
    item_type = "CheckServiceQualificationItem"

    qualificationResult = serializers.CharField(source="qualification_result")
    checkServiceQualificationDate = serializers.DateTimeField(source="check_date")
    provideUnavailabilityReason = serializers.SerializerMethodField()

    class Meta:
        model = ServiceQualification
        fields = [
            "description",
            "externalId",
            "state",
            "qualificationResult",
            "checkServiceQualificationDate",
            "effectiveQualificationDate",
            "instantSyncQualification",
            "provideUnavailabilityReason",
            "relatedParty",
            "serviceQualificationItem",
        ]

    @schema_field({"type": "boolean"})
    def get_provideUnavailabilityReason(self, qualification) -> bool:
        return True


def qualification_items(request, qualification, item_type: str) -> list[dict]:
    """The items of a check or a query: per service and sites, the result, the reasons a site
    cannot be served, and the characteristics (a query's `maximumBandwidth`)."""
    return [
        {
            "id": item.item_id,
            "state": item.state,
            "qualificationResult": item.qualification_result,
            "eligibilityUnavailabilityReason": [
                {
                    "code": reason["code"],
                    "label": reason["label"],
                    "@type": "ServiceEligibilityUnavailabilityReason",
                }
                for reason in item.reasons
            ],
            "service": {
                "serviceSpecification": reference(
                    request,
                    item.service_specification,
                    "catalog-api:serviceSpecification-detail",
                    "ServiceSpecification",
                    item.service_specification.name,
                )
                if item.service_specification
                else None,
                "place": [
                    {
                        "id": place["id"],
                        "name": place.get("name", ""),
                        "role": place.get("role", ""),
                        "@referredType": "GeographicSite",
                    }
                    for place in item.places
                ],
                "serviceCharacteristic": [
                    {"name": name, "value": value} for name, value in item.characteristics.items()
                ],
            },
            "@type": item_type,
        }
        for item in qualification.items.all()
    ]


def named_specification(service: dict, field: str):
    """The service specification a request's `service` names, None when it names none; an
    unknown id is refused naming `{field}.serviceSpecification.id`."""
    if "serviceSpecification" not in service:
        return None
    specification_id = service["serviceSpecification"]["id"]
    specification = row_with_id(catalog_selectors.service_specification_list(), specification_id)
    if specification is None:
        raise DomainError(
            f"Service specification '{specification_id}' does not exist.",
            field=f"{field}.serviceSpecification.id",
        )
    return specification


class PlaceInput(serializers.Serializer):
    id = serializers.CharField()
    role = serializers.CharField(required=False, allow_blank=True)
    name = serializers.CharField(required=False, allow_blank=True)


class CharacteristicInput(serializers.Serializer):
    name = serializers.CharField()
    value = serializers.JSONField()


class QualifiedServiceInput(serializers.Serializer):
    serviceSpecification = RefSerializer(required=False)
    place = PlaceInput(many=True)
    serviceCharacteristic = CharacteristicInput(many=True, required=False)


class QualificationItemInput(serializers.Serializer):
    id = serializers.CharField(max_length=20)
    service = QualifiedServiceInput()


class CheckServiceQualificationInput(serializers.Serializer):
    """CheckServiceQualification_Create: the services to qualify, each with its sites (`place`,
    GeographicSite ids: the inventory's sites) and its `bandwidth` characteristic."""

    serviceQualificationItem = QualificationItemInput(many=True)
    description = serializers.CharField(max_length=200, required=False, allow_blank=True)
    externalId = serializers.CharField(max_length=60, required=False, allow_blank=True)
    relatedParty = serializers.ListField(child=serializers.DictField(), required=False)

    def validate_serviceQualificationItem(self, items):
        if not items:
            raise serializers.ValidationError("Name at least one service to qualify.")
        ids = [item["id"] for item in items]
        if len(ids) != len(set(ids)):
            raise serializers.ValidationError("Item ids are unique within the check.")
        return items

    def to_service_arguments(self) -> dict:
        data = self.validated_data
        items = []
        for index, item in enumerate(data["serviceQualificationItem"]):
            service = item["service"]
            specification = named_specification(
                service, f"serviceQualificationItem[{index}].service"
            )
            items.append(
                QualificationItemRequest(
                    item_id=item["id"],
                    places=[
                        PlaceRequest(
                            id=place["id"], role=place.get("role", ""), name=place.get("name", "")
                        )
                        for place in service["place"]
                    ],
                    characteristics={
                        c["name"]: c["value"]
                        if isinstance(c["value"], str)
                        else json.dumps(c["value"])
                        for c in service.get("serviceCharacteristic", [])
                    },
                    specification=specification,
                )
            )
        return {
            "items": items,
            "description": data.get("description", ""),
            "external_id": data.get("externalId", ""),
            "related_party": data.get("relatedParty", []),
        }


class QualificationViewSet(TMFCreateMixin, TMFViewSet):
    """A TMF645 collection answered at once: agents and the NOC ask, `answer` (the service)
    answers what `input_class` parsed; lists hold the answers of its `kind`."""

    read_roles = (AGENT, NOC)
    write_roles = (AGENT, NOC)
    http_method_names = ["get", "post", "head", "options"]
    kind = input_class = None

    def get_queryset(self):
        return selectors.service_qualification_list(self.kind)

    def get_serializer(self, *args, **kwargs):
        if self.action == "create" and "data" in kwargs:
            return self.input_class(data=kwargs["data"])
        return super().get_serializer(*args, **kwargs)

    def perform_tmf_create(self, serializer):
        return self.answer(**serializer.to_service_arguments(), by=self.request.user.get_username())


class CheckServiceQualificationViewSet(QualificationViewSet):
    """TMF645 `/checkServiceQualification`: can services be delivered at customer sites (a
    free PE port, bandwidth to the core)?"""

    serializer_class = CheckServiceQualificationSerializer
    kind, input_class = QualificationKind.CHECK, CheckServiceQualificationInput
    answer = staticmethod(service_qualification_check)
    filter_attributes = {
        "state": "state",
        "qualificationResult": "qualification_result",
        "externalId": "external_id",
        "checkServiceQualificationDate": "check_date",
    }


class QueryServiceQualificationSerializer(QualificationAnswerSerializer):
    """TMF645 QueryServiceQualification: per site and site-access service, qualified with the
    fastest access it can have now (`maximumBandwidth`), or unqualified with the reasons."""

    tmf_type = "QueryServiceQualification"
    url_name = QUERY_URL
    item_type = "ServiceQualificationItem"

    queryServiceQualificationDate = serializers.DateTimeField(source="check_date")
    searchCriteria = serializers.JSONField(source="search_criteria")

    class Meta:
        model = ServiceQualification
        fields = [
            "description",
            "externalId",
            "state",
            "queryServiceQualificationDate",
            "effectiveQualificationDate",
            "instantSyncQualification",
            "relatedParty",
            "searchCriteria",
            "serviceQualificationItem",
        ]


class SearchCriteriaInput(serializers.Serializer):
    service = QualifiedServiceInput()


class QueryServiceQualificationInput(serializers.Serializer):
    """QueryServiceQualification_Create: `searchCriteria.service` names the sites (`place`,
    inventory site ids), optionally one `serviceSpecification` and a `bandwidth`."""

    searchCriteria = SearchCriteriaInput()
    description = serializers.CharField(max_length=200, required=False, allow_blank=True)
    externalId = serializers.CharField(max_length=60, required=False, allow_blank=True)
    relatedParty = serializers.ListField(child=serializers.DictField(), required=False)

    def to_service_arguments(self) -> dict:
        data = self.validated_data
        service = data["searchCriteria"]["service"]
        specification = named_specification(service, "searchCriteria.service")
        characteristics = {c["name"]: c["value"] for c in service.get("serviceCharacteristic", [])}
        bandwidth = characteristics.get("bandwidth")
        return {
            "places": [
                PlaceRequest(id=place["id"], role=place.get("role", ""), name=place.get("name", ""))
                for place in service["place"]
            ],
            "specification": specification,
            "bandwidth": None if bandwidth is None else str(bandwidth),
            "search_criteria": self.initial_data.get("searchCriteria", {}),
            "description": data.get("description", ""),
            "external_id": data.get("externalId", ""),
            "related_party": data.get("relatedParty", []),
        }


class QueryServiceQualificationViewSet(QualificationViewSet):
    """TMF645 `/queryServiceQualification`: what can be delivered at sites, and how fast?"""

    serializer_class = QueryServiceQualificationSerializer
    kind, input_class = QualificationKind.QUERY, QueryServiceQualificationInput
    answer = staticmethod(service_qualification_query)
    filter_attributes = {
        "state": "state",
        "externalId": "external_id",
        "queryServiceQualificationDate": "check_date",
    }
