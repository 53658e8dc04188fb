from django.contrib import admin, messages

from orders import services
from orders.models import (
    ActivationStep,
    ActivationStepStateChange,
    ProductOrder,
    ProductOrderItem,
    ProductOrderItemStateChange,
    ProductOrderStateChange,
    ServiceOrder,
    ServiceOrderItem,
    ServiceOrderItemStateChange,
    ServiceOrderStateChange,
)
from telco.admin import StateHistoryInline
from telco.exceptions import DomainError


class ProductOrderItemInline(admin.TabularInline):
    model = ProductOrderItem
    extra = 0
    raw_id_fields = ["product_offering", "product"]
    readonly_fields = ["state", "target_status", "relies_on", "failure_reason"]
    show_change_link = True


class ProductOrderHistoryInline(StateHistoryInline):
    model = ProductOrderStateChange


class ProductOrderItemHistoryInline(StateHistoryInline):
    model = ProductOrderItemStateChange


@admin.register(ProductOrderItem)
class ProductOrderItemAdmin(admin.ModelAdmin):
    list_display = ["__str__", "action", "product_offering", "product", "state"]
    list_filter = ["state", "action"]
    list_select_related = ["order", "product_offering", "product"]
    raw_id_fields = ["order", "product_offering", "product"]
    readonly_fields = ["state", "target_status", "relies_on", "failure_reason"]
    inlines = [ProductOrderItemHistoryInline]


@admin.register(ProductOrder)
class ProductOrderAdmin(admin.ModelAdmin):
    list_display = ["id", "customer", "billing_account", "state", "order_date", "completion_date"]
    list_filter = ["state", "channel"]
    list_select_related = ["customer", "billing_account"]
    search_fields = ["id", "customer__name", "external_id", "billing_account__account_number"]
    raw_id_fields = ["customer", "billing_account"]
    readonly_fields = ["state", "completion_date", "failure_reason"]
    date_hierarchy = "order_date"
    inlines = [ProductOrderItemInline, ProductOrderHistoryInline]


class ActivationStepInline(admin.TabularInline):
    model = ActivationStep
    extra = 0
    fields = [
        "sequence",
        "name",
        "operation",
        "resource",
        "state",
        "attempts",
        "last_error",
        "started_at",
        "deadline",
        "finished_at",
    ]
    readonly_fields = fields
    can_delete = False
    show_change_link = True


class ServiceOrderItemHistoryInline(StateHistoryInline):
    model = ServiceOrderItemStateChange


@admin.register(ServiceOrderItem)
class ServiceOrderItemAdmin(admin.ModelAdmin):
    list_display = ["__str__", "service_specification", "service", "state"]
    list_filter = ["state"]
    list_select_related = ["order", "service_specification", "service"]
    raw_id_fields = ["order", "service", "product_order_item", "service_specification"]
    readonly_fields = ["state"]
    inlines = [ActivationStepInline, ServiceOrderItemHistoryInline]


class ServiceOrderItemInline(admin.TabularInline):
    model = ServiceOrderItem
    extra = 0
    raw_id_fields = ["service", "product_order_item", "service_specification"]
    readonly_fields = ["state"]
    show_change_link = True


class ServiceOrderHistoryInline(StateHistoryInline):
    model = ServiceOrderStateChange


@admin.register(ServiceOrder)
class ServiceOrderAdmin(admin.ModelAdmin):
    list_display = ["id", "product_order", "state", "order_date", "completion_date", "last_update"]
    list_filter = ["state"]
    list_select_related = ["product_order"]
    search_fields = ["id", "external_id", "product_order__id"]
    raw_id_fields = ["product_order"]
    readonly_fields = ["state", "completion_date", "failure_reason"]
    inlines = [ServiceOrderItemInline, ServiceOrderHistoryInline]
    actions = ["resume", "retry", "fail"]

    @admin.action(description="Resume the activation of the selected orders")
    def resume(self, request, queryset):
        for order in queryset:
            services.service_order_resume(service_order_id=order.pk)
        messages.info(request, f"{queryset.count()} order(s) re-enqueued.")

    def _each(self, request, queryset, action, **arguments):
        done = 0
        for order in queryset:
            try:
                action(service_order_id=order.pk, by=request.user.get_username(), **arguments)
                done += 1
            except DomainError as error:
                messages.error(request, f"{order}: {error.message}")
        return done

    @admin.action(description="Retry the selected held or stalled orders")
    def retry(self, request, queryset):
        done = self._each(request, queryset, services.service_order_retry)
        messages.info(request, f"{done} order(s) retried.")

    @admin.action(description="Fail the selected held or stalled orders (compensate, release)")
    def fail(self, request, queryset):
        done = self._each(
            request, queryset, services.service_order_fail, reason="Failed from the admin site."
        )
        messages.info(request, f"{done} order(s) failed.")


class ActivationStepHistoryInline(StateHistoryInline):
    model = ActivationStepStateChange


@admin.register(ActivationStep)
class ActivationStepAdmin(admin.ModelAdmin):
    list_display = ["item", "sequence", "name", "state", "attempts", "started_at", "deadline"]
    list_filter = ["state", "operation"]
    list_select_related = ["item__order", "resource"]
    search_fields = ["idempotency_key", "name", "last_error"]
    raw_id_fields = ["item", "resource"]
    readonly_fields = ["state", "attempts"]
    inlines = [ActivationStepHistoryInline]
