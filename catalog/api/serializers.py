"""TMF620 Product Catalog representations (plus read-only TMF633/TMF634 specifications)."""

from rest_framework import serializers

from catalog.choices import LifecycleStatus, PriceType, RecurringPeriod, ValueType
from catalog.models import (
    ProductOffering,
    ProductOfferingPrice,
    ProductSpecification,
    ResourceSpecification,
    ServiceSpecification,
)
from telco.api.serializers import MoneySerializer, RefSerializer, TMFSerializer

PRODUCT_SPECIFICATION = "catalog-api:productSpecification-detail"
PRODUCT_OFFERING = "catalog-api:productOffering-detail"
PRODUCT_OFFERING_PRICE = "catalog-api:productOfferingPrice-detail"
SERVICE_SPECIFICATION = "catalog-api:serviceSpecification-detail"
RESOURCE_SPECIFICATION = "catalog-api:resourceSpecification-detail"


class ValidForSerializer(serializers.Serializer):
    startDateTime = serializers.DateTimeField(required=False, allow_null=True)
    endDateTime = serializers.DateTimeField(required=False, allow_null=True)


class QuantitySerializer(serializers.Serializer):
    amount = serializers.DecimalField(max_digits=18, decimal_places=4, required=False)
    units = serializers.CharField(max_length=10, allow_blank=True)


def valid_for(start, end) -> dict:
    return {
        "startDateTime": serializers.DateTimeField().to_representation(start) if start else None,
        "endDateTime": serializers.DateTimeField().to_representation(end) if end else None,
    }


def _validity_input(attrs: dict) -> dict:
    """validFor {startDateTime, endDateTime} -> valid_from / valid_to (only the keys given)."""
    validity = attrs.pop("validFor", None)
    if validity is None:
        return attrs
    if "startDateTime" in validity and validity["startDateTime"] is not None:
        attrs["valid_from"] = validity["startDateTime"]
    if "endDateTime" in validity:
        attrs["valid_to"] = validity["endDateTime"]
    return attrs


class CharacteristicValueSerializer(serializers.Serializer):
    value = serializers.CharField(max_length=60)
    isDefault = serializers.BooleanField(default=False)


class CharacteristicSerializer(serializers.Serializer):
    """A productSpecCharacteristic; `minCardinality` >= 1 marks it required."""

    name = serializers.CharField(max_length=60)
    description = serializers.CharField(max_length=200, required=False, allow_blank=True)
    valueType = serializers.ChoiceField(choices=ValueType.choices, default=ValueType.STRING)
    configurable = serializers.BooleanField(default=True)
    minCardinality = serializers.IntegerField(min_value=0, default=0)
    productSpecCharacteristicValue = CharacteristicValueSerializer(many=True, default=list)

    def validate_productSpecCharacteristicValue(self, values):
        if sum(1 for v in values if v["isDefault"]) > 1:
            raise serializers.ValidationError("Only one value can be the default.")
        return values

    def to_internal_value(self, data):
        attrs = super().to_internal_value(data)
        values = attrs["productSpecCharacteristicValue"]
        return {
            "name": attrs["name"],
            "description": attrs.get("description", ""),
            "value_type": attrs["valueType"],
            "is_required": attrs["minCardinality"] >= 1,
            "allowed_values": [v["value"] for v in values if not v["isDefault"] or len(values) > 1],
            "default_value": next((v["value"] for v in values if v["isDefault"]), ""),
        }


def characteristic_representation(characteristic) -> dict:
    allowed = list(characteristic.allowed_values or [])
    default = characteristic.default_value
    values = [{"value": str(v), "isDefault": str(v) == default} for v in allowed]
    if default and default not in [str(v) for v in allowed]:
        values.append({"value": default, "isDefault": True})
    return {
        "name": characteristic.name,
        "description": characteristic.description,
        "valueType": characteristic.value_type,
        "configurable": True,
        "minCardinality": 1 if characteristic.is_required else 0,
        "maxCardinality": 1,
        "productSpecCharacteristicValue": values,
    }


class ProductSpecificationSerializer(TMFSerializer):
    """TMF620 ProductSpecification with its characteristics and service specification refs."""

    tmf_type = "ProductSpecification"
    url_name = PRODUCT_SPECIFICATION

    lifecycleStatus = serializers.ChoiceField(
        source="lifecycle_status", choices=LifecycleStatus.choices, required=False
    )
    lastUpdate = serializers.DateTimeField(source="last_update", read_only=True)
    productSpecCharacteristic = CharacteristicSerializer(many=True, required=False, write_only=True)
    serviceSpecification = RefSerializer(many=True, required=False, write_only=True)

    class Meta:
        model = ProductSpecification
        fields = [
            "name",
            "description",
            "brand",
            "version",
            "lifecycleStatus",
            "lastUpdate",
            "productSpecCharacteristic",
            "serviceSpecification",
        ]
        # Name uniqueness is the service's rule, reported with the TMF error body.
        extra_kwargs = {"name": {"validators": []}}

    def to_internal_value(self, data):
        attrs = super().to_internal_value(data)
        if "productSpecCharacteristic" in attrs:
            attrs["characteristics"] = attrs.pop("productSpecCharacteristic")
        if "serviceSpecification" in attrs:
            attrs["service_specification_ids"] = [
                r["id"] for r in attrs.pop("serviceSpecification")
            ]
        return attrs

    def to_representation(self, instance):
        body = super().to_representation(instance)
        body["isBundle"] = False
        body["productSpecCharacteristic"] = [
            characteristic_representation(c) for c in instance.characteristics.all()
        ]
        body["serviceSpecification"] = [
            self.ref(s, SERVICE_SPECIFICATION, "ServiceSpecification")
            for s in instance.service_specifications.all()
        ]
        return body


class ProductOfferingSerializer(TMFSerializer):
    """TMF620 ProductOffering. `lifecycleStatus` starts `inDesign`; PATCH moves it."""

    tmf_type = "ProductOffering"
    url_name = PRODUCT_OFFERING

    isSellable = serializers.BooleanField(source="is_sellable", required=False)
    lifecycleStatus = serializers.ChoiceField(
        source="lifecycle_status", choices=LifecycleStatus.choices, required=False
    )
    lastUpdate = serializers.DateTimeField(source="last_update", read_only=True)
    validFor = ValidForSerializer(required=False, write_only=True)
    productSpecification = RefSerializer(write_only=True)

    class Meta:
        model = ProductOffering
        fields = [
            "name",
            "description",
            "isSellable",
            "lifecycleStatus",
            "lastUpdate",
            "validFor",
            "productSpecification",
        ]
        extra_kwargs = {"name": {"validators": []}}

    def validate_productSpecification(self, ref):
        specification = ProductSpecification.objects.filter(
            pk=int(ref["id"]) if ref["id"].isdigit() else None
        ).first()
        if specification is None:
            raise serializers.ValidationError(
                {"id": f"Product specification '{ref['id']}' does not exist."}
            )
        return specification

    def to_internal_value(self, data):
        attrs = _validity_input(super().to_internal_value(data))
        if "productSpecification" in attrs:
            attrs["product_specification"] = attrs.pop("productSpecification")
        return attrs

    def to_representation(self, instance):
        body = super().to_representation(instance)
        body["isBundle"] = False
        body["validFor"] = valid_for(instance.valid_from, instance.valid_to)
        body["productSpecification"] = self.ref(
            instance.product_specification, PRODUCT_SPECIFICATION, "ProductSpecification"
        )
        body["productOfferingPrice"] = [
            self.ref(p, PRODUCT_OFFERING_PRICE, "ProductOfferingPrice", name=p.name)
            for p in instance.prices.all()
        ]
        return body


class ProductOfferingPriceSerializer(TMFSerializer):
    """TMF620 ProductOfferingPrice.

    TMF620 prices do not point at their offering; ours belong to exactly one, so the extension
    attribute `productOffering` (a ref) says which, and is required on POST. Usage prices carry
    the extension attributes `ratingGroup` (what the network reports usage under) and
    `includedAllowance` (a Quantity included each period before the price applies);
    `unitOfMeasure` is the unit the price is per (amount 1).
    """

    tmf_type = "ProductOfferingPrice"
    url_name = PRODUCT_OFFERING_PRICE

    priceType = serializers.ChoiceField(source="price_type", choices=PriceType.choices)
    recurringChargePeriodType = serializers.ChoiceField(
        source="recurring_period",
        choices=RecurringPeriod.choices,
        required=False,
        allow_blank=True,
        allow_null=True,
    )
    price = MoneySerializer(write_only=True)
    unitOfMeasure = QuantitySerializer(required=False, allow_null=True, write_only=True)
    ratingGroup = serializers.CharField(
        source="rating_group", max_length=60, required=False, allow_blank=True, allow_null=True
    )
    includedAllowance = QuantitySerializer(required=False, allow_null=True, write_only=True)
    validFor = ValidForSerializer(required=False, write_only=True)
    lastUpdate = serializers.DateTimeField(source="last_update", read_only=True)
    productOffering = RefSerializer(write_only=True)

    class Meta:
        model = ProductOfferingPrice
        fields = [
            "name",
            "priceType",
            "recurringChargePeriodType",
            "price",
            "unitOfMeasure",
            "ratingGroup",
            "includedAllowance",
            "validFor",
            "lastUpdate",
            "productOffering",
        ]

    def validate_productOffering(self, ref):
        offering = ProductOffering.objects.filter(
            pk=int(ref["id"]) if ref["id"].isdigit() else None
        ).first()
        if offering is None:
            raise serializers.ValidationError(
                {"id": f"Product offering '{ref['id']}' does not exist."}
            )
        return offering

    def to_internal_value(self, data):
        attrs = _validity_input(super().to_internal_value(data))
        if "productOffering" in attrs:
            attrs["product_offering"] = attrs.pop("productOffering")
        if "price" in attrs:
            money = attrs.pop("price")
            attrs["amount"], attrs["currency"] = money["value"], money["unit"].upper()
        if "unitOfMeasure" in attrs:
            attrs["unit_of_measure"] = (attrs.pop("unitOfMeasure") or {}).get("units", "")
        if "includedAllowance" in attrs:
            attrs["included_allowance"] = (attrs.pop("includedAllowance") or {}).get("amount", 0)
        for field in ("recurring_period", "rating_group"):
            if field in attrs and attrs[field] is None:
                attrs[field] = ""
        return attrs

    def to_representation(self, instance):
        body = super().to_representation(instance)
        is_usage = instance.price_type == PriceType.USAGE
        body["recurringChargePeriodType"] = instance.recurring_period or None
        body["recurringChargePeriodLength"] = 1 if instance.recurring_period else None
        body["price"] = self.money(instance.amount, instance.currency)
        body["unitOfMeasure"] = (
            {"amount": 1, "units": instance.unit_of_measure} if instance.unit_of_measure else None
        )
        body["ratingGroup"] = instance.rating_group or None
        body["includedAllowance"] = (
            {"amount": float(instance.included_allowance), "units": instance.unit_of_measure}
            if is_usage
            else None
        )
        body["isBundle"] = False
        body["validFor"] = valid_for(instance.valid_from, instance.valid_to)
        body["productOffering"] = self.ref(
            instance.product_offering, PRODUCT_OFFERING, "ProductOffering"
        )
        return body


class ServiceSpecificationSerializer(TMFSerializer):
    """TMF633 ServiceSpecification (read-only) with its resource specification refs."""

    tmf_type = "ServiceSpecification"
    url_name = SERVICE_SPECIFICATION

    lifecycleStatus = serializers.CharField(source="lifecycle_status")
    lastUpdate = serializers.DateTimeField(source="last_update")

    class Meta:
        model = ServiceSpecification
        fields = ["name", "description", "lifecycleStatus", "lastUpdate"]

    def to_representation(self, instance):
        body = super().to_representation(instance)
        body["resourceSpecification"] = [
            self.ref(r, RESOURCE_SPECIFICATION, "ResourceSpecification")
            for r in instance.resource_specifications.all()
        ]
        return body


class ResourceSpecificationSerializer(TMFSerializer):
    """TMF634 ResourceSpecification (read-only); `category` is the resource kind (gnb, slice...)."""

    tmf_type = "ResourceSpecification"
    url_name = RESOURCE_SPECIFICATION

    category = serializers.CharField(source="resource_kind")
    lifecycleStatus = serializers.CharField(source="lifecycle_status")
    lastUpdate = serializers.DateTimeField(source="last_update")

    class Meta:
        model = ResourceSpecification
        fields = ["name", "description", "category", "lifecycleStatus", "lastUpdate"]
