"""Reads of orders, shaped for the APIs."""

from django.db.models import Prefetch, QuerySet

from orders.models import (
    CancelProductOrder,
    CancelServiceOrder,
    ProductOrder,
    ProductOrderItem,
    ServiceOrder,
    ServiceOrderItem,
)


def product_order_list() -> QuerySet[ProductOrder]:
    """Product orders with customer, account, items and service orders in fixed queries."""
    items = ProductOrderItem.objects.select_related("product_offering", "product").order_by("id")
    return (
        ProductOrder.objects.select_related("customer", "billing_account")
        .prefetch_related(
            Prefetch("items", queryset=items),
            Prefetch("service_orders", queryset=ServiceOrder.objects.order_by("id")),
        )
        .order_by("-pk")
    )


def service_order_list() -> QuerySet[ServiceOrder]:
    """Service orders with their items, services and originating product order."""
    items = ServiceOrderItem.objects.select_related("service", "service_specification").order_by(
        "id"
    )
    return (
        ServiceOrder.objects.select_related("product_order__customer")
        .prefetch_related(Prefetch("items", queryset=items))
        .order_by("-pk")
    )


def cancel_product_order_list() -> QuerySet[CancelProductOrder]:
    """Cancellation requests of product orders, newest first, with their order."""
    return CancelProductOrder.objects.select_related("order").order_by("-pk")


def cancel_service_order_list() -> QuerySet[CancelServiceOrder]:
    """Cancellation requests of service orders, newest first, with their order."""
    return CancelServiceOrder.objects.select_related("order").order_by("-pk")
