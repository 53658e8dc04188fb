"""TMF637 product inventory, TMF638 service inventory and TMF639 resource inventory."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.exceptions import NotFound, ParseError, ValidationError
from rest_framework.parsers import BaseParser, FormParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from catalog import selectors as catalog_selectors
from catalog.choices import ResourceKind
from inventory import selectors, services
from inventory.api.serializers import (
    PART_KINDS,
    ProductSerializer,
    ResourceCreateSerializer,
    ResourceSerializer,
    ServiceSerializer,
    kind_category,
    part_arguments,
    part_error_field,
)
from inventory.choices import BASE_TYPES, LINK_KINDS, TMF_TYPES
from inventory.models import Resource, Site
from inventory.network_import import IMPORT_KINDS, ImportRejected, network_import
from telco.api.errors import error_body
from telco.api.filters import TMFAttributeFilter
from telco.api.views import TMFCreateMixin, TMFPatchMixin, TMFViewSet
from telco.exceptions import DomainError
from telco.roles import AGENT, FINANCE, NOC, HasRole
from telco.selectors import row_with_id

READERS = (AGENT, NOC, FINANCE)
IMPORT_RESULT = inline_serializer(
    "NetworkImportResult",
    {
        "kind": serializers.CharField(),
        "created": serializers.IntegerField(),
        "skipped": serializers.IntegerField(),
    },
)


class CsvTextParser(BaseParser):
    """A text/csv request body, as text."""

    media_type = "text/csv"

    def parse(self, stream, media_type=None, parser_context=None):
        try:
            return stream.read().decode("utf-8-sig")
        except UnicodeDecodeError:
            raise ParseError("The CSV body is not UTF-8 text.") from None


class ProductViewSet(TMFViewSet):
    """TMF637 `/product`: what customers hold."""

    serializer_class = ProductSerializer
    read_roles = READERS
    filter_attributes = {
        "status": "status",
        "name": "name",
        "startDate": "start_date",
        "relatedParty.id": "customer_id",
        "billingAccount.id": "billing_account_id",
        "productOffering.id": "product_offering_id",
    }

    def get_queryset(self):
        return selectors.product_list()  # per request: the prices in force now


class ServiceViewSet(TMFViewSet):
    """TMF638 `/service`: the services built in the network."""

    queryset = selectors.service_list()
    serializer_class = ServiceSerializer
    read_roles = READERS
    filter_attributes = {
        "state": "state",
        "category": "category",
        "name": "name",
        "startDate": "start_date",
        "serviceSpecification.id": "service_specification_id",
        "relatedParty.id": "product__customer_id",
    }


class ResourceTypeFilter(TMFAttributeFilter):
    """The attribute filters, plus `@type` (a kind's type or a base type; comma for OR)."""

    def filter_queryset(self, request, queryset, view):
        raw = request.query_params.get("@type")
        if raw is None:
            return super().filter_queryset(request, queryset, view)
        types = [name.strip() for name in raw.split(",") if name.strip()]
        known = {"Resource", *BASE_TYPES, *TMF_TYPES.values()}
        unknown = [name for name in types if name not in known]
        if unknown:
            raise ValidationError({"@type": f"'{unknown[0]}' is not a resource type."})
        queryset = selectors.resources_of_type(queryset, types)
        return super().filter_queryset(_WithoutParameter(request, "@type"), queryset, view)


class _WithoutParameter:
    """The request as the attribute filter sees it, less one query parameter."""

    def __init__(self, request, name: str):
        self.query_params = request.query_params.copy()
        self.query_params.pop(name)


def _resource_ref(relationship: dict, field: str) -> Resource:
    resource_id = str((relationship.get("resource") or {}).get("id", ""))
    resource = row_with_id(Resource.objects, resource_id)
    if resource is None:
        raise DomainError(f"Resource '{resource_id}' does not exist.", field=field)
    return resource


class ResourceViewSet(TMFCreateMixin, TMFPatchMixin, TMFViewSet):
    """TMF639 `/resource`: every physical and logical resource, run by the NOC.

    Equipment, cards, ports, links, cables and ducts; IP prefixes and addresses, VLANs, MSISDNs,
    SIMs, slices and their pools. `@type` tells them apart and filters them.
    """

    queryset = selectors.resource_tmf_list()
    serializer_class = ResourceSerializer
    filter_backends = [ResourceTypeFilter]
    read_roles = READERS
    write_roles = (NOC,)
    http_method_names = ["get", "post", "patch", "head", "options"]
    patchable_fields = ("resourceStatus", "administrativeState", "operationalState", "usageState")
    filter_attributes = {
        "name": "name",
        "category": "category",
        "value": "value",
        "serialNumber": "serial_number",
        "resourceStatus": "resource_status",
        "administrativeState": "administrative_state",
        "operationalState": "operational_state",
        "usageState": "usage_state",
        "place.id": "site_id",
        "resourceSpecification.id": "resource_specification_id",
        "resourceRelationship.resource.id": "parent_id",
        "resourceKind": "resource_kind",
    }

    def get_serializer_class(self):
        if self.action == "create":
            return ResourceCreateSerializer
        return ResourceSerializer

    def get_serializer(self, *args, **kwargs):
        # The created resource is rendered with the read serializer, not the input one.
        if self.action == "create" and args:
            return ResourceSerializer(*args, context=self.get_serializer_context(), **kwargs)
        return super().get_serializer(*args, **kwargs)

    def perform_tmf_create(self, serializer):
        data = serializer.validated_data
        specification = None
        if "resourceSpecification" in data:
            specification_id = data["resourceSpecification"]["id"]
            specification = row_with_id(
                catalog_selectors.resource_specification_list(), specification_id
            )
            if specification is None:
                raise DomainError(
                    f"Resource specification '{specification_id}' does not exist.",
                    field="resourceSpecification.id",
                )
        kind = data["resource_kind"] or (specification and specification.resource_kind)
        if not kind and data["is_base_type"]:
            kind = ResourceKind.OTHER  # a base type of no known kind: a generic resource
        if not kind:
            raise DomainError(
                "Give a resourceSpecification or a resourceKind characteristic.",
                field="resourceSpecification",
            )
        site = None
        if "place" in data:
            site_id = data["place"]["id"]
            site = row_with_id(Site.objects, site_id)
            if site is None:
                raise DomainError(f"Site '{site_id}' does not exist.", field="place.id")
        related, related_index = {}, {}
        for index, relationship in enumerate(data.get("resourceRelationship", [])):
            relationship_type = relationship.get("relationshipType") or "isContainedIn"
            field = f"resourceRelationship[{index}].resource.id"
            related[relationship_type] = _resource_ref(relationship, field)
            related_index[relationship_type] = index
        characteristics = dict(data["characteristics"])
        if kind in LINK_KINDS.values():
            ends = [related.get("aEnd"), related.get("zEnd")]
            if None in ends:
                raise DomainError(
                    "A link names its aEnd and zEnd ports.", field="resourceRelationship"
                )
            medium = characteristics.get("medium") or next(
                medium for medium, link_kind in LINK_KINDS.items() if link_kind == kind
            )
            return services.link_create(
                name=data["name"],
                a_end=ends[0],
                z_end=ends[1],
                medium=medium,
                capacity_mbps=data["capacity_mbps"] or 10_000,
                cable=related.get("isContainedIn"),
            )
        if kind in PART_KINDS:
            try:
                return services.part_create(
                    kind=kind,
                    parent=related.get("isContainedIn"),
                    name=data["name"],
                    capacity_mbps=data["capacity_mbps"],
                    serial_number=data["serialNumber"],
                    resource_specification=specification,
                    **part_arguments(kind, characteristics),
                )
            except DomainError as error:
                field = part_error_field(error.field, related_index.get("isContainedIn"))
                raise DomainError(error.message, field=field) from None
        return services.resource_create(
            name=data["name"],
            category=data["category"] or kind_category(kind),
            resource_kind=kind,
            resource_specification=specification,
            site=site,
            parent=related.get("isContainedIn"),
            capacity_mbps=data["capacity_mbps"],
            characteristics=characteristics,
            value=data["value"],
            serial_number=data["serialNumber"],
        )

    def perform_tmf_patch(self, instance, serializer):
        return services.resource_update_states(
            resource=instance, changes=dict(serializer.validated_data)
        )


class NetworkImportView(APIView):
    """`POST /api/v1/inventory/import/<kind>`: CSV as a multipart `file` or a text/csv body.

    200 with {kind, created, skipped}; 400 with every bad cell in `rows` ({row, column,
    message}) and nothing imported. For noc and admin users.
    """

    parser_classes = [CsvTextParser, MultiPartParser, FormParser]
    permission_classes = [HasRole]
    read_roles = ()
    write_roles = (NOC,)

    @extend_schema(
        request={"text/csv": OpenApiTypes.STR, "multipart/form-data": OpenApiTypes.OBJECT},
        responses={200: IMPORT_RESULT, 400: OpenApiTypes.OBJECT},
        parameters=[OpenApiParameter("kind", str, OpenApiParameter.PATH, enum=list(IMPORT_KINDS))],
    )
    def post(self, request, kind: str):
        if kind not in IMPORT_KINDS:
            raise NotFound(f"Import one of: {', '.join(IMPORT_KINDS)}.")
        upload = request.data.get("file") if hasattr(request.data, "get") else None
        if upload is not None and hasattr(upload, "read"):
            raw = upload.read()
        elif isinstance(request.data, str):
            raw = request.data
        else:
            raise ValidationError(
                {"file": ["Send a CSV file (multipart 'file') or a text/csv body."]}
            )
        try:
            text = raw.decode("utf-8-sig") if isinstance(raw, bytes) else raw
        except UnicodeDecodeError:
            raise ValidationError({"file": ["The file is not UTF-8 text."]}) from None
        try:
            result = network_import(kind=kind, text=text)
        except ImportRejected as rejected:
            body = error_body(
                400,
                rejected.code,
                "Invalid rows",
                rejected.message,
                rows=rejected.rows,
                errors={
                    f"row[{error['row']}].{error['column']}": [error["message"]]
                    for error in rejected.rows
                },
            )
            return Response(body, status=400)
        return Response({"kind": kind, "created": result.created, "skipped": result.skipped})
