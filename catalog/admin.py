from django.contrib import admin

from catalog.models import (
    Catalog,
    Category,
    CharacteristicSpecification,
    PriceTier,
    ProductOffering,
    ProductOfferingLifecycleChange,
    ProductOfferingPrice,
    ProductOfferingPriceLifecycleChange,
    ProductSpecification,
    ResourceSpecification,
    ServiceLevelAgreement,
    ServiceSpecification,
)
from telco.admin import StateHistoryInline


@admin.register(ResourceSpecification)
class ResourceSpecificationAdmin(admin.ModelAdmin):
    list_display = ("name", "resource_kind", "lifecycle_status", "last_update")
    list_filter = ("resource_kind", "lifecycle_status")
    search_fields = ("name",)


@admin.register(ServiceSpecification)
class ServiceSpecificationAdmin(admin.ModelAdmin):
    list_display = ("name", "category", "lifecycle_status", "last_update")
    list_filter = ("category", "lifecycle_status")
    search_fields = ("name",)
    filter_horizontal = ("resource_specifications", "supporting_specifications")


@admin.register(Category)
class CategoryAdmin(admin.ModelAdmin):
    list_display = ("name", "parent", "lifecycle_status", "valid_from", "valid_to")
    list_filter = ("lifecycle_status",)
    search_fields = ("name",)
    list_select_related = ("parent",)


@admin.register(Catalog)
class CatalogAdmin(admin.ModelAdmin):
    list_display = ("name", "catalog_type", "lifecycle_status", "valid_from", "valid_to")
    list_filter = ("lifecycle_status", "catalog_type")
    search_fields = ("name",)
    filter_horizontal = ("categories",)


class CharacteristicInline(admin.TabularInline):
    model = CharacteristicSpecification
    extra = 0


@admin.register(ProductSpecification)
class ProductSpecificationAdmin(admin.ModelAdmin):
    list_display = ("name", "brand", "version", "lifecycle_status", "last_update")
    list_filter = ("lifecycle_status", "brand")
    search_fields = ("name", "brand")
    filter_horizontal = ("service_specifications",)
    inlines = [CharacteristicInline]


@admin.register(CharacteristicSpecification)
class CharacteristicSpecificationAdmin(admin.ModelAdmin):
    list_display = (
        "name",
        "product_specification",
        "value_type",
        "min_value",
        "max_value",
        "is_required",
    )
    list_filter = ("value_type", "is_required")
    search_fields = ("name", "product_specification__name")
    list_select_related = ("product_specification",)


class PriceInline(admin.TabularInline):
    model = ProductOfferingPrice
    extra = 0
    readonly_fields = ("lifecycle_status",)


class PriceLifecycleChangeInline(StateHistoryInline):
    model = ProductOfferingPriceLifecycleChange


class LifecycleChangeInline(StateHistoryInline):
    model = ProductOfferingLifecycleChange


@admin.register(ProductOffering)
class ProductOfferingAdmin(admin.ModelAdmin):
    list_display = (
        "name",
        "product_specification",
        "lifecycle_status",
        "is_sellable",
        "is_bundle",
        "valid_from",
        "valid_to",
    )
    list_filter = ("lifecycle_status", "is_sellable", "is_bundle", "categories")
    filter_horizontal = ("categories", "bundled_offerings")
    search_fields = ("name", "product_specification__name")
    list_select_related = ("product_specification",)
    # The lifecycle moves through the transition table (API or service), not free editing.
    readonly_fields = ("lifecycle_status",)
    inlines = [PriceInline, LifecycleChangeInline]


class PriceTierInline(admin.TabularInline):
    model = PriceTier
    extra = 0


@admin.register(ProductOfferingPrice)
class ProductOfferingPriceAdmin(admin.ModelAdmin):
    list_display = (
        "name",
        "product_offering",
        "price_type",
        "lifecycle_status",
        "amount",
        "currency",
        "recurring_period",
        "rating_group",
        "included_allowance",
        "percentage",
        "applies_for_periods",
        "valid_from",
        "valid_to",
    )
    list_filter = ("price_type", "lifecycle_status", "currency", "recurring_period")
    search_fields = ("name", "product_offering__name", "rating_group")
    list_select_related = ("product_offering",)
    raw_id_fields = ("product_offering",)
    # The lifecycle moves through the transition table (API or service), not free editing.
    readonly_fields = ("lifecycle_status",)
    inlines = [PriceTierInline, PriceLifecycleChangeInline]


@admin.register(ProductOfferingLifecycleChange)
class ProductOfferingLifecycleChangeAdmin(admin.ModelAdmin):
    list_display = ("offering", "from_state", "to_state", "changed_at", "changed_by")
    list_filter = ("to_state",)
    search_fields = ("offering__name", "changed_by")
    list_select_related = ("offering",)
    raw_id_fields = ("offering",)


@admin.register(ServiceLevelAgreement)
class ServiceLevelAgreementAdmin(admin.ModelAdmin):
    """SLA terms: the form runs the model's checks (bands ordered, percents 0-100, targets in
    range), so terms that do not add up are refused with a message beside the field."""

    list_display = (
        "name",
        "offering",
        "availability_target",
        "max_outage_minutes",
        "latency_target_ms",
        "last_update",
    )
    search_fields = ("name", "offering__name")
    list_select_related = ("offering",)
    raw_id_fields = ("offering",)
