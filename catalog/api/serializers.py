"""TMF620 Product Catalog representations (plus read-only TMF633/TMF634 specifications)."""

from rest_framework import serializers

from catalog.choices import (
    LifecycleStatus,
    MarketSegment,
    PriceType,
    RecurringPeriod,
    ServiceCategory,
    ValueType,
)
from catalog.models import (
    Catalog,
    Category,
    ProductOffering,
    ProductOfferingPrice,
    ProductSpecification,
    ResourceSpecification,
    ServiceSpecification,
)
from telco.api.serializers import (
    MoneySerializer,
    NestedSerializer,
    RefSerializer,
    TMFSerializer,
)
from telco.selectors import row_with_id

PRODUCT_SPECIFICATION = "catalog-api:productSpecification-detail"
PRODUCT_OFFERING = "catalog-api:productOffering-detail"
PRODUCT_OFFERING_PRICE = "catalog-api:productOfferingPrice-detail"
SERVICE_SPECIFICATION = "catalog-api:serviceSpecification-detail"
RESOURCE_SPECIFICATION = "catalog-api:resourceSpecification-detail"
CATEGORY = "catalog-api:category-detail"
CATALOG = "catalog-api:catalog-detail"
# A discount's applicationDuration counts billing periods of the product it applies to.
BILLING_PERIOD = "billingPeriod"


class ValidForSerializer(NestedSerializer):
    startDateTime = serializers.DateTimeField(required=False, allow_null=True)
    endDateTime = serializers.DateTimeField(required=False, allow_null=True)


class QuantitySerializer(NestedSerializer):
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


class CharacteristicValueSerializer(NestedSerializer):
    """One allowed value (`value`), or a numeric range (`valueFrom`/`valueTo`, both included)."""

    value = serializers.CharField(max_length=60, required=False)
    isDefault = serializers.BooleanField(default=False)
    valueFrom = serializers.DecimalField(
        max_digits=18, decimal_places=4, required=False, allow_null=True
    )
    valueTo = serializers.DecimalField(
        max_digits=18, decimal_places=4, required=False, allow_null=True
    )
    rangeInterval = serializers.ChoiceField(choices=["closed"], required=False)
    valueType = serializers.CharField(required=False)

    def validate(self, attrs):
        is_range = attrs.get("valueFrom") is not None or attrs.get("valueTo") is not None
        if is_range and "value" in attrs:
            raise serializers.ValidationError(
                {"value": "A value entry is a value or a range (valueFrom/valueTo), not both."}
            )
        if not is_range and "value" not in attrs:
            raise serializers.ValidationError({"value": "This field is required."})
        if is_range and attrs["isDefault"]:
            raise serializers.ValidationError({"isDefault": "A range cannot be the default."})
        return attrs


class CharacteristicSerializer(NestedSerializer):
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
        if sum(1 for v in values if "value" not in v) > 1:
            raise serializers.ValidationError("Only one range (valueFrom/valueTo) is allowed.")
        return values

    def to_internal_value(self, data):
        attrs = super().to_internal_value(data)
        values = [v for v in attrs["productSpecCharacteristicValue"] if "value" in v]
        ranges = [v for v in attrs["productSpecCharacteristicValue"] if "value" not in v]
        return {
            "name": attrs["name"],
            "description": attrs.get("description", ""),
            "value_type": attrs["valueType"],
            "is_required": attrs["minCardinality"] >= 1,
            "allowed_values": [v["value"] for v in values if not v["isDefault"] or len(values) > 1],
            "default_value": next((v["value"] for v in values if v["isDefault"]), ""),
            "min_value": ranges[0].get("valueFrom") if ranges else None,
            "max_value": ranges[0].get("valueTo") if ranges else None,
        }


def decimal_number(value):
    """A Decimal as a JSON number: an int when whole (100), else a float (12.5)."""
    if value is None:
        return None
    return int(value) if value == value.to_integral_value() else float(value)


def characteristic_representation(characteristic) -> dict:
    allowed = list(characteristic.allowed_values or [])
    default = characteristic.default_value
    values = [{"value": str(v), "isDefault": str(v) == default} for v in allowed]
    if default and default not in [str(v) for v in allowed]:
        values.append({"value": default, "isDefault": True})
    if characteristic.min_value is not None or characteristic.max_value is not None:
        values.append(
            {
                "valueType": characteristic.value_type,
                "valueFrom": decimal_number(characteristic.min_value),
                "valueTo": decimal_number(characteristic.max_value),
                "rangeInterval": "closed",
                "isDefault": False,
            }
        )
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


class MarketSegmentRefSerializer(NestedSerializer):
    """A MarketSegmentRef; `id` is a customer segment (checked by the service)."""

    id = serializers.CharField(help_text=f"One of: {', '.join(MarketSegment.values)}.")
    name = serializers.CharField(required=False, allow_blank=True)


class ProductOfferingSerializer(TMFSerializer):
    """TMF620 ProductOffering. `lifecycleStatus` starts `inDesign`; PATCH moves it.

    `marketSegment` refs (id: consumer, smallBusiness or enterprise) restrict who may buy it;
    none means everyone. A bundle (`isBundle`) lists its `bundledProductOffering`.
    """

    tmf_type = "ProductOffering"
    url_name = PRODUCT_OFFERING

    isSellable = serializers.BooleanField(source="is_sellable", required=False)
    isBundle = serializers.BooleanField(source="is_bundle", required=False)
    lifecycleStatus = serializers.ChoiceField(
        source="lifecycle_status", choices=LifecycleStatus.choices, required=False
    )
    lastUpdate = serializers.DateTimeField(source="last_update", read_only=True)
    validFor = ValidForSerializer(required=False, write_only=True)
    productSpecification = RefSerializer(write_only=True)
    category = RefSerializer(many=True, required=False, write_only=True)
    marketSegment = MarketSegmentRefSerializer(many=True, required=False, write_only=True)
    bundledProductOffering = RefSerializer(many=True, required=False, write_only=True)

    class Meta:
        model = ProductOffering
        fields = [
            "name",
            "description",
            "isBundle",
            "isSellable",
            "lifecycleStatus",
            "lastUpdate",
            "validFor",
            "productSpecification",
            "category",
            "marketSegment",
            "bundledProductOffering",
        ]
        extra_kwargs = {"name": {"validators": []}}

    def validate_productSpecification(self, ref):
        specification = row_with_id(ProductSpecification.objects, ref["id"])
        if specification is None:
            raise serializers.ValidationError(
                {"id": f"Product specification '{ref['id']}' does not exist."}
            )
        return specification

    def to_internal_value(self, data):
        attrs = _validity_input(super().to_internal_value(data))
        if "productSpecification" in attrs:
            attrs["product_specification"] = attrs.pop("productSpecification")
        if "category" in attrs:
            attrs["category_ids"] = [r["id"] for r in attrs.pop("category")]
        if "marketSegment" in attrs:
            attrs["market_segments"] = [r["id"] for r in attrs.pop("marketSegment")]
        if "bundledProductOffering" in attrs:
            attrs["bundled_offering_ids"] = [r["id"] for r in attrs.pop("bundledProductOffering")]
        return attrs

    def to_representation(self, instance):
        body = super().to_representation(instance)
        body["validFor"] = valid_for(instance.valid_from, instance.valid_to)
        body["productSpecification"] = self.ref(
            instance.product_specification, PRODUCT_SPECIFICATION, "ProductSpecification"
        )
        body["productOfferingPrice"] = [
            self.ref(p, PRODUCT_OFFERING_PRICE, "ProductOfferingPrice", name=p.name)
            for p in instance.prices.all()
        ]
        body["category"] = [self.ref(c, CATEGORY, "Category") for c in instance.categories.all()]
        body["marketSegment"] = [
            {"id": segment, "name": segment, "@referredType": "MarketSegment"}
            for segment in instance.market_segments
        ]
        body["bundledProductOffering"] = [
            {
                **self.ref(o, PRODUCT_OFFERING, "ProductOffering"),
                "lifecycleStatus": o.lifecycle_status,
            }
            for o in instance.bundled_offerings.all()
        ]
        return body


class DurationSerializer(NestedSerializer):
    """How long a discount applies: `amount` billing periods of the product."""

    amount = serializers.IntegerField(min_value=1, max_value=32767)
    units = serializers.ChoiceField(choices=[BILLING_PERIOD], default=BILLING_PERIOD)


class PriceTierSerializer(NestedSerializer):
    """A band of usage beyond the allowance, [lowerBound, upperBound), at `price` per unit."""

    lowerBound = serializers.DecimalField(max_digits=18, decimal_places=4, source="lower_bound")
    upperBound = serializers.DecimalField(
        max_digits=18, decimal_places=4, source="upper_bound", required=False, allow_null=True
    )
    price = MoneySerializer()

    def to_internal_value(self, data):
        attrs = super().to_internal_value(data)
        return {
            "lower_bound": attrs["lower_bound"],
            "upper_bound": attrs.get("upper_bound"),
            "unit_amount": attrs["price"]["value"],
            "currency": attrs["price"]["unit"].upper(),
        }


class ProductOfferingPriceSerializer(TMFSerializer):
    """TMF620 ProductOfferingPrice.

    TMF620 prices do not point at their offering; ours belong to one, so the extension
    attribute `productOffering` (a ref) says which. As in the spec only `name` is needed on POST:
    the price starts `inDesign` (or `launched` when the client says so) and is launched by PATCH
    `{"lifecycleStatus": "launched"}` once it has `productOffering`, `priceType` and a value
    (`price`, or `percentage` for a discount); only launched prices are used for ordering and
    rating. Usage prices carry
    the extension attributes `ratingGroup` (what the network reports usage under) and
    `includedAllowance` (a Quantity included each period before the price applies);
    `unitOfMeasure` is the unit the price is per (amount 1). A usage price may have `priceTier`
    bands (extension) that replace its flat price beyond the allowance. A `discount` has either
    `percentage` or a fixed `price` off the recurring charges, and `applicationDuration`
    (billing periods, as TMF's POPAlteration) when it does not apply for ever.
    """

    tmf_type = "ProductOfferingPrice"
    url_name = PRODUCT_OFFERING_PRICE

    priceType = serializers.ChoiceField(
        source="price_type", choices=PriceType.choices, required=False
    )
    lifecycleStatus = serializers.ChoiceField(
        source="lifecycle_status", choices=LifecycleStatus.choices, required=False
    )
    recurringChargePeriodType = serializers.ChoiceField(
        source="recurring_period",
        choices=RecurringPeriod.choices,
        required=False,
        allow_blank=True,
        allow_null=True,
    )
    price = MoneySerializer(required=False, write_only=True)
    # A number, as TMF620 has it (`number(float)`), in the schema as in the answer.
    percentage = serializers.DecimalField(
        max_digits=5, decimal_places=2, required=False, allow_null=True, coerce_to_string=False
    )
    applicationDuration = DurationSerializer(required=False, allow_null=True, write_only=True)
    priceTier = PriceTierSerializer(many=True, required=False, write_only=True)
    unitOfMeasure = QuantitySerializer(required=False, allow_null=True, write_only=True)
    ratingGroup = serializers.CharField(
        source="rating_group", max_length=60, required=False, allow_blank=True, allow_null=True
    )
    includedAllowance = QuantitySerializer(required=False, allow_null=True, write_only=True)
    validFor = ValidForSerializer(required=False, write_only=True)
    lastUpdate = serializers.DateTimeField(source="last_update", read_only=True)
    productOffering = RefSerializer(required=False, write_only=True)

    class Meta:
        model = ProductOfferingPrice
        fields = [
            "name",
            "priceType",
            "lifecycleStatus",
            "recurringChargePeriodType",
            "price",
            "percentage",
            "applicationDuration",
            "priceTier",
            "unitOfMeasure",
            "ratingGroup",
            "includedAllowance",
            "validFor",
            "lastUpdate",
            "productOffering",
        ]

    def validate_productOffering(self, ref):
        offering = row_with_id(ProductOffering.objects, ref["id"])
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
        if "applicationDuration" in attrs:
            duration = attrs.pop("applicationDuration")
            attrs["applies_for_periods"] = duration["amount"] if duration else None
        if "priceTier" in attrs:
            attrs["tiers"] = attrs.pop("priceTier")
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
        body["percentage"] = decimal_number(instance.percentage)
        body["applicationDuration"] = (
            {"amount": instance.applies_for_periods, "units": BILLING_PERIOD}
            if instance.applies_for_periods
            else None
        )
        body["priceTier"] = [
            {
                "lowerBound": decimal_number(tier.lower_bound),
                "upperBound": decimal_number(tier.upper_bound),
                "price": self.money(tier.unit_amount, instance.currency),
                "unitOfMeasure": {"amount": 1, "units": instance.unit_of_measure},
            }
            for tier in instance.tiers.all()
        ]
        body["isBundle"] = False
        body["priceType"] = instance.price_type or None
        body["validFor"] = valid_for(instance.valid_from, instance.valid_to)
        body["productOffering"] = self.ref(
            instance.product_offering, PRODUCT_OFFERING, "ProductOffering"
        )
        return body


class ServiceSpecificationSerializer(TMFSerializer):
    """TMF633 ServiceSpecification (read-only) with its resource specification refs.

    `@type` says customer- or resource-facing (TMF633's CustomerFacingServiceSpecification and
    ResourceFacingServiceSpecification); `category` (CFS/RFS) is the same as a plain attribute.
    A CFS lists the RFS realising it in `serviceSpecRelationship` (relationshipType `reliesOn`).
    """

    tmf_type = "ServiceSpecification"
    url_name = SERVICE_SPECIFICATION
    TYPES = {
        ServiceCategory.CUSTOMER_FACING: "CustomerFacingServiceSpecification",
        ServiceCategory.RESOURCE_FACING: "ResourceFacingServiceSpecification",
    }

    category = serializers.CharField()
    lifecycleStatus = serializers.CharField(source="lifecycle_status")
    lastUpdate = serializers.DateTimeField(source="last_update")

    class Meta:
        model = ServiceSpecification
        fields = ["name", "description", "category", "lifecycleStatus", "lastUpdate"]

    def to_representation(self, instance):
        body = super().to_representation(instance)
        body["resourceSpecification"] = [
            self.ref(r, RESOURCE_SPECIFICATION, "ResourceSpecification")
            for r in instance.resource_specifications.all()
        ]
        body["serviceSpecRelationship"] = [
            {
                **self.ref(s, SERVICE_SPECIFICATION, "ServiceSpecification"),
                "relationshipType": "reliesOn",
            }
            for s in instance.supporting_specifications.all()
        ]
        body["@type"] = self.TYPES.get(instance.category, self.tmf_type)
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


class CategorySerializer(TMFSerializer):
    """TMF620 Category: `parentId` places it under another; `isRoot` when it has none."""

    tmf_type = "Category"
    url_name = CATEGORY

    lifecycleStatus = serializers.ChoiceField(
        source="lifecycle_status", choices=LifecycleStatus.choices, required=False
    )
    parentId = serializers.CharField(required=False, allow_null=True, allow_blank=True)
    validFor = ValidForSerializer(required=False, write_only=True)
    lastUpdate = serializers.DateTimeField(source="last_update", read_only=True)

    class Meta:
        model = Category
        fields = ["name", "description", "lifecycleStatus", "parentId", "validFor", "lastUpdate"]
        extra_kwargs = {"name": {"validators": []}}

    def to_internal_value(self, data):
        attrs = _validity_input(super().to_internal_value(data))
        if "parentId" in attrs:
            attrs["parent_id"] = attrs.pop("parentId") or None
        return attrs

    def to_representation(self, instance):
        body = super().to_representation(instance)
        body["parentId"] = str(instance.parent_id) if instance.parent_id else None
        body["isRoot"] = instance.parent_id is None
        body["validFor"] = valid_for(instance.valid_from, instance.valid_to)
        body["subCategory"] = [self.ref(c, CATEGORY, "Category") for c in instance.children.all()]
        body["productOffering"] = [
            self.ref(o, PRODUCT_OFFERING, "ProductOffering") for o in instance.offerings.all()
        ]
        return body


class CatalogSerializer(TMFSerializer):
    """TMF620 Catalog: a named collection of `category` refs."""

    tmf_type = "Catalog"
    url_name = CATALOG

    catalogType = serializers.CharField(
        source="catalog_type", max_length=60, required=False, allow_blank=True
    )
    lifecycleStatus = serializers.ChoiceField(
        source="lifecycle_status", choices=LifecycleStatus.choices, required=False
    )
    validFor = ValidForSerializer(required=False, write_only=True)
    lastUpdate = serializers.DateTimeField(source="last_update", read_only=True)
    category = RefSerializer(many=True, required=False, write_only=True)

    class Meta:
        model = Catalog
        fields = [
            "name",
            "description",
            "catalogType",
            "lifecycleStatus",
            "validFor",
            "lastUpdate",
            "category",
        ]
        extra_kwargs = {"name": {"validators": []}}

    def to_internal_value(self, data):
        attrs = _validity_input(super().to_internal_value(data))
        if "category" in attrs:
            attrs["category_ids"] = [r["id"] for r in attrs.pop("category")]
        return attrs

    def to_representation(self, instance):
        body = super().to_representation(instance)
        body["validFor"] = valid_for(instance.valid_from, instance.valid_to)
        body["category"] = [self.ref(c, CATEGORY, "Category") for c in instance.categories.all()]
        return body
