"""TMF637 product, TMF638 service and TMF639 resource representations."""

from rest_framework import serializers

from catalog.choices import PriceType, ResourceKind
from inventory.choices import (
    BASE_TYPES,
    LINK_KINDS,
    PHYSICAL_TYPES,
    TMF_TYPES,
    AdministrativeState,
    LinkMedium,
    OperationalState,
    ResourceCategory,
    ResourceStatus,
    UsageState,
)
from inventory.models import ProductInstance, Resource, Service
from telco.api.schema import (
    DATE_TIME,
    ENTITY_REF,
    MONEY,
    STRING,
    array,
    characteristic_list_field,
    entity_ref_field,
    entity_ref_list_field,
    enum,
    extend,
    nullable_entity_ref_field,
    obj,
    related_party_list_field,
    schema_field,
)
from telco.api.serializers import RefSerializer, TMFSerializer, reference

PRODUCT_URL = "inventory-api:product-detail"
SERVICE_URL = "inventory-api:service-detail"
RESOURCE_URL = "inventory-api:resource-detail"
LINK_TYPES = set(LINK_KINDS.values())


def characteristics_list(values: dict) -> list[dict]:
    """{"bandwidth": "1Gbps"} -> [{"name": "bandwidth", "value": "1Gbps"}]"""
    return [{"name": name, "value": value} for name, value in (values or {}).items()]


def customer_party(request, customer) -> dict:
    return {
        **reference(request, customer, "crm-api:customer-detail", "Customer"),
        "role": "Customer",
    }


PRODUCT_ORDER_ITEM_REF = obj(
    {
        "orderItemId": STRING,
        "productOrderId": STRING,
        "orderItemAction": STRING,
        "@referredType": STRING,
    }
)
PRODUCT_PRICE = obj(
    {
        "name": STRING,
        "priceType": enum(PriceType.values),
        "recurringChargePeriod": STRING,
        "unitOfMeasure": STRING,
        "price": obj({"taxExcludedAmount": MONEY}),
        "productOfferingPrice": obj({"id": STRING, "name": STRING, "@referredType": STRING}),
    }
)
PLACE_REF = obj(
    {"id": STRING, "name": STRING, "role": STRING, "@referredType": STRING}, nullable=True
)
RESOURCE_RELATIONSHIP = obj({"relationshipType": STRING, "resource": ENTITY_REF})
STATUS_CHANGE = obj(
    {
        "status": STRING,
        "previousStatus": STRING,
        "changeDate": DATE_TIME,
        "changedBy": STRING,
        "reason": STRING,
    }
)
PRODUCT_RELATIONSHIP = obj({"relationshipType": STRING, "product": ENTITY_REF})
SUPPORTING_SERVICE = extend(
    ENTITY_REF,
    {
        "category": STRING,
        "state": STRING,
        "serviceSpecification": ENTITY_REF,
        "supportingResource": array(ENTITY_REF),
    },
)


class ProductSerializer(TMFSerializer):
    """TMF637 Product."""

    tmf_type = "Product"
    url_name = PRODUCT_URL

    startDate = serializers.DateTimeField(source="start_date")
    terminationDate = serializers.DateTimeField(source="termination_date")
    productOffering = serializers.SerializerMethodField()
    productCharacteristic = serializers.SerializerMethodField()
    realizingService = serializers.SerializerMethodField()
    relatedParty = serializers.SerializerMethodField()
    billingAccount = serializers.SerializerMethodField()
    productOrderItem = serializers.SerializerMethodField()
    productPrice = serializers.SerializerMethodField()
    statusChangeHistory = serializers.SerializerMethodField()
    isBundle = serializers.SerializerMethodField()
    productRelationship = serializers.SerializerMethodField()

    class Meta:
        model = ProductInstance
        fields = [
            "name",
            "status",
            "startDate",
            "terminationDate",
            "productOffering",
            "productCharacteristic",
            "realizingService",
            "relatedParty",
            "billingAccount",
            "productOrderItem",
            "productPrice",
            "statusChangeHistory",
            "isBundle",
            "productRelationship",
        ]

    @schema_field({"type": "boolean"})
    def get_isBundle(self, product):
        return product.product_offering.is_bundle

    @schema_field(array(PRODUCT_RELATIONSHIP))
    def get_productRelationship(self, product):
        """A bundle lists its products (`bundles`); a bundled product its bundle."""
        related = [("bundles", child) for child in product.bundled_products.all()]
        if product.parent is not None:
            related.append(("isBundledBy", product.parent))
        return [
            {
                "relationshipType": kind,
                "product": self.ref(other, PRODUCT_URL, "Product", other.name),
            }
            for kind, other in related
        ]

    @entity_ref_field
    def get_productOffering(self, product):
        return reference(
            self.request,
            product.product_offering,
            "catalog-api:productOffering-detail",
            "ProductOffering",
        )

    @characteristic_list_field
    def get_productCharacteristic(self, product):
        return characteristics_list(product.characteristics)

    @entity_ref_list_field
    def get_realizingService(self, product):
        return [
            self.ref(service, SERVICE_URL, "Service", service.name)
            for service in product.services.all()
        ]

    @related_party_list_field
    def get_relatedParty(self, product):
        return [customer_party(self.request, product.customer)]

    @entity_ref_field
    def get_billingAccount(self, product):
        account = product.billing_account
        return reference(
            self.request, account, "crm-api:billingAccount-detail", "BillingAccount", account.name
        )

    @schema_field(array(PRODUCT_ORDER_ITEM_REF))
    def get_productOrderItem(self, product):
        if not product.product_order_id:
            return []
        return [
            {
                "orderItemId": product.product_order_item_id,
                "productOrderId": product.product_order_id,
                "orderItemAction": "add",
                "@referredType": "ProductOrderItem",
            }
        ]

    @schema_field(array(PRODUCT_PRICE))
    def get_productPrice(self, product):
        """The offering's prices in force now (the ones billing charges)."""
        return [
            {
                "name": price.name,
                "priceType": price.price_type,
                "recurringChargePeriod": price.recurring_period,
                "unitOfMeasure": price.unit_of_measure,
                "price": {"taxExcludedAmount": self.money(price.amount, price.currency)},
                "productOfferingPrice": {
                    "id": str(price.pk),
                    "name": price.name,
                    "@referredType": "ProductOfferingPrice",
                },
            }
            for price in product.product_offering.prices_in_force
        ]

    @schema_field(array(STATUS_CHANGE))
    def get_statusChangeHistory(self, product):
        """Extension: every status move of the product (and plan or configuration changes,
        recorded with the status unchanged), oldest first, with who and why."""
        return [
            {
                "status": change.to_state,
                "previousStatus": change.from_state,
                "changeDate": serializers.DateTimeField().to_representation(change.changed_at),
                "changedBy": change.changed_by,
                "reason": change.reason,
            }
            for change in product.history.all()
        ]


class ServiceSerializer(TMFSerializer):
    """TMF638 Service."""

    tmf_type = "Service"
    url_name = SERVICE_URL

    startDate = serializers.DateTimeField(source="start_date")
    endDate = serializers.DateTimeField(source="end_date")
    serviceSpecification = serializers.SerializerMethodField()
    supportingResource = serializers.SerializerMethodField()
    serviceCharacteristic = serializers.SerializerMethodField()
    relatedParty = serializers.SerializerMethodField()
    product = serializers.SerializerMethodField()
    supportingService = serializers.SerializerMethodField()

    class Meta:
        model = Service
        fields = [
            "name",
            "category",
            "state",
            "startDate",
            "endDate",
            "serviceSpecification",
            "supportingService",
            "supportingResource",
            "serviceCharacteristic",
            "relatedParty",
            "product",
        ]

    @entity_ref_field
    def get_serviceSpecification(self, service):
        return reference(
            self.request,
            service.service_specification,
            "catalog-api:serviceSpecification-detail",
            "ServiceSpecification",
        )

    def _resources(self, bindings) -> list[dict]:
        return [
            self.ref(binding.resource, RESOURCE_URL, resource_type(binding.resource))
            for binding in bindings
        ]

    @entity_ref_list_field
    def get_supportingResource(self, service):
        """The resources the service holds, and those its resource-facing services hold."""
        children = getattr(service, "supporting_services", [])
        bindings = [*service.held_bindings, *(b for c in children for b in c.held_bindings)]
        return self._resources(sorted(bindings, key=lambda binding: binding.pk))

    @schema_field(array(SUPPORTING_SERVICE))
    def get_supportingService(self, service):
        """The resource-facing services (RFS) realising this customer-facing one."""
        return [
            {
                **self.ref(child, SERVICE_URL, "Service", child.name),
                "category": child.category,
                "state": child.state,
                "serviceSpecification": reference(
                    self.request,
                    child.service_specification,
                    "catalog-api:serviceSpecification-detail",
                    "ServiceSpecification",
                ),
                "supportingResource": self._resources(child.held_bindings),
            }
            for child in getattr(service, "supporting_services", [])
        ]

    @characteristic_list_field
    def get_serviceCharacteristic(self, service):
        return characteristics_list(service.characteristics)

    @related_party_list_field
    def get_relatedParty(self, service):
        if service.product is None:
            return []
        return [customer_party(self.request, service.product.customer)]

    @nullable_entity_ref_field
    def get_product(self, service):
        """Extension: the product this customer-facing service realises."""
        if service.product is None:
            return None
        return self.ref(service.product, PRODUCT_URL, "Product", service.product.name)


def resource_type(resource: Resource) -> str:
    """The TMF639 `@type`: the kind's own type (Equipment, Port, Vlan...) or the base type."""
    return TMF_TYPES.get(resource.resource_kind) or base_type(resource)


def base_type(resource: Resource) -> str:
    if resource.category == ResourceCategory.PHYSICAL:
        return "PhysicalResource"
    return "LogicalResource"


# @type on create chooses the category, and the kind when the type names only one.
TYPE_CATEGORIES = {
    "PhysicalResource": ResourceCategory.PHYSICAL,
    "LogicalResource": ResourceCategory.LOGICAL,
    **{
        tmf_type: ResourceCategory.PHYSICAL
        if tmf_type in PHYSICAL_TYPES
        else ResourceCategory.LOGICAL
        for tmf_type in TMF_TYPES.values()
    },
}
# The base types: the kind comes from the resourceKind characteristic or the specification,
# and is `other` (a generic resource) when neither gives one.
GENERIC_TYPES = {"Resource", *BASE_TYPES}
TYPE_KINDS = {
    tmf_type: kinds[0]
    for tmf_type in set(TMF_TYPES.values()) - GENERIC_TYPES
    if len(kinds := [kind for kind, name in TMF_TYPES.items() if name == tmf_type]) == 1
}


def kind_category(kind: str) -> str:
    """The category a kind's own type implies (a generic resource: logical)."""
    if TMF_TYPES.get(kind) in PHYSICAL_TYPES:
        return ResourceCategory.PHYSICAL
    return ResourceCategory.LOGICAL


class ResourceSerializer(TMFSerializer):
    """TMF639 Resource: `@type` the kind's own type, `@baseType` Physical/LogicalResource."""

    tmf_type = "Resource"
    url_name = RESOURCE_URL

    resourceStatus = serializers.ChoiceField(
        source="resource_status", choices=ResourceStatus.choices, required=False
    )
    administrativeState = serializers.ChoiceField(
        source="administrative_state", choices=AdministrativeState.choices, required=False
    )
    operationalState = serializers.ChoiceField(
        source="operational_state", choices=OperationalState.choices, required=False
    )
    usageState = serializers.ChoiceField(
        source="usage_state", choices=UsageState.choices, required=False
    )
    category = serializers.CharField(read_only=True)
    value = serializers.CharField(read_only=True)
    serialNumber = serializers.CharField(source="serial_number", read_only=True)
    resourceSpecification = serializers.SerializerMethodField()
    place = serializers.SerializerMethodField()
    resourceRelationship = serializers.SerializerMethodField()
    resourceCharacteristic = serializers.SerializerMethodField()

    class Meta:
        model = Resource
        fields = [
            "name",
            "category",
            "value",
            "serialNumber",
            "resourceStatus",
            "administrativeState",
            "operationalState",
            "usageState",
            "resourceSpecification",
            "place",
            "resourceRelationship",
            "resourceCharacteristic",
        ]
        extra_kwargs = {"name": {"required": False}}

    @nullable_entity_ref_field
    def get_resourceSpecification(self, resource):
        return reference(
            self.request,
            resource.resource_specification,
            "catalog-api:resourceSpecification-detail",
            "ResourceSpecification",
        )

    @schema_field(PLACE_REF)
    def get_place(self, resource):
        if resource.site is None:
            return None
        return {
            "id": str(resource.site.pk),
            "name": resource.site.name,
            "role": "installationSite",
            "@referredType": "GeographicSite",
        }

    def _relationship(self, relationship_type: str, other: Resource) -> dict:
        return {
            "relationshipType": relationship_type,
            "resource": self.ref(other, RESOURCE_URL, resource_type(other)),
        }

    @schema_field(array(RESOURCE_RELATIONSHIP))
    def get_resourceRelationship(self, resource):
        """isContainedIn its parent (card in equipment, port on card, link in cable, cable in
        duct, member in pool); a link's aEnd/zEnd ports; a port's link (isConnectedBy); the
        links and cables a cable or duct contains."""
        relationships = []
        if resource.parent is not None:
            relationships.append(self._relationship("isContainedIn", resource.parent))
        link = getattr(resource, "link", None) if resource.resource_kind in LINK_TYPES else None
        if link is not None:
            relationships.append(self._relationship("aEnd", link.a_end))
            relationships.append(self._relationship("zEnd", link.z_end))
        if resource.resource_kind == ResourceKind.PORT and hasattr(
            resource, "_prefetched_objects_cache"
        ):
            for end in (*resource.links_a.all(), *resource.links_z.all()):
                relationships.append(self._relationship("isConnectedBy", end))
        for contained in getattr(resource, "contained_cabling", []):
            relationships.append(self._relationship("contains", contained))
        return relationships

    @characteristic_list_field
    def get_resourceCharacteristic(self, resource):
        characteristics = [
            {"name": "resourceKind", "value": resource.resource_kind},
            {"name": "capacityMbps", "value": resource.capacity_mbps},
        ]
        if hasattr(resource, "used_mbps"):
            characteristics += [
                {"name": "freeCapacityMbps", "value": resource.free_mbps},
                {"name": "usedCapacityMbps", "value": resource.used_mbps},
                {"name": "utilisationPercent", "value": resource.utilisation_percent},
            ]
        for name, field in (("vendor", "vendor"), ("model", "model"), ("position", "position")):
            if getattr(resource, field):
                characteristics.append({"name": name, "value": getattr(resource, field)})
        link = getattr(resource, "link", None) if resource.resource_kind in LINK_TYPES else None
        if link is not None:
            characteristics.append({"name": "medium", "value": link.medium})
        return characteristics + characteristics_list(resource.characteristics)

    def to_representation(self, instance):
        body = super().to_representation(instance)
        body["@type"] = resource_type(instance)
        body["@baseType"] = base_type(instance)
        return body


class CharacteristicInputSerializer(serializers.Serializer):
    name = serializers.CharField()
    value = serializers.JSONField()


class ResourceCreateSerializer(serializers.Serializer):
    """TMF639 POST body: `name`, and `@type` (absent means the base type `Resource`).

    A concrete `@type` names the kind (and the category); a base type (`Resource`,
    `PhysicalResource`, `LogicalResource`) takes the kind from the `resourceKind` characteristic
    or the specification, else stores a generic resource (kind `other`). `category` is None
    when only the kind can tell it (`Resource`).
    """

    name = serializers.CharField(max_length=120)
    value = serializers.CharField(max_length=64, required=False, default="")
    serialNumber = serializers.CharField(max_length=60, required=False, default="")
    place = RefSerializer(required=False)
    resourceSpecification = RefSerializer(required=False)
    resourceCharacteristic = CharacteristicInputSerializer(many=True, required=False)
    resourceRelationship = serializers.ListField(child=serializers.DictField(), required=False)

    def to_internal_value(self, data):
        value = super().to_internal_value(data)
        tmf_type = (data.get("@type") if isinstance(data, dict) else None) or "Resource"
        if not isinstance(tmf_type, str) or tmf_type not in TYPE_CATEGORIES:
            raise serializers.ValidationError(
                {"@type": [f"Must be one of: {', '.join(TYPE_CATEGORIES)}."]}
            )
        value["category"] = None if tmf_type == "Resource" else TYPE_CATEGORIES[tmf_type]
        value["is_base_type"] = tmf_type in GENERIC_TYPES
        characteristics = {c["name"]: c["value"] for c in value.get("resourceCharacteristic", [])}
        kind = characteristics.pop("resourceKind", None)
        if kind is not None and kind not in ResourceKind.values:
            raise serializers.ValidationError(
                {"resourceCharacteristic.resourceKind": [f"'{kind}' is not a resource kind."]}
            )
        capacity = characteristics.pop("capacityMbps", 0)
        try:
            value["capacity_mbps"] = int(capacity)
        except (TypeError, ValueError):
            raise serializers.ValidationError(
                {"resourceCharacteristic.capacityMbps": ["Must be a whole number."]}
            ) from None
        if kind is None and tmf_type == "Link":
            medium = characteristics.get("medium") or LinkMedium.FIBRE
            if medium not in LINK_KINDS:
                raise serializers.ValidationError(
                    {"resourceCharacteristic.medium": [f"'{medium}' is not a link medium."]}
                )
            characteristics["medium"] = medium
            kind = LINK_KINDS[medium]
        elif kind is None:
            kind = TYPE_KINDS.get(tmf_type)
        elif tmf_type not in GENERIC_TYPES and TMF_TYPES.get(kind) != tmf_type:
            raise serializers.ValidationError(
                {"resourceCharacteristic.resourceKind": [f"A {tmf_type} is not a '{kind}'."]}
            )
        value["resource_kind"] = kind
        value["characteristics"] = characteristics
        return value


# Cards and ports are fitted by `services.part_create`, which checks their parent and position.
PART_KINDS = (ResourceKind.CARD, ResourceKind.PORT)


def part_arguments(kind: str, characteristics: dict) -> dict:
    """A card's or port's `position` (and a card's `model`), sent as characteristics in a
    TMF639 body, as `part_create` arguments; the other characteristics stay characteristics."""
    characteristics = dict(characteristics)
    position = characteristics.pop("position", None)
    arguments = {"position": "" if position is None else str(position)}
    if kind == ResourceKind.CARD:
        model = characteristics.pop("model", None)
        arguments["model"] = "" if model is None else str(model)
    return {**arguments, "characteristics": characteristics}


def part_error_field(field: str, parent_index: int | None) -> str:
    """The body's name for a field `part_create` names: the parent is the `isContainedIn`
    relationship at `parent_index` (None: the body has none), the position a characteristic."""
    if field == "parent":
        if parent_index is None:
            return "resourceRelationship"
        return f"resourceRelationship[{parent_index}].resource.id"
    if field == "position":
        return "resourceCharacteristic.position"
    return field
