"""Product orders (TMF622): acceptance, processing and decomposition into service orders."""

from datetime import datetime, timedelta
from decimal import Decimal

from django.db import transaction
from django.db.models import Model

from inventory import services as inventory_services
from inventory.choices import ProductStatus, ServiceState
from orders.choices import FINAL_ORDER_STATES, ItemAction, OrderState
from orders.models import ProductOrder, ProductOrderItem, ProductOrderStateChange
from orders.services import enterprise
from orders.services.common import WORKFLOW_ACTOR, enqueue_after_commit, item_move, order_move
from orders.services.service_orders import (
    service_order_add_item_create,
    service_order_change_item_create,
    service_order_create,
)
from orders.services.validation import (
    CHANGE,
    RESUME,
    SUSPEND,
    TERMINATE,
    CheckedItem,
    ItemRequest,
    PartyRequest,
    billing_account_for,
    bundled_offerings,
    characteristics_known_to,
    check_account_standing,
    check_add_item,
    check_change_item,
    check_feasible,
    check_fibre_feasible,
    check_relationships,
    customer_from_parties,
    monthly_recurring,
    needs_fibre,
    needs_gnb,
)
from telco import clock
from telco.exceptions import DomainError

# The service state each kind of change leads to.
TARGET_SERVICE_STATE = {
    SUSPEND: ServiceState.INACTIVE,
    RESUME: ServiceState.ACTIVE,
    CHANGE: ServiceState.ACTIVE,
    TERMINATE: ServiceState.TERMINATED,
}


# ---------------------------------------------------------------------------------------------
# Product orders (TMF622): acceptance and decomposition
# ---------------------------------------------------------------------------------------------


@transaction.atomic
def product_order_submit(
    *,
    items: list[ItemRequest],
    parties: list[PartyRequest],
    billing_account_id: str | None = None,
    description: str = "",
    external_id: str = "",
    by: str = "",
) -> ProductOrder:
    """Validate a product order and accept it (acknowledged); activation starts after commit.

    Items add a product, or modify (new plan, new characteristics, suspend, resume) or delete
    (terminate) one the customer holds; see `ItemRequest`. Every failing rule raises
    `DomainError` naming the field; nothing is written then.
    """
    if not items:
        raise DomainError("An order needs at least one item.", field="productOrderItem")
    customer = customer_from_parties(parties)
    seen_ids, seen_products = set(), set()
    checked: list[CheckedItem] = []
    for index, item in enumerate(items):
        prefix = f"productOrderItem[{index}]"
        if item.item_id in seen_ids:
            raise DomainError(f"Item id '{item.item_id}' is repeated.", field=f"{prefix}.id")
        seen_ids.add(item.item_id)
        if item.action == ItemAction.ADD:
            checked.append(check_add_item(item, customer, prefix))
        elif item.action in (ItemAction.MODIFY, ItemAction.DELETE):
            line = check_change_item(item, customer, prefix)
            if line.product.pk in seen_products:
                raise DomainError(
                    f"Product '{line.product.pk}' is changed by two items of this order.",
                    field=f"{prefix}.product.id",
                )
            seen_products.add(line.product.pk)
            checked.append(line)
        else:
            raise DomainError(
                "An item's action is add, modify or delete.", field=f"{prefix}.action"
            )
    check_relationships(items)
    account = billing_account_for(customer, billing_account_id)
    now = clock.now()
    sells = [
        line
        for line in checked
        if not line.change or line.offering != line.product.product_offering
    ]
    if sells:
        new_monthly = Decimal("0")
        for line in sells:
            # A change keeps the characteristics it does not name (the sites a fee counts).
            held = line.product.characteristics if line.product else {}
            wanted = {**held, **line.characteristics}
            for offering in [line.offering, *bundled_offerings(line.offering)]:
                new_monthly += monthly_recurring(offering, now, wanted)
            if line.product:
                new_monthly -= monthly_recurring(line.product.product_offering, now, held)
        check_account_standing(account, new_monthly)
    # The enterprise sites the order adds: held for it once it is accepted.
    sites_to_hold = []
    for index, line in enumerate(checked):
        if line.change == CHANGE:
            sites_to_hold += check_sites_of_change(line, prefix=f"productOrderItem[{index}]")
        if line.change:
            continue
        offerings = bundled_offerings(line.offering) if line.offering.is_bundle else []
        for offering in [line.offering, *offerings]:
            specs = offering.product_specification.service_specifications.prefetch_related(
                "resource_specifications", "supporting_specifications__resource_specifications"
            )
            if needs_gnb(specs):
                check_feasible(
                    characteristics=line.characteristics,
                    customer=customer,
                    prefix=f"productOrderItem[{index}].product.productCharacteristic",
                )
            if enterprise.needs_site_access(specs):
                sites_to_hold += enterprise.check_sites_feasible(
                    characteristics=line.characteristics,
                    prefix=f"productOrderItem[{index}]",
                    is_single_site=not enterprise.is_vpn(specs),
                )
            if needs_fibre(specs):
                check_fibre_feasible(
                    customer=customer, field_name=f"productOrderItem[{index}].productOffering.id"
                )

    with transaction.atomic():  # the order and its holds, or nothing
        order = ProductOrder.objects.create(
            customer=customer,
            billing_account=account,
            description=description,
            external_id=external_id,
            created_by=by,
            expected_completion_date=now + timedelta(minutes=15),
        )
        ProductOrderStateChange.objects.create(
            order=order, from_state="", to_state=OrderState.ACKNOWLEDGED, changed_by=by
        )
        ProductOrderItem.objects.bulk_create(
            ProductOrderItem(
                order=order,
                item_id=line.request.item_id,
                action=line.request.action,
                product_offering=line.offering,
                characteristics=line.characteristics,
                product=line.product,
                target_status=line.target_status,
                relies_on=list(line.request.relies_on),
            )
            for line in checked
        )
        if sites_to_hold:
            enterprise.capacity_hold(order.pk, sites_to_hold)
        enqueue_after_commit("process_product_order", order.pk)
    return order


def product_order_process(*, product_order_id: int) -> None:
    """Start an acknowledged order: decompose the items that rely on nothing, then run them.

    Safe to run twice: a started order only has its unfinished service orders re-enqueued.
    """
    with transaction.atomic():
        order = ProductOrder.objects.select_for_update().get(pk=product_order_id)
        if order.state == OrderState.ACKNOWLEDGED:
            order_move(order, OrderState.IN_PROGRESS)
            product_order_advance(order)
        for service_order_id in order.service_orders.exclude(
            state__in=FINAL_ORDER_STATES
        ).values_list("pk", flat=True):
            enqueue_after_commit("run_service_order", service_order_id)


def _change_kind(item: ProductOrderItem) -> str:
    if item.action == ItemAction.DELETE:
        return TERMINATE
    if item.target_status == ProductStatus.SUSPENDED:
        return SUSPEND
    if item.target_status == ProductStatus.ACTIVE:
        return RESUME
    return CHANGE


def product_order_advance(order: ProductOrder, *, at: datetime | None = None) -> list[int]:
    """Decompose each waiting item whose reliesOn items completed; fail those whose failed.

    Runs with the product order locked. New service orders are enqueued after commit; their
    ids are returned. Settles the order once every item is final.
    """
    items = list(
        order.items.select_related("product_offering__product_specification", "product").order_by(
            "pk"
        )
    )
    by_id = {item.item_id: item for item in items}
    started = []
    progress = True
    while progress:
        progress = False
        for item in items:
            if item.state not in (OrderState.ACKNOWLEDGED, OrderState.PENDING):
                continue
            needed = [by_id[other] for other in item.relies_on]
            blocked = [
                other
                for other in needed
                if other.state in FINAL_ORDER_STATES and other.state != OrderState.COMPLETED
            ]
            if blocked:
                why = f"Not run: it relies on item {blocked[0].item_id}, which did not complete."
                item_move(item, OrderState.FAILED, reason=why, failure_reason=why)
                progress = True
            elif all(other.state == OrderState.COMPLETED for other in needed):
                started.append(_product_order_item_decompose(order, item))
                progress = True
            elif item.state == OrderState.ACKNOWLEDGED:
                item_move(item, OrderState.PENDING)
    _product_order_settle(order.pk, at=at or clock.now())
    return [service_order_id for service_order_id in started if service_order_id]


def _product_order_settle(product_order_id: int, *, at, reason: str = "") -> None:
    """Once every item is final: completed, failed, or partial when some of each."""
    order = ProductOrder.objects.get(pk=product_order_id)
    if order.state != OrderState.IN_PROGRESS:
        return
    rows = list(order.items.order_by("pk").values_list("state", "failure_reason"))
    states = {state for state, _ in rows}
    if not states <= {OrderState.COMPLETED, OrderState.FAILED}:
        return
    if states == {OrderState.COMPLETED}:
        order_move(order, OrderState.COMPLETED, completion_date=at)
        return
    target = OrderState.FAILED if states == {OrderState.FAILED} else OrderState.PARTIAL
    failure = (
        order.failure_reason
        or reason
        or next((why for state, why in rows if state == OrderState.FAILED and why), "")
    )
    order_move(order, target, reason=failure, failure_reason=failure, completion_date=at)


def _product_order_item_decompose(order: ProductOrder, item: ProductOrderItem) -> int | None:
    """One service order for the item: add builds new services, other actions change the
    product's services. Returns the service order id (None: no network involved, done now)."""
    item_move(item, OrderState.IN_PROGRESS)
    description = f"{item.action} {item.product_offering.name} for {order.customer}"
    if item.action == ItemAction.ADD:
        service_order = service_order_create(product_order=order, description=description)
        number = 0
        parent = None
        offerings = [item.product_offering]
        if item.product_offering.is_bundle:
            # The bundle's own product, then one product per bundled offering beneath it.
            parent = _product_for_item(order, item, item.product_offering, item.characteristics)
            offerings = bundled_offerings(item.product_offering)
        for offering in offerings:
            characteristics = (
                characteristics_known_to(offering, item.characteristics)
                if parent
                else item.characteristics
            )
            product = _product_for_item(order, item, offering, characteristics, parent=parent)
            specifications = offering.product_specification.service_specifications
            for specification in specifications.order_by("pk"):
                number += 1
                service_order_add_item_create(
                    order=service_order,
                    item_id=str(number),
                    specification=specification,
                    characteristics=characteristics,
                    product=product,
                    product_order_item=item,
                )
        if number == 0:
            # Nothing in the network to build: the products are active at once.
            service_order.delete()
            root = parent or product
            now = clock.now()
            inventory_services.products_activate_pending(
                products=[*root.bundled_products.all(), root], by=WORKFLOW_ACTOR, at=now
            )
            item_move(item, OrderState.COMPLETED, product=root)
            return None
        return service_order.pk
    change = _change_kind(item)
    services = list(
        item.product.services.filter(parent__isnull=True)
        .exclude(state=ServiceState.TERMINATED)
        .select_related("service_specification")
        .order_by("pk")
    )
    if change == TERMINATE:
        inventory_services.product_mark_pending_terminate(
            product=item.product, by=WORKFLOW_ACTOR, reason=f"Product order {order.pk}"
        )
    if not services:
        # Nothing in the network to change: the product changes at once.
        product_change_apply(item, services=[], at=clock.now())
        return None
    service_order = service_order_create(product_order=order, description=description)
    for number, service in enumerate(services, start=1):
        service_order_change_item_create(
            order=service_order,
            item_id=str(number),
            service=service,
            action=ItemAction.DELETE if change == TERMINATE else ItemAction.MODIFY,
            target_state=TARGET_SERVICE_STATE[change],
            characteristics=item.characteristics,
            product_order_item=item,
        )
    return service_order.pk


def _product_for_item(order, item, offering, characteristics, *, parent=None) -> Model:
    product = inventory_services.product_create(
        customer=order.customer,
        billing_account=order.billing_account,
        product_offering=offering,
        characteristics=characteristics,
        product_order_id=str(order.pk),
        product_order_item_id=item.item_id,
        parent=parent,
        by=WORKFLOW_ACTOR,
    )
    inventory_services.product_mark_pending_active(product=product, by=WORKFLOW_ACTOR)
    return product


def check_sites_of_change(line: CheckedItem, *, prefix: str) -> list:
    """A modify of an enterprise product: the sites it adds can be served (it keeps the
    others); 400 naming the place otherwise. Returns the added sites' needs, to hold."""
    specs = line.offering.product_specification.service_specifications.prefetch_related(
        "supporting_specifications__resource_specifications"
    )
    if not enterprise.needs_site_access(specs):
        return []
    return enterprise.check_sites_feasible(
        characteristics=line.characteristics,
        prefix=prefix,
        is_single_site=not enterprise.is_vpn(specs),
        known=enterprise.sites_of(line.product.characteristics),
        is_live=line.product.status == ProductStatus.ACTIVE,
    )


def product_change_apply(item: ProductOrderItem, *, services: list[Model], at) -> None:
    """What a completed modify/delete item does to the product and its services (one
    transaction with the service order's completion)."""
    change = _change_kind(item)
    product = item.product
    reason = f"Product order {item.order_id} item {item.item_id}"
    if change == TERMINATE:
        if services:
            inventory_services.services_terminate(
                services=services, by=WORKFLOW_ACTOR, reason=reason, at=at
            )
        else:
            inventory_services.product_terminate(product=product, by=WORKFLOW_ACTOR, at=at)
    elif change in (SUSPEND, RESUME):
        if services:
            inventory_services.services_set_state(
                services=services,
                state=TARGET_SERVICE_STATE[change],
                by=WORKFLOW_ACTOR,
                reason=reason,
            )
        else:
            inventory_services.product_set_status(
                product=product, status=item.target_status, by=WORKFLOW_ACTOR, reason=reason
            )
    else:
        old_offering = product.product_offering
        what = ", ".join(
            f"{name} {product.characteristics.get(name, '-')} → {value}"
            for name, value in item.characteristics.items()
            if product.characteristics.get(name) != value
        )
        if old_offering.pk != item.product_offering_id:
            what = f"plan {old_offering.name} → {item.product_offering.name}" + (
                f"; {what}" if what else ""
            )
        for service in services:
            inventory_services.service_modify(
                service=service,
                characteristics=item.characteristics,
                by=WORKFLOW_ACTOR,
                reason=f"{reason}: {what}",
            )
        inventory_services.product_modify(
            product=product,
            characteristics=item.characteristics,
            product_offering=item.product_offering,
            by=WORKFLOW_ACTOR,
            reason=f"{reason}: {what}",
        )
    item_move(item, OrderState.COMPLETED)
