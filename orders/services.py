"""Product and service orders: validation, decomposition and the activation workflow."""

import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from billing import selectors as billing_selectors
from catalog import selectors as catalog_selectors
from catalog import services as catalog_services
from catalog.choices import PriceType, RecurringPeriod, ResourceKind
from catalog.models import ProductOffering, ServiceSpecification
from crm import selectors as crm_selectors
from crm.models import BillingAccount, Customer, Party
from inventory import services as inventory_services
from inventory.choices import ProductStatus, ServiceState
from inventory.models import ProductInstance, Service
from orders.choices import (
    FINAL_ORDER_STATES,
    ORDER_TRANSITIONS,
    ItemAction,
    OrderState,
    StepState,
    TaskState,
)
from orders.models import (
    ActivationStep,
    CancelProductOrder,
    CancelServiceOrder,
    ProductOrder,
    ProductOrderItem,
    ProductOrderStateChange,
    ServiceOrder,
    ServiceOrderItem,
    ServiceOrderStateChange,
)
from orders.network import driver_for
from orders.network.base import NetworkError, PermanentNetworkError, TransientNetworkError
from telco.exceptions import Conflict, DomainError, NotFound
from telco.states import transition

# Who the workflow writes into history rows.
WORKFLOW_ACTOR = "activation-workflow"
# A step is tried once and retried five times before the order is held for the NOC.
ACTIVATION_MAX_ATTEMPTS = 6
# Service orders with no step progress for this long are picked up again by the watchdog.
STALL_AFTER = timedelta(minutes=5)
# What the steps do, in the order they run for each item.
RESERVE = "reserve"  # add: gNB capacity and a slice, bound to the service
ADJUST = "adjust"  # modify: hold the new bandwidth on the gNB instead of the old one
CONFIGURE = "configure"  # add: driver.activate on one element
MODIFY = "modify"  # modify, suspend, resume: driver.modify on one element
DEACTIVATE = "deactivate"  # delete: driver.deactivate on one element
VERIFY = "verify"  # ask each element what it holds
ACTIVATE = "activate"  # the last step: inventory, products and orders change in one transaction
ELEMENT_OPERATIONS = (CONFIGURE, MODIFY, DEACTIVATE)
NETWORK_KINDS = (ResourceKind.GNB, ResourceKind.SLICE)
# Product statuses each change needs (suspend only active, resume only suspended, ...).
SUSPEND, RESUME, CHANGE, TERMINATE = "suspend", "resume", "change", "terminate"
ALLOWED_PRODUCT_STATUS = {
    SUSPEND: {ProductStatus.ACTIVE},
    RESUME: {ProductStatus.SUSPENDED},
    CHANGE: {ProductStatus.ACTIVE},
    TERMINATE: {ProductStatus.ACTIVE, ProductStatus.SUSPENDED},
}
# The service state each kind of change leads to.
TARGET_SERVICE_STATE = {
    SUSPEND: ServiceState.INACTIVE,
    RESUME: ServiceState.ACTIVE,
    CHANGE: ServiceState.ACTIVE,
    TERMINATE: ServiceState.TERMINATED,
}
FINAL_STEP_NAMES = {
    ServiceState.ACTIVE: "Record the change",
    ServiceState.INACTIVE: "Suspend service",
    ServiceState.TERMINATED: "Terminate service",
}


@dataclass
class ItemRequest:
    """One requested order line, already parsed from the API body.

    TMF622 (`product_order_submit`):
    - add: `ItemRequest(item_id, "add", target_id=<offering id>, characteristics={...})`
    - modify, change of plan: `action="modify", product_id=<id>, target_id=<new offering id>`
      (characteristics optional: merged over the product's current ones)
    - modify, characteristics: `action="modify", product_id=<id>, characteristics={...}`
    - modify, suspend / resume: `action="modify", product_id=<id>, status="suspended"`
      / `"active"`
    - delete (terminate): `ItemRequest(item_id, "delete", product_id=<id>)`
    `relies_on` lists item ids of the same order that must complete first (reliesOn).

    TMF641 (`service_order_submit`): add names the service specification in `target_id`;
    modify and delete name the existing service in `service_id` (modify: new characteristics,
    or `service_state` inactive / active to suspend / resume it).
    """

    item_id: str
    action: str
    target_id: str = ""  # product offering id (TMF622) or service specification id (TMF641)
    characteristics: dict[str, str] = field(default_factory=dict)
    product_id: str = ""
    status: str = ""
    relies_on: list[str] = field(default_factory=list)
    service_id: str = ""
    service_state: str = ""


@dataclass
class PartyRequest:
    id: str
    referred_type: str = ""


@dataclass
class _CheckedItem:
    """A validated product order line, ready to be written."""

    request: ItemRequest
    offering: ProductOffering
    characteristics: dict[str, str]
    product: ProductInstance | None = None
    change: str = ""  # "" for add; change / suspend / resume / terminate
    target_status: str = ""


# ---------------------------------------------------------------------------------------------
# Product orders (TMF622): validation
# ---------------------------------------------------------------------------------------------


def _customer_from_parties(parties: list[PartyRequest]) -> Customer:
    """relatedParty Customer -> that customer; Individual/Organization -> the party's customer."""
    for index, party in enumerate(parties):
        field_name = f"relatedParty[{index}].id"
        if party.referred_type == "Customer":
            try:
                return crm_selectors.customer_get(customer_id=party.id)
            except NotFound as error:
                raise DomainError(error.message, field=field_name) from None
        if party.referred_type in ("Individual", "Organization"):
            if not party.id.isdigit() or not Party.objects.filter(pk=int(party.id)).exists():
                raise DomainError(f"Party '{party.id}' does not exist.", field=field_name)
            customer = (
                Customer.objects.select_related("party")
                .filter(party_id=int(party.id))
                .order_by("pk")
                .first()
            )
            if customer is None:
                raise DomainError(f"Party '{party.id}' is not a customer.", field=field_name)
            return customer
    raise DomainError(
        "Name the customer: a relatedParty with @referredType Customer, Individual or "
        "Organization.",
        field="relatedParty",
    )


def _billing_account_for(customer: Customer, account_id: str | None) -> BillingAccount:
    if account_id is None:
        accounts = list(BillingAccount.objects.filter(customer=customer).order_by("pk")[:2])
        if len(accounts) != 1:
            raise DomainError(
                "The customer has several billing accounts or none: name one.",
                field="billingAccount",
            )
        return accounts[0]
    try:
        account = crm_selectors.billing_account_get(account_id=account_id)
    except NotFound as error:
        raise DomainError(error.message, field="billingAccount.id") from None
    if account.customer_id != customer.pk:
        raise DomainError(
            f"Billing account '{account_id}' does not belong to customer {customer.pk}.",
            field="billingAccount.id",
        )
    return account


def _monthly_recurring(offering: ProductOffering, at: datetime) -> Decimal:
    """What the offering charges a month (yearly prices spread over 12 months)."""
    total = Decimal("0")
    for price in catalog_selectors.offering_prices_in_force(offering=offering, at=at):
        if price.price_type != PriceType.RECURRING:
            continue
        total += (
            price.amount / 12 if price.recurring_period == RecurringPeriod.YEAR else price.amount
        )
    return total


def _check_standing(account: BillingAccount, new_monthly: Decimal) -> None:
    """Selling more needs an account in good standing: active, nothing overdue, within credit."""
    field_name = "billingAccount.id"
    if account.state != "active":
        raise DomainError(
            f"Billing account {account.account_number} is {account.state}: it cannot order.",
            field=field_name,
        )
    row = billing_selectors.accounts_with_balance(
        BillingAccount.objects.filter(pk=account.pk)
    ).get()
    overdue = getattr(row, "overdue", Decimal("0")) or Decimal("0")
    if overdue > 0:
        raise DomainError(
            f"Billing account {account.account_number} has {overdue:.2f} {account.currency} "
            "overdue: it must be paid before ordering.",
            field=field_name,
        )
    if account.credit_limit > 0 and row.balance + new_monthly > account.credit_limit:
        raise DomainError(
            f"Credit limit exceeded: balance {row.balance:.2f} plus {new_monthly:.2f} a month "
            f"is over the limit of {account.credit_limit:.2f} {account.currency}.",
            field=field_name,
        )


def _needs_gnb(service_specifications) -> bool:
    return any(
        resource_spec.resource_kind == ResourceKind.GNB
        for spec in _realising_specifications(service_specifications)
        for resource_spec in spec.resource_specifications.all()
    )


def _realising_specifications(service_specifications) -> list[ServiceSpecification]:
    """The specifications that bind resources: each CFS's RFS children, or the CFS itself."""
    result = []
    for spec in service_specifications:
        children = list(spec.supporting_specifications.all())
        result.extend(children or [spec])
    return result


def _check_feasible(*, characteristics: dict, customer, prefix: str) -> None:
    """Is there a gNB able to carry the bandwidth? 400 naming the bandwidth when not."""
    field_name = f"{prefix}.bandwidth"
    try:
        bandwidth = inventory_services.bandwidth_mbps(characteristics.get("bandwidth"))
    except DomainError as error:
        raise DomainError(error.message, field=field_name) from None
    if not inventory_services.capacity_is_feasible(bandwidth=bandwidth, customer=customer):
        raise DomainError(
            f"Not feasible: no gNB has {bandwidth} Mbps of free capacity.", field=field_name
        )


def _offering_for(target_id: str, customer: Customer, field_name: str) -> ProductOffering:
    """A launched offering the customer's segment may buy; DomainError naming the field if not."""
    try:
        offering = catalog_selectors.offering_get(offering_id=target_id)
    except NotFound as error:
        raise DomainError(error.message, field=field_name) from None
    if not offering.is_orderable():
        raise DomainError(f"Product offering '{offering.name}' is not launched.", field=field_name)
    is_eligible = getattr(offering, "is_eligible_for", None)
    if is_eligible is not None and not is_eligible(customer.segment):
        raise DomainError(
            f"Product offering '{offering.name}' is not sold to {customer.segment} customers.",
            field=field_name,
        )
    return offering


def _validated_characteristics(offering: ProductOffering, values: dict, prefix: str) -> dict:
    try:
        return catalog_services.characteristics_validate(
            product_specification=offering.product_specification, values=values
        )
    except DomainError as error:
        raise DomainError(error.message, field=f"{prefix}.{error.field}") from None


def _check_add(item: ItemRequest, customer: Customer, prefix: str) -> _CheckedItem:
    if not item.target_id:
        raise DomainError("Name the product offering to add.", field=f"{prefix}.productOffering")
    offering = _offering_for(item.target_id, customer, f"{prefix}.productOffering.id")
    characteristics_prefix = f"{prefix}.product.productCharacteristic"
    if not offering.is_bundle:
        values = _validated_characteristics(offering, item.characteristics, characteristics_prefix)
        return _CheckedItem(request=item, offering=offering, characteristics=values)
    # A bundle: one product per bundled offering; each takes the characteristics it knows.
    values = {}
    known = set()
    for bundled in _bundled_offerings(offering):
        _offering_for(str(bundled.pk), customer, f"{prefix}.productOffering.id")
        names = set(bundled.product_specification.characteristics.values_list("name", flat=True))
        known |= names
        chosen = {k: v for k, v in item.characteristics.items() if k in names}
        values.update(_validated_characteristics(bundled, chosen, characteristics_prefix))
    for name in item.characteristics:
        if name not in known:
            raise DomainError(
                f"'{name}' is not a characteristic of any product of '{offering.name}'.",
                field=f"{characteristics_prefix}.{name}",
            )
    return _CheckedItem(request=item, offering=offering, characteristics=values)


def _bundled_offerings(offering: ProductOffering) -> list[ProductOffering]:
    return list(offering.bundled_offerings.select_related("product_specification").order_by("pk"))


def _characteristics_of(offering: ProductOffering, values: dict) -> dict:
    names = set(offering.product_specification.characteristics.values_list("name", flat=True))
    return {name: value for name, value in values.items() if name in names}


def _product_for(item: ItemRequest, customer: Customer, prefix: str) -> ProductInstance:
    field_name = f"{prefix}.product.id"
    if not item.product_id:
        raise DomainError(f"A '{item.action}' item names the product to change.", field=field_name)
    product = (
        ProductInstance.objects.select_related("product_offering__product_specification")
        .filter(pk=int(item.product_id))
        .first()
        if item.product_id.isdigit()
        else None
    )
    if product is None:
        raise DomainError(f"Product '{item.product_id}' does not exist.", field=field_name)
    if product.customer_id != customer.pk:
        raise DomainError(
            f"Product '{item.product_id}' does not belong to customer {customer.pk}.",
            field=field_name,
        )
    if product.product_offering.is_bundle:
        raise DomainError(
            f"Product '{item.product_id}' is a bundle: change the products bundled in it.",
            field=field_name,
        )
    open_items = ProductOrderItem.objects.filter(product=product).exclude(
        state__in=FINAL_ORDER_STATES
    )
    if open_items.exists():
        raise DomainError(
            f"Product '{item.product_id}' already has an order in progress.", field=field_name
        )
    return product


CHANGE_VERBS = {
    SUSPEND: "suspended",
    RESUME: "resumed",
    CHANGE: "modified",
    TERMINATE: "terminated",
}


def _check_status(product: ProductInstance, change: str, prefix: str) -> None:
    if product.status in ALLOWED_PRODUCT_STATUS[change]:
        return
    needed = " or ".join(sorted(ALLOWED_PRODUCT_STATUS[change]))
    raise DomainError(
        f"Product {product.pk} is {product.status}: only a product that is {needed} can be "
        f"{CHANGE_VERBS[change]}.",
        field=f"{prefix}.product.status",
    )


def _check_change(item: ItemRequest, customer: Customer, prefix: str) -> _CheckedItem:
    """modify (plan, characteristics, suspend, resume) or delete of an existing product."""
    product = _product_for(item, customer, prefix)
    current = product.product_offering
    if item.action == ItemAction.DELETE:
        _check_status(product, TERMINATE, prefix)
        return _CheckedItem(
            request=item,
            offering=current,
            characteristics=product.characteristics,
            product=product,
            change=TERMINATE,
            target_status=ProductStatus.TERMINATED,
        )
    wants_status = item.status and item.status != product.status
    changes_offering = bool(item.target_id) and item.target_id != str(current.pk)
    if item.status and item.status not in (
        ProductStatus.ACTIVE,
        ProductStatus.SUSPENDED,
    ):
        raise DomainError(
            f"A product is modified to 'suspended' or 'active', not '{item.status}'.",
            field=f"{prefix}.product.status",
        )
    if wants_status:
        if item.characteristics or changes_offering:
            raise DomainError(
                "Change the status or the configuration in one item, not both.",
                field=f"{prefix}.product.status",
            )
        change = SUSPEND if item.status == ProductStatus.SUSPENDED else RESUME
        _check_status(product, change, prefix)
        return _CheckedItem(
            request=item,
            offering=current,
            characteristics=product.characteristics,
            product=product,
            change=change,
            target_status=item.status,
        )
    if item.status and not item.characteristics and not changes_offering:
        raise DomainError(
            f"Product {product.pk} is already {product.status}.", field=f"{prefix}.product.status"
        )
    _check_status(product, CHANGE, prefix)
    offering = current
    if changes_offering:
        offering = _offering_for(item.target_id, customer, f"{prefix}.productOffering.id")
        old_specs = set(current.product_specification.service_specifications.values_list("pk"))
        new_specs = set(offering.product_specification.service_specifications.values_list("pk"))
        if old_specs != new_specs:
            raise DomainError(
                f"'{offering.name}' is delivered by other network services than "
                f"'{current.name}': terminate the product and order the new one.",
                field=f"{prefix}.productOffering.id",
            )
    names = set(offering.product_specification.characteristics.values_list("name", flat=True))
    kept = {name: value for name, value in product.characteristics.items() if name in names}
    values = _validated_characteristics(
        offering, {**kept, **item.characteristics}, f"{prefix}.product.productCharacteristic"
    )
    if values == product.characteristics and offering == current:
        raise DomainError(
            f"Nothing to change: product {product.pk} already has this configuration.",
            field=f"{prefix}.product",
        )
    if values.get("bandwidth") != product.characteristics.get("bandwidth"):
        bandwidth_field = f"{prefix}.product.productCharacteristic.bandwidth"
        bandwidth = inventory_services.bandwidth_mbps(values.get("bandwidth"))
        for service in product.services.filter(parent__isnull=True).exclude(
            state=ServiceState.TERMINATED
        ):
            if not inventory_services.capacity_can_adjust(service=service, bandwidth=bandwidth):
                raise DomainError(
                    f"Not feasible: the gNB of {service.name} has not {bandwidth} Mbps free.",
                    field=bandwidth_field,
                )
    return _CheckedItem(
        request=item,
        offering=offering,
        characteristics=values,
        product=product,
        change=CHANGE,
    )


def _check_relationships(items: list[ItemRequest]) -> None:
    """reliesOn names other items of the order, never itself, never in a cycle."""
    ids = {item.item_id for item in items}
    for index, item in enumerate(items):
        for position, other in enumerate(item.relies_on):
            field_name = f"productOrderItem[{index}].productOrderItemRelationship[{position}].id"
            if other == item.item_id:
                raise DomainError("An item cannot rely on itself.", field=field_name)
            if other not in ids:
                raise DomainError(f"No item '{other}' in this order.", field=field_name)
    graph = {item.item_id: list(item.relies_on) for item in items}
    done, visiting = set(), set()

    def visit(node: str) -> bool:
        if node in done:
            return False
        if node in visiting:
            return True
        visiting.add(node)
        cyclic = any(visit(other) for other in graph[node])
        visiting.discard(node)
        done.add(node)
        return cyclic

    for index, item in enumerate(items):
        if visit(item.item_id):
            raise DomainError(
                f"Item '{item.item_id}' is part of a cycle of reliesOn relationships.",
                field=f"productOrderItem[{index}].productOrderItemRelationship",
            )


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
    customer = _customer_from_parties(parties)
    seen_ids, seen_products = set(), set()
    checked: list[_CheckedItem] = []
    for index, item in enumerate(items):
        prefix = f"productOrderItem[{index}]"
        if item.item_id in seen_ids:
            raise DomainError(f"Item id '{item.item_id}' is repeated.", field=f"{prefix}.id")
        seen_ids.add(item.item_id)
        if item.action == ItemAction.ADD:
            checked.append(_check_add(item, customer, prefix))
        elif item.action in (ItemAction.MODIFY, ItemAction.DELETE):
            line = _check_change(item, customer, prefix)
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
    _check_relationships(items)
    account = _billing_account_for(customer, billing_account_id)
    now = timezone.now()
    sells = [
        line
        for line in checked
        if not line.change or line.offering != line.product.product_offering
    ]
    if sells:
        new_monthly = sum(
            (
                _monthly_recurring(line.offering, now)
                + sum(
                    (_monthly_recurring(b, now) for b in _bundled_offerings(line.offering)),
                    Decimal("0"),
                )
                - (_monthly_recurring(line.product.product_offering, now) if line.product else 0)
                for line in sells
            ),
            Decimal("0"),
        )
        _check_standing(account, new_monthly)
    for index, line in enumerate(checked):
        if line.change:
            continue
        offerings = _bundled_offerings(line.offering) if line.offering.is_bundle else []
        for offering in [line.offering, *offerings]:
            specs = offering.product_specification.service_specifications.prefetch_related(
                "resource_specifications", "supporting_specifications__resource_specifications"
            )
            if _needs_gnb(specs):
                _check_feasible(
                    characteristics=line.characteristics,
                    customer=customer,
                    prefix=f"productOrderItem[{index}].product.productCharacteristic",
                )

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
    _enqueue("process_product_order", order.pk)
    return order


def _enqueue(task_name: str, object_id: int) -> None:
    # Imported here: the tasks module imports this one.
    from orders import tasks

    task = getattr(tasks, task_name)
    transaction.on_commit(lambda: task.delay(object_id))


def _order_move(order, target: str, *, reason: str = "", by: str = WORKFLOW_ACTOR, **extra):
    is_product_order = isinstance(order, ProductOrder)
    return transition(
        order,
        target,
        transitions=ORDER_TRANSITIONS,
        history=ProductOrderStateChange if is_product_order else ServiceOrderStateChange,
        history_fk="order",
        by=by,
        reason=reason,
        extra_updates=extra,
    )


def product_order_process(*, product_order_id: int) -> None:
    """Start an acknowledged order: decompose the items that rely on nothing, then run them.

    Safe to run twice: a started order only has its unfinished service orders re-enqueued.
    """
    with transaction.atomic():
        order = ProductOrder.objects.select_for_update().get(pk=product_order_id)
        if order.state == OrderState.ACKNOWLEDGED:
            _order_move(order, OrderState.IN_PROGRESS)
            _product_order_advance(order)
        for service_order_id in order.service_orders.exclude(
            state__in=FINAL_ORDER_STATES
        ).values_list("pk", flat=True):
            _enqueue("run_service_order", service_order_id)


def _change_kind(item: ProductOrderItem) -> str:
    if item.action == ItemAction.DELETE:
        return TERMINATE
    if item.target_status == ProductStatus.SUSPENDED:
        return SUSPEND
    if item.target_status == ProductStatus.ACTIVE:
        return RESUME
    return CHANGE


def _product_order_advance(order: ProductOrder, *, at: datetime | None = None) -> list[int]:
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
                item.state = OrderState.FAILED
                item.failure_reason = (
                    f"Not run: it relies on item {blocked[0].item_id}, which did not complete."
                )
                item.save(update_fields=["state", "failure_reason"])
                progress = True
            elif all(other.state == OrderState.COMPLETED for other in needed):
                started.append(_product_order_item_decompose(order, item))
                progress = True
            elif item.state == OrderState.ACKNOWLEDGED:
                item.state = OrderState.PENDING
                item.save(update_fields=["state"])
    _product_order_settle(order.pk, at=at or timezone.now())
    return [service_order_id for service_order_id in started if service_order_id]


def _product_order_item_decompose(order: ProductOrder, item: ProductOrderItem) -> int | None:
    """One service order for the item: add builds new services, other actions change the
    product's services. Returns the service order id (None: no network involved, done now)."""
    item.state = OrderState.IN_PROGRESS
    item.save(update_fields=["state"])
    description = f"{item.action} {item.product_offering.name} for {order.customer}"
    if item.action == ItemAction.ADD:
        service_order = _service_order_create(product_order=order, description=description)
        number = 0
        parent = None
        offerings = [item.product_offering]
        if item.product_offering.is_bundle:
            # The bundle's own product, then one product per bundled offering beneath it.
            parent = _product_for_item(order, item, item.product_offering, item.characteristics)
            offerings = _bundled_offerings(item.product_offering)
        for offering in offerings:
            characteristics = (
                _characteristics_of(offering, item.characteristics)
                if parent
                else item.characteristics
            )
            product = _product_for_item(order, item, offering, characteristics, parent=parent)
            specifications = offering.product_specification.service_specifications
            for specification in specifications.order_by("pk"):
                number += 1
                _service_order_item_create(
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
            now = timezone.now()
            inventory_services.products_activate_pending(
                products=[*root.bundled_products.all(), root], by=WORKFLOW_ACTOR, at=now
            )
            ProductOrderItem.objects.filter(pk=item.pk).update(
                state=OrderState.COMPLETED, product=root
            )
            item.state = OrderState.COMPLETED
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
        _product_change_apply(item, services=[], at=timezone.now())
        return None
    service_order = _service_order_create(product_order=order, description=description)
    for number, service in enumerate(services, start=1):
        _service_order_change_item_create(
            order=service_order,
            item_id=str(number),
            service=service,
            action=ItemAction.DELETE if change == TERMINATE else ItemAction.MODIFY,
            target_state=TARGET_SERVICE_STATE[change],
            characteristics=item.characteristics,
            product_order_item=item,
        )
    return service_order.pk


def _product_for_item(order, item, offering, characteristics, *, parent=None) -> ProductInstance:
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


def _product_change_apply(item: ProductOrderItem, *, services: list[Service], at) -> None:
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
    ProductOrderItem.objects.filter(pk=item.pk).update(state=OrderState.COMPLETED)
    item.state = OrderState.COMPLETED


# ---------------------------------------------------------------------------------------------
# Service orders (TMF641): items and their steps
# ---------------------------------------------------------------------------------------------


def _service_order_create(*, product_order=None, description="", external_id="") -> ServiceOrder:
    order = ServiceOrder.objects.create(
        product_order=product_order, description=description, external_id=external_id
    )
    ServiceOrderStateChange.objects.create(
        order=order, from_state="", to_state=OrderState.ACKNOWLEDGED, changed_by=WORKFLOW_ACTOR
    )
    return order


def _bulk_steps(item: ServiceOrderItem, plan: list[tuple]) -> None:
    ActivationStep.objects.bulk_create(
        ActivationStep(
            item=item,
            sequence=sequence,
            name=name[:60],
            operation=operation,
            resource_kind=kind,
            resource=resource,
            service=service,
            idempotency_key=f"so{item.order_id}-i{item.pk}-s{sequence}-{operation}",
        )
        for sequence, (operation, kind, name, service, resource) in enumerate(plan, start=1)
    )


def _service_order_item_create(
    *, order, item_id, specification, characteristics, product=None, product_order_item=None
) -> ServiceOrderItem:
    """An add item: the customer-facing service, its resource-facing children when the
    catalog gives the specification supporting (RFS) specifications, and the steps."""
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
    children = list(
        specification.supporting_specifications.prefetch_related(
            "resource_specifications"
        ).order_by("pk")
    )
    # Which service holds each kind of resource: the RFS whose specification names it.
    holders: dict[str, Service | None] = {}
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
    plan = []
    if ResourceKind.GNB in holders:
        # A 5G service: gNB capacity and a slice on it, then both configured and verified.
        plan.append((RESERVE, "", "Design, reserve gNB capacity, allocate slice", None))
        plan.extend(
            (CONFIGURE, kind, f"Configure {kind}", holders.get(kind)) for kind in NETWORK_KINDS
        )
        plan.append((VERIFY, "", "Verify configuration", None))
    plan.append((ACTIVATE, "", "Activate service", None))
    _bulk_steps(item, [(*step, None) for step in plan])
    return item


def _service_order_change_item_create(
    *,
    order,
    item_id,
    service: Service,
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
    bindings = inventory_services.held_bindings(service)
    rfs = {b.service_id: (b.service if b.service_id != service.pk else None) for b in bindings}
    plan = []
    if target_state == ServiceState.TERMINATED:
        for binding in bindings:
            if binding.resource.resource_kind in NETWORK_KINDS:
                plan.append(
                    (
                        DEACTIVATE,
                        binding.resource.resource_kind,
                        f"Deactivate {binding.resource.name}",
                        rfs[binding.service_id],
                        binding.resource,
                    )
                )
    else:
        old = inventory_services.bandwidth_mbps(service.characteristics.get("bandwidth"))
        new = inventory_services.bandwidth_mbps(characteristics.get("bandwidth"))
        gnb = next((b for b in bindings if b.resource.resource_kind == ResourceKind.GNB), None)
        if gnb is not None and old != new:
            plan.append(
                (
                    ADJUST,
                    ResourceKind.GNB,
                    f"Adjust capacity on {gnb.resource.name} to {new} Mbps",
                    rfs[gnb.service_id],
                    gnb.resource,
                )
            )
        for binding in bindings:
            if binding.resource.resource_kind in NETWORK_KINDS:
                plan.append(
                    (
                        MODIFY,
                        binding.resource.resource_kind,
                        f"Modify {binding.resource.name}",
                        rfs[binding.service_id],
                        binding.resource,
                    )
                )
    if any(step[0] in ELEMENT_OPERATIONS for step in plan):
        plan.append((VERIFY, "", "Verify configuration", None, None))
    plan.append((ACTIVATE, "", FINAL_STEP_NAMES[target_state], None, None))
    _bulk_steps(item, plan)
    return item


def _direct_service_for(item: ItemRequest, prefix: str) -> Service:
    field_name = f"{prefix}.service.id"
    if not item.service_id:
        raise DomainError(f"A '{item.action}' item names the service to change.", field=field_name)
    service = (
        Service.objects.select_related("service_specification")
        .filter(pk=int(item.service_id))
        .first()
        if item.service_id.isdigit()
        else None
    )
    if service is None:
        raise DomainError(f"Service '{item.service_id}' does not exist.", field=field_name)
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
    open_items = ServiceOrderItem.objects.filter(service=service).exclude(
        state__in=FINAL_ORDER_STATES
    )
    if open_items.exists():
        raise DomainError(
            f"Service '{item.service_id}' already has an order in progress.", field=field_name
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
    if values.get("bandwidth") != service.characteristics.get("bandwidth"):
        bandwidth_field = f"{prefix}.service.serviceCharacteristic.bandwidth"
        try:
            bandwidth = inventory_services.bandwidth_mbps(values.get("bandwidth"))
        except DomainError as error:
            raise DomainError(error.message, field=bandwidth_field) from None
        if not inventory_services.capacity_can_adjust(service=service, bandwidth=bandwidth):
            raise DomainError(
                f"Not feasible: the gNB of {service.name} has not {bandwidth} Mbps free.",
                field=bandwidth_field,
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
        specification = (
            ServiceSpecification.objects.prefetch_related(
                "resource_specifications", "supporting_specifications__resource_specifications"
            )
            .filter(pk=int(item.target_id))
            .first()
            if item.target_id.isdigit()
            else None
        )
        if specification is None:
            raise DomainError(
                f"Service specification '{item.target_id}' does not exist.",
                field=f"{prefix}.service.serviceSpecification.id",
            )
        if _needs_gnb([specification]):
            _check_feasible(
                characteristics=item.characteristics,
                customer=None,
                prefix=f"{prefix}.service.serviceCharacteristic",
            )
        checked.append((item, specification, None))
    order = _service_order_create(description=description, external_id=external_id)
    for item, specification, change in checked:
        if change is None:
            _service_order_item_create(
                order=order,
                item_id=item.item_id,
                specification=specification,
                characteristics=item.characteristics,
            )
            continue
        service, target_state, values = change
        _service_order_change_item_create(
            order=order,
            item_id=item.item_id,
            service=service,
            action=item.action,
            target_state=target_state,
            characteristics=values,
        )
    _enqueue("run_service_order", order.pk)
    return order


# ---------------------------------------------------------------------------------------------
# The workflow: steps run in order, state kept on each step row
# ---------------------------------------------------------------------------------------------


def _touch(order: ServiceOrder) -> None:
    """Record progress, so the watchdog leaves the order alone."""
    ServiceOrder.objects.filter(pk=order.pk).update(last_update=timezone.now())


def _next_step(order: ServiceOrder) -> ActivationStep | None:
    # Every item is built before any is activated: activation is one transaction for the order.
    steps = ActivationStep.objects.filter(
        item__order=order, state__in=[StepState.PENDING, StepState.RUNNING]
    ).select_related("item__service__product__customer", "resource", "service")
    non_activation = steps.exclude(operation=ACTIVATE).order_by("item_id", "sequence").first()
    return non_activation or steps.order_by("item_id", "sequence").first()


def service_order_run(*, service_order_id: int) -> None:
    """Run the order's steps from where they stopped until it completes, fails or is held.

    A transient network error is recorded on the step and re-raised for the task to retry
    later; once the step has used its attempts the order is held for the NOC. A permanent
    error compensates what was done and fails the order.
    """
    with transaction.atomic():
        order = ServiceOrder.objects.select_for_update().get(pk=service_order_id)
        if order.state in FINAL_ORDER_STATES:
            return
        if order.state == OrderState.ACKNOWLEDGED:
            _order_move(order, OrderState.IN_PROGRESS, start_date=timezone.now())
            order.items.update(state=OrderState.IN_PROGRESS)
        if order.state != OrderState.IN_PROGRESS:
            return  # held for the NOC, or being cancelled: a late delivery changes nothing
    while (step := _next_step(order)) is not None:
        if step.operation == ACTIVATE:
            _service_order_complete(order)
            return
        if not _step_run(order, step):
            return


def _step_run(order: ServiceOrder, step: ActivationStep) -> bool:
    """Run one step; False when the order stopped (failed, held or cancelled)."""
    if not _step_start(order, step):
        return False
    _touch(order)
    step.refresh_from_db(fields=["attempts"])
    try:
        if step.operation == RESERVE:
            return _step_reserve(order, step)
        if step.operation == ADJUST:
            return _step_adjust(order, step)
        if step.operation in ELEMENT_OPERATIONS:
            _step_element(step)
        elif step.operation == VERIFY:
            _step_verify(step)
    except TransientNetworkError as error:
        if step.attempts < ACTIVATION_MAX_ATTEMPTS:
            ActivationStep.objects.filter(pk=step.pk).update(
                state=StepState.PENDING, last_error=str(error), deadline=None
            )
            raise
        _service_order_hold(order, step, f"{error} (gave up after {step.attempts} attempts)")
        return False
    except (PermanentNetworkError, DomainError) as error:
        _service_order_fail(order, step, str(error))
        return False
    ActivationStep.objects.filter(pk=step.pk).update(
        state=StepState.DONE, finished_at=timezone.now(), last_error="", deadline=None
    )
    _touch(order)
    return True


def _order_still_running(order: ServiceOrder) -> bool:
    """Lock the service order and say whether its workflow may go on (not cancelled meanwhile).

    Cancellation, hold and manual failure take the same lock, so a step either starts before
    they decide (and they see it) or not at all.
    """
    state = (
        ServiceOrder.objects.select_for_update()
        .filter(pk=order.pk)
        .values_list("state", flat=True)
        .get()
    )
    return state == OrderState.IN_PROGRESS


def _step_start(order: ServiceOrder, step: ActivationStep) -> bool:
    """Mark the step running with its deadline; False, step untouched, when the order stopped."""
    now = timezone.now()
    with transaction.atomic():
        if not _order_still_running(order):
            return False
        ActivationStep.objects.filter(pk=step.pk).update(
            state=StepState.RUNNING,
            attempts=F("attempts") + 1,
            started_at=now,
            deadline=now + timedelta(seconds=settings.ACTIVATION_STEP_TIMEOUT_SECONDS),
        )
    return True


def _step_service(step: ActivationStep) -> Service:
    """The service the step builds: its resource-facing service, else the item's service."""
    return step.service if step.service_id else step.item.service


def _step_reserve(order: ServiceOrder, step: ActivationStep) -> bool:
    """Reserve the capacity; False when the order was cancelled in the meantime."""
    service = step.item.service
    customer = service.product.customer if service.product_id else None
    bandwidth = inventory_services.bandwidth_mbps(step.item.characteristics.get("bandwidth"))
    configure_steps = step.item.steps.filter(operation=CONFIGURE).select_related("service")
    holders = {each.resource_kind: each.service for each in configure_steps}
    # The reservation and the step's completion commit together: a re-run never reserves twice.
    with transaction.atomic():
        if not _order_still_running(order):
            return False
        bindings = inventory_services.capacity_reserve(
            service=service,
            bandwidth=bandwidth,
            customer=customer,
            by=WORKFLOW_ACTOR,
            gnb_holder=holders.get(ResourceKind.GNB),
            slice_holder=holders.get(ResourceKind.SLICE),
        )
        for binding in bindings:
            ActivationStep.objects.filter(
                item=step.item,
                operation=CONFIGURE,
                resource_kind=binding.resource.resource_kind,
            ).update(resource=binding.resource, name=f"Configure {binding.resource.name}"[:60])
        ActivationStep.objects.filter(pk=step.pk).update(
            state=StepState.DONE, finished_at=timezone.now(), last_error="", deadline=None
        )
    return True


def _step_adjust(order: ServiceOrder, step: ActivationStep) -> bool:
    """Hold the new bandwidth on the gNB (row lock, free capacity counted again)."""
    bandwidth = inventory_services.bandwidth_mbps(step.item.characteristics.get("bandwidth"))
    with transaction.atomic():
        if not _order_still_running(order):
            return False
        inventory_services.capacity_adjust(service=step.item.service, bandwidth=bandwidth)
        ActivationStep.objects.filter(pk=step.pk).update(
            state=StepState.DONE, finished_at=timezone.now(), last_error="", deadline=None
        )
    return True


def _admin_state(service_state: str) -> str:
    return "locked" if service_state == ServiceState.INACTIVE else "unlocked"


def _payload(service: Service, characteristics: dict, service_state: str) -> dict:
    """What an element is told about a service: its configuration and whether traffic flows."""
    return {
        "service": service.name,
        **characteristics,
        "adminState": _admin_state(service_state),
    }


def _step_element(step: ActivationStep) -> None:
    """Apply the step to its element: activate (add), modify, or deactivate (delete)."""
    item = step.item
    service = _step_service(step)
    driver = driver_for(step.resource.resource_kind)
    arguments = {
        "element": step.resource.name,
        "idempotency_key": step.idempotency_key,
        "service_ref": str(service.pk),
    }
    if step.operation == DEACTIVATE:
        driver.deactivate(**arguments)
        return
    payload = _payload(item.service, item.characteristics, item.target_state or ServiceState.ACTIVE)
    if step.operation == CONFIGURE:
        driver.activate(**arguments, payload=payload)
    else:
        driver.modify(**arguments, payload=payload)


def _step_verify(step: ActivationStep) -> None:
    """Each element holds the configuration (or, after a delete, no longer does)."""
    wanted = step.item.target_state != ServiceState.TERMINATED
    applied = step.item.steps.filter(operation__in=ELEMENT_OPERATIONS).select_related(
        "resource", "service"
    )
    if step.service_id:
        applied = applied.filter(service=step.service)
    for applied_step in applied:
        resource = applied_step.resource
        service = _step_service(applied_step)
        answer = driver_for(resource.resource_kind).status(
            element=resource.name, service_ref=str(service.pk)
        )
        if answer["configured"] != wanted:
            raise PermanentNetworkError(
                f"{resource.name} does not hold the configuration."
                if wanted
                else f"{resource.name} still holds the configuration."
            )


def _services_of(item: ServiceOrderItem) -> list[Service]:
    """The item's service and its resource-facing children."""
    return [item.service, *item.service.children.all()]


def _service_order_complete(order: ServiceOrder) -> None:
    """Apply every item to the inventory, its products and order items, in one transaction:
    add activates, modify records the new configuration (or suspends / resumes), delete
    terminates. Then the product order moves on (items relying on these ones start)."""
    with transaction.atomic():
        if order.product_order_id:
            # Locked first, always in this order, so two service orders of it settle in turn.
            product_order = ProductOrder.objects.select_for_update().get(pk=order.product_order_id)
        order = ServiceOrder.objects.select_for_update().get(pk=order.pk)
        if order.state != OrderState.IN_PROGRESS:
            return
        items = list(
            order.items.select_related(
                "service__product",
                "product_order_item__product",
                "product_order_item__product_offering",
            ).prefetch_related("service__children")
        )
        at = timezone.now()
        added = [
            service
            for item in items
            if item.action == ItemAction.ADD
            for service in _services_of(item)
        ]
        if added:
            at = inventory_services.services_activate(services=added, by=WORKFLOW_ACTOR, at=at)
        product_items = {}
        for item in items:
            if item.action == ItemAction.ADD:
                continue
            if item.product_order_item is not None:
                product_items.setdefault(item.product_order_item_id, (item.product_order_item, []))[
                    1
                ].append(item.service)
            else:
                _direct_change_apply(item, at=at)
        for product_item, services in product_items.values():
            _product_change_apply(product_item, services=services, at=at)
        ActivationStep.objects.filter(item__order=order, operation=ACTIVATE).update(
            state=StepState.DONE, attempts=F("attempts") + 1, started_at=at, finished_at=at
        )
        order.items.update(state=OrderState.COMPLETED)
        _order_move(order, OrderState.COMPLETED, completion_date=at)
        for item in items:
            if item.action == ItemAction.ADD and item.product_order_item is not None:
                product = item.service.product
                root = product.parent if product.parent_id else product
                if product.parent_id:
                    # Bundled products without network services become active with the rest.
                    inventory_services.products_activate_pending(
                        products=[*root.bundled_products.all(), root], by=WORKFLOW_ACTOR, at=at
                    )
                ProductOrderItem.objects.filter(pk=item.product_order_item_id).update(
                    state=OrderState.COMPLETED, product=root
                )
        if order.product_order_id:
            for service_order_id in _product_order_advance(product_order, at=at):
                _enqueue("run_service_order", service_order_id)


def _direct_change_apply(item: ServiceOrderItem, *, at) -> None:
    """A completed TMF641 modify/delete of a service ordered directly."""
    reason = f"Service order {item.order_id} item {item.item_id}"
    if item.target_state == ServiceState.TERMINATED:
        inventory_services.services_terminate(
            services=[item.service], by=WORKFLOW_ACTOR, reason=reason, at=at
        )
        return
    if item.characteristics != item.previous_characteristics:
        inventory_services.service_modify(
            service=item.service,
            characteristics=item.characteristics,
            by=WORKFLOW_ACTOR,
            reason=reason,
        )
    if item.target_state != item.service.state:
        inventory_services.services_set_state(
            services=[item.service], state=item.target_state, by=WORKFLOW_ACTOR, reason=reason
        )


# ---------------------------------------------------------------------------------------------
# Fallout: compensation, hold, and the NOC's retry / fail
# ---------------------------------------------------------------------------------------------


def _undo_step(step: ActivationStep) -> str:
    """Undo one done step in the network or inventory; returns a note when that failed."""
    item = step.item
    if step.operation == ADJUST:
        old = inventory_services.bandwidth_mbps(item.previous_characteristics.get("bandwidth"))
        inventory_services.capacity_adjust(service=item.service, bandwidth=old, force=True)
        return ""
    service = _step_service(step)
    driver = driver_for(step.resource.resource_kind)
    arguments = {
        "element": step.resource.name,
        "idempotency_key": f"{step.idempotency_key}-undo",
        "service_ref": str(service.pk),
    }
    # The service's own state is unchanged until the order completes: it is the old state.
    previous = _payload(item.service, item.previous_characteristics, item.service.state)
    try:
        if step.operation == CONFIGURE:
            driver.deactivate(**arguments)
        elif step.operation == MODIFY:
            driver.modify(**arguments, payload=previous)
        else:
            driver.activate(**arguments, payload=previous)
    except NetworkError as undo_error:
        # The order fails anyway; the element keeps a stale config for the NOC to clean up.
        return f"compensation failed: {undo_error}"
    return ""


def _compensate(order: ServiceOrder) -> None:
    """Undo, newest first, every step of the order that changed the network or the capacity."""
    done = ActivationStep.objects.filter(
        item__order=order, operation__in=[*ELEMENT_OPERATIONS, ADJUST], state=StepState.DONE
    ).select_related("resource", "service", "item__service")
    for step in done.order_by("-item_id", "-sequence"):
        note = _undo_step(step)
        ActivationStep.objects.filter(pk=step.pk).update(
            state=StepState.COMPENSATED, last_error=note
        )


def _service_order_fail(
    order: ServiceOrder, failed_step: ActivationStep | None, error: str, *, by: str = WORKFLOW_ACTOR
) -> None:
    """Undo what was done (newest first), give back reservations, fail the orders."""
    if failed_step is not None:
        reason = f"Step {failed_step.sequence} '{failed_step.name}' failed: {error}"
        ActivationStep.objects.filter(pk=failed_step.pk).update(
            state=StepState.FAILED, last_error=error, finished_at=timezone.now(), deadline=None
        )
    else:
        reason = error
    _compensate(order)
    with transaction.atomic():
        product_order = None
        if order.product_order_id:
            product_order = ProductOrder.objects.select_for_update().get(pk=order.product_order_id)
        order = ServiceOrder.objects.select_for_update().get(pk=order.pk)
        if order.state in FINAL_ORDER_STATES:
            return
        items = _service_order_release(order, by=by, reason=reason)
        now = timezone.now()
        order.items.update(state=OrderState.FAILED)
        _order_move(
            order,
            OrderState.FAILED,
            by=by,
            reason=reason,
            failure_reason=reason,
            completion_date=now,
        )
        ProductOrderItem.objects.filter(
            pk__in=[item.product_order_item_id for item in items if item.product_order_item_id]
        ).update(state=OrderState.FAILED, failure_reason=reason)
        if product_order is not None:
            for service_order_id in _product_order_advance(product_order, at=now):
                _enqueue("run_service_order", service_order_id)


def _service_order_hold(order: ServiceOrder, step: ActivationStep, error: str) -> None:
    """Stop the workflow for the NOC: the step failed, the order is held with the reason."""
    reason = f"Step {step.sequence} '{step.name}' failed: {error}"
    with transaction.atomic():
        if not _order_still_running(order):
            return
        ActivationStep.objects.filter(pk=step.pk).update(
            state=StepState.FAILED, last_error=error, finished_at=timezone.now(), deadline=None
        )
        _order_move(order, OrderState.HELD, reason=reason, failure_reason=reason)


def _service_order_release(
    order: ServiceOrder, *, by: str, reason: str, product_status: str = ProductStatus.ABORTED
) -> list[ServiceOrderItem]:
    """Give back what the order's add items reserved (their products end aborted or
    cancelled); a product whose termination was under way goes back to where it was.

    Runs in the caller's transaction, with the service order locked. Returns the items.
    """
    items = list(
        order.items.select_related("service__product", "product_order_item").prefetch_related(
            "service__children"
        )
    )
    added = [item for item in items if item.action == ItemAction.ADD and item.service_id]
    inventory_services.services_release(
        services=[service for item in added for service in _services_of(item)],
        by=by,
        reason=reason,
        product_status=product_status,
    )
    for item in items:
        product = item.service.product if item.service_id else None
        if item.action == ItemAction.DELETE and product is not None:
            inventory_services.product_termination_abandon(
                product=product,
                status=ProductStatus.SUSPENDED
                if item.service.state == ServiceState.INACTIVE
                else ProductStatus.ACTIVE,
                by=by,
                reason=reason,
            )
    # A reservation running when the order is cancelled stops itself (`_step_reserve`).
    ActivationStep.objects.filter(
        item__order=order, operation=RESERVE, state__in=[StepState.DONE, StepState.RUNNING]
    ).update(state=StepState.COMPENSATED)
    return items


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
        _order_move(order, OrderState.COMPLETED, completion_date=at)
        return
    target = OrderState.FAILED if states == {OrderState.FAILED} else OrderState.PARTIAL
    failure = (
        order.failure_reason
        or reason
        or next((why for state, why in rows if state == OrderState.FAILED and why), "")
    )
    _order_move(order, target, reason=failure, failure_reason=failure, completion_date=at)


def _is_stalled(order: ServiceOrder, now) -> bool:
    """No progress for STALL_AFTER, or a running step past its deadline."""
    if order.last_update < now - STALL_AFTER:
        return True
    return ActivationStep.objects.filter(
        item__order=order, state=StepState.RUNNING, deadline__lt=now
    ).exists()


def _locked_for_noc(service_order_id: int, action: str) -> ServiceOrder:
    order = ServiceOrder.objects.select_for_update().filter(pk=service_order_id).first()
    if order is None:
        raise NotFound(f"Service order '{service_order_id}' does not exist.")
    if order.state == OrderState.HELD:
        return order
    if order.state == OrderState.IN_PROGRESS and _is_stalled(order, timezone.now()):
        return order
    raise Conflict(
        f"{order} is {order.state}: only a held or stalled order can be {action}.",
        field="state",
    )


@transaction.atomic
def service_order_retry(*, service_order_id: int, by: str) -> ServiceOrder:
    """NOC: run a held (or stalled) service order again from its failed step.

    The failed or stuck step goes back to pending with its attempts reset; the workflow is
    enqueued after commit. 404 for an unknown order, 409 (`Conflict`) in any other state.
    """
    order = _locked_for_noc(service_order_id, "retried")
    reason = f"Retried by {by}." if by else "Retried."
    if order.state == OrderState.HELD:
        _order_move(order, OrderState.IN_PROGRESS, by=by, reason=reason, failure_reason="")
    else:
        ServiceOrderStateChange.objects.create(
            order=order, from_state=order.state, to_state=order.state, changed_by=by, reason=reason
        )
        _touch(order)
    # The failed, stuck or retrying step starts again with a full budget of attempts.
    ActivationStep.objects.filter(item__order=order).filter(
        Q(state__in=[StepState.FAILED, StepState.RUNNING])
        | Q(state=StepState.PENDING, attempts__gt=0)
    ).update(state=StepState.PENDING, attempts=0, deadline=None, last_error="")
    _enqueue("run_service_order", order.pk)
    order.refresh_from_db()
    return order


def service_order_fail(*, service_order_id: int, by: str, reason: str) -> ServiceOrder:
    """NOC: give up on a held (or stalled) service order: undo what was done (newest first),
    release what it holds, fail it; its product order settles (failed or partial).

    404 for an unknown order, 409 (`Conflict`) in any other state.
    """
    with transaction.atomic():
        order = _locked_for_noc(service_order_id, "failed")
        if order.state == OrderState.IN_PROGRESS:
            # Held first, so a worker still on it stops before its next step.
            _order_move(order, OrderState.HELD, by=by, reason=reason)
        ActivationStep.objects.filter(item__order=order, state=StepState.RUNNING).update(
            state=StepState.FAILED, deadline=None, finished_at=timezone.now()
        )
    why = f"Failed by {by}: {reason}" if by else reason
    _service_order_fail(order, None, why, by=by)
    order.refresh_from_db()
    return order


def retry_countdown(*, retries: int) -> float:
    """Exponential backoff with jitter; the base is read now, so tests can keep it short."""
    base = settings.ACTIVATION_RETRY_BACKOFF_SECONDS
    # Jitter spreads the retries of many orders hit by the same flapping element.
    return min(base * 2**retries + random.uniform(0, base), 300.0)  # noqa: S311


def service_order_resume(*, service_order_id: int) -> None:
    """Enqueue an unfinished service order's workflow again; its steps resume where they were."""
    _enqueue("run_service_order", service_order_id)


def _timed_out_steps_handle(now) -> list[int]:
    """Running steps past their deadline count as a timed-out attempt: retried while attempts
    remain (the step goes back to pending), else their order is held. Returns the order ids
    to run again."""
    resumed = []
    timed_out = ActivationStep.objects.filter(
        state=StepState.RUNNING, deadline__lt=now, item__order__state=OrderState.IN_PROGRESS
    ).select_related("item__order")
    for step in timed_out:
        error = f"No answer before the step's deadline ({step.deadline:%H:%M:%S})."
        if step.attempts < ACTIVATION_MAX_ATTEMPTS:
            changed = ActivationStep.objects.filter(pk=step.pk, state=StepState.RUNNING).update(
                state=StepState.PENDING, last_error=error, deadline=None
            )
            if changed:
                resumed.append(step.item.order_id)
        else:
            _service_order_hold(
                step.item.order, step, f"{error} (gave up after {step.attempts} attempts)"
            )
    return resumed


def stalled_orders_resume(*, stalled_for: timedelta = STALL_AFTER) -> list[int]:
    """The watchdog: re-enqueue orders whose workflow stopped making progress or whose running
    step passed its deadline (a dead worker, a lost message); returns the service order ids."""
    now = timezone.now()
    cutoff = now - stalled_for
    timed_out = _timed_out_steps_handle(now)
    with transaction.atomic():
        for product_order_id in ProductOrder.objects.filter(
            state=OrderState.ACKNOWLEDGED, last_update__lt=cutoff
        ).values_list("pk", flat=True):
            _enqueue("process_product_order", product_order_id)
        stalled = set(
            ServiceOrder.objects.filter(
                state__in=[OrderState.ACKNOWLEDGED, OrderState.IN_PROGRESS],
                last_update__lt=cutoff,
                items__steps__state__in=[StepState.PENDING, StepState.RUNNING],
            ).values_list("pk", flat=True)
        )
        stalled = sorted(stalled | set(timed_out))
        # Counted as progress, so the next watchdog run does not enqueue them a second time.
        ServiceOrder.objects.filter(pk__in=stalled).update(last_update=now)
        for service_order_id in stalled:
            _enqueue("run_service_order", service_order_id)
    return stalled


# ---------------------------------------------------------------------------------------------
# Cancellation (TMF622 cancelProductOrder, TMF641 cancelServiceOrder)
# ---------------------------------------------------------------------------------------------


def _cancellation_refusal(order, steps) -> str:
    """Why `order` can no longer be cancelled, or "" when it can.

    The point of no return: the first call to the network that configures something. An order
    can be cancelled while its state allows assessingCancellation (acknowledged, inProgress,
    pending, held) and every configure, verify and activate step of its service orders is still
    pending and was never attempted. A reservation, done or running, does not count: capacity
    is only held in our inventory and is given back. A configure step that was tried once, even
    if it failed transiently or timed out, may have left a configuration on the element, so it
    counts.
    """
    if OrderState.ASSESSING_CANCELLATION not in ORDER_TRANSITIONS.get(order.state, ()):
        return f"{order} is {order.state}: it can no longer be cancelled."
    started = steps.exclude(operation=RESERVE).filter(
        ~Q(state=StepState.PENDING) | Q(attempts__gt=0)
    )
    if started.exists():
        return f"{order} has started configuring the network: it can no longer be cancelled."
    return ""


def _order_cancel_moves(order, *, by: str, reason: str, at) -> None:
    """acknowledged/inProgress/... -> assessingCancellation -> pendingCancellation -> cancelled."""
    _order_move(order, OrderState.ASSESSING_CANCELLATION, by=by, reason=reason)
    _order_move(order, OrderState.PENDING_CANCELLATION, by=by, reason=reason)
    _order_move(order, OrderState.CANCELLED, by=by, reason=reason, completion_date=at)
    order.items.update(state=OrderState.CANCELLED)


def _service_order_withdraw(order: ServiceOrder, *, by: str, reason: str, at) -> None:
    """Cancel a locked, cancellable service order and release what it reserved."""
    if order.state not in FINAL_ORDER_STATES:
        _order_cancel_moves(order, by=by, reason=reason, at=at)
    _service_order_release(order, by=by, reason=reason, product_status=ProductStatus.CANCELLED)


def _locked_order(model, order_id: str, *, field: str):
    """The order row, locked; an unknown or malformed id is a DomainError naming `field`."""
    order = (
        model.objects.select_for_update().filter(pk=int(order_id)).first()
        if str(order_id).isdigit()
        else None
    )
    if order is None:
        label = model._meta.verbose_name.capitalize()
        raise DomainError(f"{label} '{order_id}' does not exist.", field=field)
    return order


@transaction.atomic
def product_order_cancel(
    *,
    order_id: str,
    reason: str = "",
    requested_date: datetime | None = None,
    by: str = "",
) -> CancelProductOrder:
    """Cancel a product order if it has not passed the point of no return (see
    `_cancellation_refusal`): the order and its service orders go through assessingCancellation
    and pendingCancellation to cancelled, reservations are given back and the products end
    cancelled; the returned task is `done`.

    Past that point, or already final, nothing changes and the task is recorded
    `terminatedWithError` with the reason (TMF622: the task is a resource of its own).
    An unknown order raises `DomainError` naming `productOrder.id`.
    """
    order = _locked_order(ProductOrder, order_id, field="productOrder.id")
    # Locked in the same order as the workflow: product order first, then its service orders.
    service_orders = list(order.service_orders.select_for_update().order_by("pk"))
    task = CancelProductOrder(
        order=order,
        cancellation_reason=reason,
        requested_cancellation_date=requested_date,
        created_by=by,
    )
    refusal = _cancellation_refusal(
        order, ActivationStep.objects.filter(item__order__product_order=order)
    )
    if refusal:
        task.state = TaskState.TERMINATED_WITH_ERROR
        task.error_message = refusal
        task.save()
        return task
    now = timezone.now()
    why = reason or "Cancelled on request."
    for service_order in service_orders:
        _service_order_withdraw(service_order, by=by, reason=why, at=now)
    _order_cancel_moves(order, by=by, reason=why, at=now)
    task.state = TaskState.DONE
    task.effective_cancellation_date = now
    task.save()
    return task


@transaction.atomic
def service_order_cancel(
    *,
    order_id: str,
    reason: str = "",
    requested_date: datetime | None = None,
    by: str = "",
) -> CancelServiceOrder:
    """Cancel a service order sent directly to us, by the same rule as `product_order_cancel`.

    A service order decomposed from a product order is refused (`terminatedWithError`): it is
    cancelled with its product order, so that order never ends half cancelled.
    """
    order = _locked_order(ServiceOrder, order_id, field="serviceOrder.id")
    task = CancelServiceOrder(
        order=order,
        cancellation_reason=reason,
        requested_cancellation_date=requested_date,
        created_by=by,
    )
    refusal = _cancellation_refusal(order, ActivationStep.objects.filter(item__order=order))
    if not refusal and order.product_order_id:
        refusal = (
            f"{order} was decomposed from product order {order.product_order_id}: "
            "cancel the product order."
        )
    if refusal:
        task.state = TaskState.TERMINATED_WITH_ERROR
        task.error_message = refusal
        task.save()
        return task
    now = timezone.now()
    _service_order_withdraw(order, by=by, reason=reason or "Cancelled on request.", at=now)
    task.state = TaskState.DONE
    task.effective_cancellation_date = now
    task.save()
    return task
