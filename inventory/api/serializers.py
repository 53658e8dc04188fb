"""TMF637 product, TMF638 service and TMF639 resource representations."""

from rest_framework import serializers

from catalog.choices import PriceType, ResourceKind
from inventory.choices import (
    AdministrativeState,
    OperationalState,
    ResourceCategory,
    ResourceStatus,
    UsageState,
)
from inventory.models import ProductInstance, Resource, Service
from telco.api.schema import (
    ENTITY_REF,
    MONEY,
    STRING,
    array,
    characteristic_list_field,
    entity_ref_field,
    entity_ref_list_field,
    enum,
    nullable_entity_ref_field,
    obj,
    related_party_list_field,
    schema_field,
)
from telco.api.serializers import RefSerializer, TMFSerializer, reference

PRODUCT_URL = "inventory-api:product-detail"
SERVICE_URL = "inventory-api:service-detail"
RESOURCE_URL = "inventory-api:resource-detail"


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
            for price in product.product_offering.prices.all()
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

    class Meta:
        model = Service
        fields = [
            "name",
            "category",
            "state",
            "startDate",
            "endDate",
            "serviceSpecification",
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

    @entity_ref_list_field
    def get_supportingResource(self, service):
        return [
            self.ref(binding.resource, RESOURCE_URL, resource_type(binding.resource))
            for binding in service.held_bindings
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
    if resource.category == ResourceCategory.PHYSICAL:
        return "PhysicalResource"
    return "LogicalResource"


# @type on create chooses the category; physical equipment and logical resources by TMF name.
TYPE_CATEGORIES = {
    "PhysicalResource": ResourceCategory.PHYSICAL,
    "Equipment": ResourceCategory.PHYSICAL,
    "LogicalResource": ResourceCategory.LOGICAL,
}


class ResourceSerializer(TMFSerializer):
    """TMF639 Resource (PhysicalResource or LogicalResource)."""

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
    resourceSpecification = serializers.SerializerMethodField()
    place = serializers.SerializerMethodField()
    resourceRelationship = serializers.SerializerMethodField()
    resourceCharacteristic = serializers.SerializerMethodField()

    class Meta:
        model = Resource
        fields = [
            "name",
            "category",
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

    @schema_field(array(RESOURCE_RELATIONSHIP))
    def get_resourceRelationship(self, resource):
        if resource.parent is None:
            return []
        return [
            {
                "relationshipType": "isContainedIn",
                "resource": self.ref(resource.parent, RESOURCE_URL, resource_type(resource.parent)),
            }
        ]

    @characteristic_list_field
    def get_resourceCharacteristic(self, resource):
        characteristics = [
            {"name": "resourceKind", "value": resource.resource_kind},
            {"name": "capacityMbps", "value": resource.capacity_mbps},
        ]
        if hasattr(resource, "free_mbps"):
            characteristics.append({"name": "freeCapacityMbps", "value": resource.free_mbps})
        return characteristics + characteristics_list(resource.characteristics)

    def to_representation(self, instance):
        body = super().to_representation(instance)
        body["@type"] = resource_type(instance)
        return body


class CharacteristicInputSerializer(serializers.Serializer):
    name = serializers.CharField()
    value = serializers.JSONField()


class ResourceCreateSerializer(serializers.Serializer):
    """TMF639 POST body: `name` and `@type`; the kind from the specification or a characteristic."""

    name = serializers.CharField(max_length=120)
    resourceSpecification = RefSerializer(required=False)
    resourceCharacteristic = CharacteristicInputSerializer(many=True, required=False)
    resourceRelationship = serializers.ListField(child=serializers.DictField(), required=False)

    def to_internal_value(self, data):
        value = super().to_internal_value(data)
        tmf_type = data.get("@type") if isinstance(data, dict) else None
        if tmf_type not in TYPE_CATEGORIES:
            raise serializers.ValidationError(
                {"@type": [f"Must be one of: {', '.join(TYPE_CATEGORIES)}."]}
            )
        value["category"] = TYPE_CATEGORIES[tmf_type]
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
        value["resource_kind"] = kind
        value["characteristics"] = characteristics
        return value
