"""Service orders (TMF641): direct submission, and the items and steps of every service order."""

from operator import attrgetter

from django.db import transaction
from django.db.models import Model, prefetch_related_objects

from catalog import selectors as catalog_selectors
from inventory import selectors as inventory_selectors
from inventory import services as inventory_services
from inventory.choices import ServiceState
from orders.choices import ItemAction, OrderState
from orders.models import ActivationStep, ServiceOrder, ServiceOrderItem, ServiceOrderStateChange
from orders.services import enterprise
from orders.services.common import ACTIVATE, WORKFLOW_ACTOR, enqueue_after_commit
from orders.services.plans import Holders, PlannedStep, add_plan, change_plan, enterprise_plan
from orders.services.validation import (
    ItemRequest,
    check_can_adjust,
    check_feasible,
    check_fibre_feasible,
    check_no_order_in_progress,
    item_target,
    needs_fibre,
    needs_gnb,
)
from telco.exceptions import DomainError
from telco.selectors import row_with_id

# ---------------------------------------------------------------------------------------------
# Service orders (TMF641): items and their steps
# ---------------------------------------------------------------------------------------------


def service_order_create(*, product_order=None, description="", external_id="") -> ServiceOrder:
    order = ServiceOrder.objects.create(
        product_order=product_order, description=description, external_id=external_id
    )
    ServiceOrderStateChange.objects.create(
        order=order, from_state="", to_state=OrderState.ACKNOWLEDGED, changed_by=WORKFLOW_ACTOR
    )
    return order


def _bulk_steps(item: ServiceOrderItem, plan: list[PlannedStep]) -> None:
    ActivationStep.objects.bulk_create(
        ActivationStep(
            item=item,
            sequence=sequence,
            name=step.name[:60],
            operation=step.operation,
            resource_kind=step.resource_kind,
            resource=step.resource,
            service=step.service,
            idempotency_key=f"so{item.order_id}-i{item.pk}-s{sequence}-{step.operation}",
        )
        for sequence, step in enumerate(plan, start=1)
    )


def service_order_add_item_create(
    *, order, item_id, specification, characteristics, product=None, product_order_item=None
) -> ServiceOrderItem:
    """An add item: the customer-facing service, its resource-facing children when the
    catalog gives the specification supporting (RFS) specifications, and the steps of its
    technology's plan (`plans`)."""
    service = inventory_services.service_create(
        service_specification=specification,
        characteristics=characteristics,
        product=product,
        by=WORKFLOW_ACTOR,
    )
    item = ServiceOrderItem.objects.create(
        order=order,
        item_id=item_id,
        action=ItemAction.ADD,
        service_specification=specification,
        characteristics=characteristics,
        service=service,
        product_order_item=product_order_item,
        target_state=ServiceState.ACTIVE,
    )
    sites = enterprise.site_specification(specification)
    if sites is not None:
        # Enterprise access: one resource-facing service per site the order names.
        site_services = enterprise.site_services_create(
            service=service,
            specification=sites,
            sites=enterprise.sites_of(characteristics),
            characteristics=characteristics,
        )
        _bulk_steps(
            item, [*enterprise_plan(site_services), PlannedStep(ACTIVATE, "Activate service")]
        )
        return item
    # Read here unless the caller prefetched them (a submitted order did, to check it).
    prefetch_related_objects([specification], "supporting_specifications__resource_specifications")
    children = sorted(specification.supporting_specifications.all(), key=attrgetter("pk"))
    # Which service holds each kind of resource: the RFS whose specification names it.
    holders: Holders = {}
    if children:
        for child_specification in children:
            child = inventory_services.service_create(
                service_specification=child_specification,
                characteristics=characteristics,
                parent=service,
                by=WORKFLOW_ACTOR,
            )
            for resource_spec in child_specification.resource_specifications.all():
                holders.setdefault(resource_spec.resource_kind, child)
    else:
        for resource_spec in specification.resource_specifications.all():
            holders.setdefault(resource_spec.resource_kind, None)
    _bulk_steps(item, add_plan(holders))
    return item


def service_order_change_item_create(
    *,
    order,
    item_id,
    service: Model,
    action: str,
    target_state: str,
    characteristics: dict,
    product_order_item=None,
) -> ServiceOrderItem:
    """A modify/delete item on an existing service: one step per element it is configured on."""
    item = ServiceOrderItem.objects.create(
        order=order,
        item_id=item_id,
        action=action,
        service_specification=service.service_specification,
        characteristics=characteristics,
        service=service,
        product_order_item=product_order_item,
        target_state=target_state,
        previous_characteristics=service.characteristics,
    )
    added_sites = []
    if target_state == ServiceState.ACTIVE:
        added_sites = enterprise.added_site_services_create(
            service=service, characteristics=characteristics
        )
    plan = change_plan(
        service=service,
        bindings=inventory_services.held_bindings(service),
        target_state=target_state,
        characteristics=characteristics,
        added_sites=added_sites,
    )
    _bulk_steps(item, plan)
    return item


def _direct_service_for(item: ItemRequest, prefix: str) -> Model:
    field_name = f"{prefix}.service.id"
    service = item_target(
        inventory_selectors.services_with_specification(),
        item.service_id,
        noun="Service",
        action=item.action,
        field=field_name,
    )
    if service.product_id:
        raise DomainError(
            f"Service '{item.service_id}' realises product {service.product_id}: change it with "
            "a product order.",
            field=field_name,
        )
    if service.parent_id:
        raise DomainError(
            f"Service '{item.service_id}' is resource-facing: order its parent service.",
            field=field_name,
        )
    if service.state not in (ServiceState.ACTIVE, ServiceState.INACTIVE):
        raise DomainError(
            f"Service '{item.service_id}' is {service.state}: only an active or inactive "
            "service can be changed.",
            field=f"{prefix}.service.state",
        )
    check_no_order_in_progress(
        ServiceOrderItem.objects.filter(service=service),
        noun="Service",
        raw_id=item.service_id,
        field=field_name,
    )
    return service


def _check_direct_change(item: ItemRequest, prefix: str) -> tuple:
    """A TMF641 modify/delete of a service ordered directly: (service, target state, values)."""
    service = _direct_service_for(item, prefix)
    if item.action == ItemAction.DELETE:
        return service, ServiceState.TERMINATED, service.characteristics
    if item.service_state and item.service_state not in (
        ServiceState.ACTIVE,
        ServiceState.INACTIVE,
    ):
        raise DomainError(
            f"A service is modified to 'inactive' or 'active', not '{item.service_state}'.",
            field=f"{prefix}.service.state",
        )
    target = item.service_state or service.state
    values = {**service.characteristics, **item.characteristics}
    if target != service.state and item.characteristics:
        raise DomainError(
            "Change the state or the configuration in one item, not both.",
            field=f"{prefix}.service.state",
        )
    if target == service.state and values == service.characteristics:
        raise DomainError(
            f"Nothing to change: service {service.pk} is already {service.state} with this "
            "configuration.",
            field=f"{prefix}.service",
        )
    specification = service.service_specification
    if enterprise.needs_site_access([specification]) and enterprise.sites_of(
        values
    ) != enterprise.sites_of(service.characteristics):
        enterprise.check_sites_feasible(
            characteristics=values,
            prefix=prefix,
            is_single_site=not enterprise.is_vpn([specification]),
            known=enterprise.sites_of(service.characteristics),
            entity="service",
            is_live=target == ServiceState.ACTIVE,
        )
    if values.get("bandwidth") != service.characteristics.get("bandwidth"):
        check_can_adjust(
            [service],
            values.get("bandwidth"),
            f"{prefix}.service.serviceCharacteristic.bandwidth",
        )
    return service, target, values


@transaction.atomic
def service_order_submit(
    *, items: list[ItemRequest], description: str = "", external_id: str = ""
) -> ServiceOrder:
    """Accept a service order sent directly by another system; activation starts after commit.

    add names a service specification; modify (new characteristics, or state inactive/active)
    and delete name an existing service that was ordered directly (not one realising a product).
    """
    if not items:
        raise DomainError("An order needs at least one item.", field="serviceOrderItem")
    checked = []
    seen_ids = set()
    for index, item in enumerate(items):
        prefix = f"serviceOrderItem[{index}]"
        if item.item_id in seen_ids:
            raise DomainError(f"Item id '{item.item_id}' is repeated.", field=f"{prefix}.id")
        seen_ids.add(item.item_id)
        if item.action in (ItemAction.MODIFY, ItemAction.DELETE):
            checked.append((item, None, _check_direct_change(item, prefix)))
            continue
        if item.action != ItemAction.ADD:
            raise DomainError(
                "An item's action is add, modify or delete.", field=f"{prefix}.action"
            )
        if not item.target_id:
            raise DomainError(
                "An add item names the service specification.",
                field=f"{prefix}.service.serviceSpecification",
            )
        specification = row_with_id(
            catalog_selectors.service_specification_list().prefetch_related(
                "supporting_specifications__resource_specifications"
            ),
            item.target_id,
        )
        if specification is None:
            raise DomainError(
                f"Service specification '{item.target_id}' does not exist.",
                field=f"{prefix}.service.serviceSpecification.id",
            )
        if needs_gnb([specification]):
            check_feasible(
                characteristics=item.characteristics,
                customer=None,
                prefix=f"{prefix}.service.serviceCharacteristic",
            )
        if enterprise.needs_site_access([specification]):
            enterprise.check_sites_feasible(
                characteristics=item.characteristics,
                prefix=prefix,
                is_single_site=not enterprise.is_vpn([specification]),
                entity="service",
            )
        if needs_fibre([specification]):
            check_fibre_feasible(
                customer=None, field_name=f"{prefix}.service.serviceSpecification.id"
            )
        checked.append((item, specification, None))
    order = service_order_create(description=description, external_id=external_id)
    for item, specification, change in checked:
        if change is None:
            service_order_add_item_create(
                order=order,
                item_id=item.item_id,
                specification=specification,
                characteristics=item.characteristics,
            )
            continue
        service, target_state, values = change
        service_order_change_item_create(
            order=order,
            item_id=item.item_id,
            service=service,
            action=item.action,
            target_state=target_state,
            characteristics=values,
        )
    enqueue_after_commit("run_service_order", order.pk)
    return order
