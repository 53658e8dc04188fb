"""Reads of the inventory, shaped for the APIs and for other apps."""

from django.db.models import (
    Case,
    F,
    IntegerField,
    OuterRef,
    Prefetch,
    QuerySet,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Coalesce

from catalog.choices import ResourceKind
from crm.models import Customer
from inventory.choices import AdministrativeState, BindingState, OperationalState
from inventory.models import ProductInstance, Resource, Service, ServiceResource


def _held_capacity() -> Coalesce:
    """Mbit/s held on the outer resource by bindings that are not released."""
    held = (
        ServiceResource.objects.filter(resource=OuterRef("pk"))
        .exclude(state=BindingState.RELEASED)
        .values("resource")
        .annotate(total=Sum("capacity_mbps"))
        .values("total")
    )
    return Coalesce(Subquery(held, output_field=IntegerField()), Value(0))


def gnb_candidates(*, bandwidth: int, customer: Customer | None = None) -> QuerySet[Resource]:
    """gNBs in service with `bandwidth` Mbit/s free, the customer's region first, then the freest.

    The customer's region is known when a region is named like the city of their address.
    """
    city = customer.party.city if customer is not None else ""
    is_local = (
        Case(
            When(site__region__name__iexact=city, then=Value(1)),
            default=Value(0),
            output_field=IntegerField(),
        )
        if city
        else Value(0, output_field=IntegerField())
    )
    return (
        Resource.objects.filter(
            resource_kind=ResourceKind.GNB,
            administrative_state=AdministrativeState.UNLOCKED,
            operational_state=OperationalState.ENABLE,
        )
        .annotate(free_mbps=F("capacity_mbps") - _held_capacity(), is_local=is_local)
        .filter(free_mbps__gte=bandwidth)
        .order_by("-is_local", "-free_mbps", "pk")
    )


def product_list() -> QuerySet[ProductInstance]:
    """Products with everything TMF637 shows, in a fixed number of queries."""
    return (
        ProductInstance.objects.select_related("customer", "billing_account", "product_offering")
        .prefetch_related("services", "product_offering__prices")
        .order_by("-pk")
    )


def service_list() -> QuerySet[Service]:
    """Services with their specification, customer and the resources they hold."""
    # In binding order (the gNB before the slice on it), so clients see a stable list.
    bindings = (
        ServiceResource.objects.exclude(state=BindingState.RELEASED)
        .select_related("resource")
        .order_by("pk")
    )
    return (
        Service.objects.select_related("service_specification", "product__customer")
        .prefetch_related(Prefetch("bindings", queryset=bindings, to_attr="held_bindings"))
        .order_by("-pk")
    )


def resource_list() -> QuerySet[Resource]:
    """Resources with their site, parent, specification and free capacity (`free_mbps`)."""
    return (
        Resource.objects.select_related("site", "parent", "resource_specification")
        .annotate(free_mbps=F("capacity_mbps") - _held_capacity())
        .order_by("pk")
    )
