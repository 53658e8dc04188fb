from django.contrib import admin

from inventory.models import (
    Link,
    ProductInstance,
    ProductStatusChange,
    Region,
    Resource,
    Service,
    ServiceQualification,
    ServiceQualificationItem,
    ServiceResource,
    ServiceStateChange,
    Site,
)
from telco.admin import StateHistoryInline


@admin.register(Region)
class RegionAdmin(admin.ModelAdmin):
    search_fields = ["name"]


@admin.register(Site)
class SiteAdmin(admin.ModelAdmin):
    list_display = ["name", "region", "address"]
    list_filter = ["region"]
    list_select_related = ["region"]
    search_fields = ["name", "address"]


class ServiceResourceInline(admin.TabularInline):
    model = ServiceResource
    extra = 0
    raw_id_fields = ["service", "resource"]


@admin.register(Resource)
class ResourceAdmin(admin.ModelAdmin):
    list_display = [
        "name",
        "resource_kind",
        "category",
        "value",
        "site",
        "parent",
        "position",
        "capacity_mbps",
        "resource_status",
        "administrative_state",
        "operational_state",
        "usage_state",
    ]
    list_filter = [
        "resource_kind",
        "category",
        "resource_status",
        "administrative_state",
        "operational_state",
    ]
    list_select_related = ["site", "parent"]
    search_fields = ["name", "value", "serial_number", "vendor", "model"]
    raw_id_fields = ["parent", "site", "resource_specification"]
    inlines = [ServiceResourceInline]


@admin.register(Link)
class LinkAdmin(admin.ModelAdmin):
    list_display = [
        "name",
        "a_end",
        "z_end",
        "parent",
        "medium",
        "capacity_mbps",
        "operational_state",
    ]
    list_filter = ["medium", "operational_state"]
    list_select_related = ["a_end", "z_end", "parent"]
    search_fields = ["name", "a_end__name", "z_end__name", "parent__name"]
    raw_id_fields = ["a_end", "z_end", "a_device", "z_device", "parent", "site"]
    exclude = ["resource_specification"]


class ProductHistoryInline(StateHistoryInline):
    model = ProductStatusChange


@admin.register(ProductInstance)
class ProductInstanceAdmin(admin.ModelAdmin):
    list_display = ["id", "name", "customer", "billing_account", "status", "start_date"]
    list_filter = ["status", "product_offering"]
    list_select_related = ["customer", "billing_account"]
    search_fields = ["name", "customer__name", "billing_account__account_number"]
    raw_id_fields = ["customer", "billing_account", "product_offering"]
    # State changes go through the services (history, billing); the admin shows them.
    readonly_fields = ["status", "start_date", "termination_date"]
    inlines = [ProductHistoryInline]


class ServiceHistoryInline(StateHistoryInline):
    model = ServiceStateChange


@admin.register(Service)
class ServiceAdmin(admin.ModelAdmin):
    list_display = ["id", "name", "category", "service_specification", "product", "state"]
    list_filter = ["state", "category", "service_specification"]
    list_select_related = ["service_specification", "product"]
    search_fields = ["name", "product__customer__name"]
    raw_id_fields = ["product", "parent", "service_specification"]
    readonly_fields = ["state", "start_date", "end_date"]
    inlines = [ServiceResourceInline, ServiceHistoryInline]


@admin.register(ServiceResource)
class ServiceResourceAdmin(admin.ModelAdmin):
    list_display = ["service", "resource", "capacity_mbps", "is_exclusive", "state"]
    list_filter = ["state", "is_exclusive"]
    list_select_related = ["service", "resource"]
    search_fields = ["service__name", "resource__name"]
    raw_id_fields = ["service", "resource"]


class ServiceQualificationItemInline(admin.TabularInline):
    model = ServiceQualificationItem
    extra = 0
    fields = ["item_id", "service_specification", "places", "qualification_result", "reasons"]
    readonly_fields = fields


@admin.register(ServiceQualification)
class ServiceQualificationAdmin(admin.ModelAdmin):
    """TMF645 checks: what was asked, by whom, and the answer per site."""

    list_display = ["id", "check_date", "qualification_result", "requested_by", "external_id"]
    list_filter = ["qualification_result"]
    search_fields = ["external_id", "requested_by", "description"]
    inlines = [ServiceQualificationItemInline]
