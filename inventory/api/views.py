"""TMF637 product inventory, TMF638 service inventory and TMF639 resource inventory."""

from catalog.models import ResourceSpecification
from inventory import selectors, services
from inventory.api.serializers import (
    ProductSerializer,
    ResourceCreateSerializer,
    ResourceSerializer,
    ServiceSerializer,
)
from inventory.models import Resource
from telco.api.views import TMFCreateMixin, TMFPatchMixin, TMFViewSet
from telco.exceptions import DomainError
from telco.roles import AGENT, FINANCE, NOC

READERS = (AGENT, NOC, FINANCE)


class ProductViewSet(TMFViewSet):
    """TMF637 `/product`: what customers hold."""

    queryset = selectors.product_list()
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


class ResourceViewSet(TMFCreateMixin, TMFPatchMixin, TMFViewSet):
    """TMF639 `/resource`: network elements and logical resources, run by the NOC."""

    queryset = selectors.resource_list()
    serializer_class = ResourceSerializer
    read_roles = READERS
    write_roles = (NOC,)
    http_method_names = ["get", "post", "patch", "head", "options"]
    patchable_fields = ("resourceStatus", "administrativeState", "operationalState", "usageState")
    filter_attributes = {
        "name": "name",
        "category": "category",
        "resourceStatus": "resource_status",
        "administrativeState": "administrative_state",
        "operationalState": "operational_state",
        "usageState": "usage_state",
        "place.id": "site_id",
        "resourceSpecification.id": "resource_specification_id",
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
            specification = (
                ResourceSpecification.objects.filter(pk=specification_id).first()
                if specification_id.isdigit()
                else None
            )
            if specification is None:
                raise DomainError(
                    f"Resource specification '{specification_id}' does not exist.",
                    field="resourceSpecification.id",
                )
        kind = data["resource_kind"] or (specification and specification.resource_kind)
        if not kind:
            raise DomainError(
                "Give a resourceSpecification or a resourceKind characteristic.",
                field="resourceSpecification",
            )
        parent = None
        for relationship in data.get("resourceRelationship", []):
            parent_id = str((relationship.get("resource") or {}).get("id", ""))
            parent = Resource.objects.filter(pk=parent_id).first() if parent_id.isdigit() else None
            if parent is None:
                raise DomainError(
                    f"Resource '{parent_id}' does not exist.",
                    field="resourceRelationship[0].resource.id",
                )
        return services.resource_create(
            name=data["name"],
            category=data["category"],
            resource_kind=kind,
            resource_specification=specification,
            parent=parent,
            capacity_mbps=data["capacity_mbps"],
            characteristics=data["characteristics"],
        )

    def perform_tmf_patch(self, instance, serializer):
        return services.resource_update_states(
            resource=instance, changes=dict(serializer.validated_data)
        )
