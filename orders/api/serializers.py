"""TMF622 product order and TMF641 service order representations and input bodies."""

import json

from rest_framework import serializers

from inventory.api.serializers import (
    PRODUCT_URL,
    SERVICE_URL,
    characteristics_list,
    customer_party,
)
from inventory.choices import ServiceState
from orders.choices import ItemAction, OrderState
from orders.models import CancelProductOrder, CancelServiceOrder, ProductOrder, ServiceOrder
from orders.services import ItemRequest, PartyRequest
from orders.services.enterprise import SITES, sites_of
from telco.api.schema import (
    CHARACTERISTIC,
    ENTITY_REF,
    STRING,
    array,
    entity_ref_field,
    enum,
    extend,
    note_list_field,
    obj,
    related_party_list_field,
    schema_field,
)
from telco.api.serializers import RefSerializer, TMFSerializer, reference

PRODUCT_ORDER_URL = "orders-api:productOrder-detail"
SERVICE_ORDER_URL = "orders-api:serviceOrder-detail"
CANCEL_PRODUCT_ORDER_URL = "orders-api:cancelProductOrder-detail"
CANCEL_SERVICE_ORDER_URL = "orders-api:cancelServiceOrder-detail"


ORDER_STATE = enum(OrderState.values)
ORDER_REF = extend(ENTITY_REF, {"state": ORDER_STATE})
PRODUCT_ORDER_ITEM = obj(
    {
        "id": STRING,
        "action": enum(ItemAction.values),
        "state": ORDER_STATE,
        "quantity": {"type": "integer"},
        "productOffering": ENTITY_REF,
        "product": obj(
            {
                "id": STRING,
                "href": STRING,
                "name": STRING,
                "@referredType": STRING,
                "status": STRING,
                "productCharacteristic": array(CHARACTERISTIC),
                "place": array(obj({"id": STRING, "role": STRING, "@referredType": STRING})),
            }
        ),
        "productOrderItemRelationship": array(obj({"id": STRING, "relationshipType": STRING})),
        "@type": STRING,
    }
)
SERVICE_ORDER_ITEM = obj(
    {
        "id": STRING,
        "action": enum(ItemAction.values),
        "state": ORDER_STATE,
        "quantity": {"type": "integer"},
        "service": obj(
            {
                "id": STRING,
                "href": STRING,
                "name": STRING,
                "@referredType": STRING,
                "state": enum(ServiceState.values),
                "serviceSpecification": ENTITY_REF,
                "serviceCharacteristic": array(CHARACTERISTIC),
            },
            required=["serviceSpecification"],
        ),
        "@type": STRING,
    }
)
ORDER_RELATIONSHIP = extend(ENTITY_REF, {"relationshipType": STRING})


class _OrderSerializer(TMFSerializer):
    """The fields TMF622 ProductOrder and TMF641 ServiceOrder share; a failure becomes a note."""

    orderDate = serializers.DateTimeField(source="order_date")
    completionDate = serializers.DateTimeField(source="completion_date")
    externalId = serializers.CharField(source="external_id")
    relatedParty = serializers.SerializerMethodField()
    note = serializers.SerializerMethodField()

    @note_list_field
    def get_note(self, order):
        if not order.failure_reason:
            return []
        return [{"text": order.failure_reason, "author": "activation-workflow", "@type": "Note"}]


def _item_notes(order) -> list[dict]:
    """Why each failed item of a product order failed, when it is not the order's own reason."""
    return [
        {
            "text": f"Item {item.item_id}: {item.failure_reason}",
            "author": "activation-workflow",
            "@type": "Note",
        }
        for item in order.items.all()
        if item.failure_reason and item.failure_reason != order.failure_reason
    ]


class ProductOrderSerializer(_OrderSerializer):
    """TMF622 ProductOrder, with the service orders it produced (`serviceOrder`, an extension)."""

    tmf_type = "ProductOrder"
    url_name = PRODUCT_ORDER_URL

    expectedCompletionDate = serializers.DateTimeField(source="expected_completion_date")
    requestedStartDate = serializers.DateTimeField(source="requested_start_date")
    productOrderItem = serializers.SerializerMethodField()
    billingAccount = serializers.SerializerMethodField()
    serviceOrder = serializers.SerializerMethodField()

    class Meta:
        model = ProductOrder
        fields = [
            "state",
            "orderDate",
            "completionDate",
            "expectedCompletionDate",
            "requestedStartDate",
            "description",
            "externalId",
            "priority",
            "productOrderItem",
            "relatedParty",
            "billingAccount",
            "note",
            "serviceOrder",
        ]

    @note_list_field
    def get_note(self, order):
        return super().get_note(order) + _item_notes(order)

    @schema_field(array(PRODUCT_ORDER_ITEM))
    def get_productOrderItem(self, order):
        return [
            {
                "id": item.item_id,
                "action": item.action,
                "state": item.state,
                "quantity": 1,
                "productOffering": reference(
                    self.request,
                    item.product_offering,
                    "catalog-api:productOffering-detail",
                    "ProductOffering",
                ),
                "product": {
                    **(self.ref(item.product, PRODUCT_URL, "Product") or {}),
                    **({"status": item.target_status} if item.target_status else {}),
                    "productCharacteristic": characteristics_list(item.characteristics),
                    **_places(item.characteristics),
                },
                "productOrderItemRelationship": [
                    {"id": other, "relationshipType": "reliesOn"} for other in item.relies_on
                ],
                "@type": "ProductOrderItem",
            }
            for item in order.items.all()
        ]

    @related_party_list_field
    def get_relatedParty(self, order):
        return [customer_party(self.request, order.customer)]

    @entity_ref_field
    def get_billingAccount(self, order):
        account = order.billing_account
        return reference(
            self.request, account, "crm-api:billingAccount-detail", "BillingAccount", account.name
        )

    @schema_field(array(ORDER_REF))
    def get_serviceOrder(self, order):
        return [
            self.ref(
                service_order,
                SERVICE_ORDER_URL,
                "ServiceOrder",
                f"Service order {service_order.pk}",
            )
            | {"state": service_order.state}
            for service_order in order.service_orders.all()
        ]


class ServiceOrderSerializer(_OrderSerializer):
    """TMF641 ServiceOrder."""

    tmf_type = "ServiceOrder"
    url_name = SERVICE_ORDER_URL

    startDate = serializers.DateTimeField(source="start_date")
    serviceOrderItem = serializers.SerializerMethodField()
    orderRelationship = serializers.SerializerMethodField()

    class Meta:
        model = ServiceOrder
        fields = [
            "state",
            "orderDate",
            "startDate",
            "completionDate",
            "description",
            "externalId",
            "serviceOrderItem",
            "relatedParty",
            "orderRelationship",
            "note",
        ]

    @schema_field(array(SERVICE_ORDER_ITEM))
    def get_serviceOrderItem(self, order):
        items = []
        for item in order.items.all():
            service = item.service
            specification = reference(
                self.request,
                item.service_specification,
                "catalog-api:serviceSpecification-detail",
                "ServiceSpecification",
            )
            body = {"serviceSpecification": specification}
            if service is not None:
                body = {
                    **self.ref(service, SERVICE_URL, "Service", service.name),
                    "state": service.state,
                    **body,
                    "serviceCharacteristic": characteristics_list(item.characteristics),
                }
            items.append(
                {
                    "id": item.item_id,
                    "action": item.action,
                    "state": item.state,
                    "quantity": 1,
                    "service": body,
                    "@type": "ServiceOrderItem",
                }
            )
        return items

    @related_party_list_field
    def get_relatedParty(self, order):
        if order.product_order is None:
            return []
        return [customer_party(self.request, order.product_order.customer)]

    @schema_field(array(ORDER_RELATIONSHIP))
    def get_orderRelationship(self, order):
        if order.product_order is None:
            return []
        return [
            {
                **self.ref(order.product_order, PRODUCT_ORDER_URL, "ProductOrder"),
                "relationshipType": "decomposedFrom",
            }
        ]


def _text(value) -> str:
    """Characteristic values arrive as any JSON; the catalog compares them as text."""
    return value if isinstance(value, str) else json.dumps(value)


class CharacteristicInput(serializers.Serializer):
    name = serializers.CharField()
    value = serializers.JSONField()


class PlaceInput(serializers.Serializer):
    """A RelatedPlaceRefOrValue: a site of the product (role "vpnSite"), by its id."""

    id = serializers.CharField()
    role = serializers.CharField(required=False, allow_blank=True)
    name = serializers.CharField(required=False, allow_blank=True)


class ProductInput(serializers.Serializer):
    """The product of an item: new characteristics (add, modify); for modify and delete its
    `id`, and for suspend / resume the `status` wanted (suspended / active). `place` names the
    sites of an enterprise product (Enterprise VPN, Ethernet): recorded as its `sites`
    characteristic (the ids, comma separated), the whole list on a modify."""

    id = serializers.CharField(required=False)
    status = serializers.CharField(required=False)
    productCharacteristic = CharacteristicInput(many=True, required=False)
    place = PlaceInput(many=True, required=False)


def _places(characteristics: dict) -> dict:
    """An enterprise product's sites as its `place` (none for the others)."""
    sites = sites_of(characteristics)
    if not sites:
        return {}
    return {
        "place": [
            {"id": site, "role": "vpnSite", "@referredType": "GeographicSite"} for site in sites
        ]
    }


def _characteristics(entity: dict, attribute: str = "productCharacteristic") -> dict:
    """The product's (or service's) characteristics, its places as the `sites` one."""
    values = {c["name"]: _text(c["value"]) for c in entity.get(attribute, [])}
    if entity.get("place"):
        values[SITES] = ",".join(place["id"].strip() for place in entity["place"])
    return values


class ItemRelationshipInput(serializers.Serializer):
    id = serializers.CharField()
    relationshipType = serializers.ChoiceField(choices=["reliesOn"])


def _require_items(items: list, name: str) -> list:
    # Checked here rather than with allow_empty, so the error names the attribute itself.
    if not items:
        raise serializers.ValidationError({name: ["An order needs at least one item."]})
    return items


class ProductOrderItemInput(serializers.Serializer):
    """add: productOffering (+ product.productCharacteristic); modify: product.id with a new
    productOffering (change of plan), new productCharacteristic, or status suspended/active;
    delete: product.id. productOrderItemRelationship reliesOn: items that must complete first."""

    id = serializers.CharField(max_length=20)
    action = serializers.ChoiceField(choices=ItemAction.choices)
    productOffering = RefSerializer(required=False)
    product = ProductInput(required=False)
    productOrderItemRelationship = ItemRelationshipInput(many=True, required=False)


class ProductOrderInput(serializers.Serializer):
    """TMF622 ProductOrder_Create: only what the order capture uses; the rest is ignored."""

    productOrderItem = ProductOrderItemInput(many=True)
    relatedParty = RefSerializer(many=True, required=False)
    billingAccount = RefSerializer(required=False)
    description = serializers.CharField(max_length=200, required=False, allow_blank=True)
    externalId = serializers.CharField(max_length=60, required=False, allow_blank=True)

    def validate(self, attrs):
        _require_items(attrs["productOrderItem"], "productOrderItem")
        return attrs

    def to_service_arguments(self) -> dict:
        data = self.validated_data
        return {
            "items": [
                ItemRequest(
                    item_id=item["id"],
                    action=item["action"],
                    target_id=item.get("productOffering", {}).get("id", ""),
                    characteristics=_characteristics(item.get("product", {})),
                    product_id=item.get("product", {}).get("id", ""),
                    status=item.get("product", {}).get("status", ""),
                    relies_on=[
                        relationship["id"]
                        for relationship in item.get("productOrderItemRelationship", [])
                    ],
                )
                for item in data["productOrderItem"]
            ],
            "parties": [
                PartyRequest(id=party["id"], referred_type=party.get("referred_type", ""))
                for party in data.get("relatedParty", [])
            ],
            "billing_account_id": data["billingAccount"]["id"]
            if "billingAccount" in data
            else None,
            "description": data.get("description", ""),
            "external_id": data.get("externalId", ""),
        }


class ServiceInput(serializers.Serializer):
    """add: serviceSpecification (+ serviceCharacteristic); modify: the service `id` with new
    serviceCharacteristic or `state` inactive / active; delete: the service `id`."""

    id = serializers.CharField(required=False)
    state = serializers.CharField(required=False)
    serviceSpecification = RefSerializer(required=False)
    serviceCharacteristic = CharacteristicInput(many=True, required=False)
    place = PlaceInput(many=True, required=False)


class ServiceOrderItemInput(serializers.Serializer):
    id = serializers.CharField(max_length=20)
    action = serializers.ChoiceField(choices=ItemAction.choices)
    service = ServiceInput()


class ServiceOrderInput(serializers.Serializer):
    """TMF641 ServiceOrder_Create: items naming a service specification each."""

    serviceOrderItem = ServiceOrderItemInput(many=True)
    description = serializers.CharField(max_length=200, required=False, allow_blank=True)
    externalId = serializers.CharField(max_length=60, required=False, allow_blank=True)

    def validate(self, attrs):
        _require_items(attrs["serviceOrderItem"], "serviceOrderItem")
        return attrs

    def to_service_arguments(self) -> dict:
        data = self.validated_data
        return {
            "items": [
                ItemRequest(
                    item_id=item["id"],
                    action=item["action"],
                    target_id=item["service"].get("serviceSpecification", {}).get("id", ""),
                    characteristics=_characteristics(item["service"], "serviceCharacteristic"),
                    service_id=item["service"].get("id", ""),
                    service_state=item["service"].get("state", ""),
                )
                for item in data["serviceOrderItem"]
            ],
            "description": data.get("description", ""),
            "external_id": data.get("externalId", ""),
        }


class _CancellationSerializer(TMFSerializer):
    """The TMF task of cancelling an order; `errorMessage` (an extension) says why it failed."""

    cancellationReason = serializers.CharField(source="cancellation_reason")
    requestedCancellationDate = serializers.DateTimeField(source="requested_cancellation_date")
    effectiveCancellationDate = serializers.DateTimeField(source="effective_cancellation_date")
    errorMessage = serializers.CharField(source="error_message")

    FIELDS = [
        "state",
        "cancellationReason",
        "requestedCancellationDate",
        "effectiveCancellationDate",
        "errorMessage",
    ]


class CancelProductOrderSerializer(_CancellationSerializer):
    """TMF622 CancelProductOrder."""

    tmf_type = "CancelProductOrder"
    url_name = CANCEL_PRODUCT_ORDER_URL

    productOrder = serializers.SerializerMethodField()

    class Meta:
        model = CancelProductOrder
        fields = [*_CancellationSerializer.FIELDS, "productOrder"]

    @schema_field(ORDER_REF)
    def get_productOrder(self, task):
        return self.ref(task.order, PRODUCT_ORDER_URL, "ProductOrder") | {"state": task.order.state}


class CancelServiceOrderSerializer(_CancellationSerializer):
    """TMF641 CancelServiceOrder."""

    tmf_type = "CancelServiceOrder"
    url_name = CANCEL_SERVICE_ORDER_URL

    serviceOrder = serializers.SerializerMethodField()

    class Meta:
        model = CancelServiceOrder
        fields = [*_CancellationSerializer.FIELDS, "serviceOrder"]

    @schema_field(ORDER_REF)
    def get_serviceOrder(self, task):
        return self.ref(task.order, SERVICE_ORDER_URL, "ServiceOrder") | {"state": task.order.state}


class _CancellationInput(serializers.Serializer):
    cancellationReason = serializers.CharField(required=False, allow_blank=True)
    requestedCancellationDate = serializers.DateTimeField(required=False)

    order_attribute = ""

    def to_service_arguments(self) -> dict:
        data = self.validated_data
        return {
            "order_id": data[self.order_attribute]["id"],
            "reason": data.get("cancellationReason", ""),
            "requested_date": data.get("requestedCancellationDate"),
        }


class CancelProductOrderInput(_CancellationInput):
    """TMF622 CancelProductOrder_Create: the order to cancel, and why."""

    productOrder = RefSerializer()
    order_attribute = "productOrder"


class CancelServiceOrderInput(_CancellationInput):
    """TMF641 CancelServiceOrder_Create: the order to cancel, and why."""

    serviceOrder = RefSerializer()
    order_attribute = "serviceOrder"
