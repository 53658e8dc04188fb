"""Product and service orders: validation, decomposition and the activation workflow."""

import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from catalog import selectors as catalog_selectors
from catalog import services as catalog_services
from catalog.choices import ResourceKind
from catalog.models import ServiceSpecification
from crm import selectors as crm_selectors
from crm.models import BillingAccount, Customer, Party
from inventory import services as inventory_services
from inventory.choices import ProductStatus
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
from telco.exceptions import DomainError, NotFound
from telco.states import transition

# Who the workflow writes into history rows.
WORKFLOW_ACTOR = "activation-workflow"
# A step is tried once and retried five times before the order is compensated.
ACTIVATION_MAX_ATTEMPTS = 6
# Service orders with no step progress for this long are picked up again by the watchdog.
STALL_AFTER = timedelta(minutes=5)
# Steps that touch the network, in the order they run for each item.
RESERVE, CONFIGURE, VERIFY, ACTIVATE = "reserve", "configure", "verify", "activate"
NETWORK_KINDS = (ResourceKind.GNB, ResourceKind.SLICE)


@dataclass
class ItemRequest:
    """One requested order line, already parsed from the API body."""

    item_id: str
    action: str
    target_id: str  # product offering id (TMF622) or service specification id (TMF641)
    characteristics: dict[str, str] = field(default_factory=dict)


@dataclass
class PartyRequest:
    id: str
    referred_type: str = ""


# ---------------------------------------------------------------------------------------------
# Product orders (TMF622)
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


def _needs_gnb(service_specifications) -> bool:
    return any(
        resource_spec.resource_kind == ResourceKind.GNB
        for spec in service_specifications
        for resource_spec in spec.resource_specifications.all()
    )


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

    Every failing rule raises `DomainError` naming the field; nothing is written then.
    """
    if not items:
        raise DomainError("An order needs at least one item.", field="productOrderItem")
    customer = _customer_from_parties(parties)
    seen_ids = set()
    checked = []
    for index, item in enumerate(items):
        prefix = f"productOrderItem[{index}]"
        if item.item_id in seen_ids:
            raise DomainError(f"Item id '{item.item_id}' is repeated.", field=f"{prefix}.id")
        seen_ids.add(item.item_id)
        if item.action != ItemAction.ADD:
            raise DomainError("Only 'add' items can be ordered.", field=f"{prefix}.action")
        try:
            offering = catalog_selectors.offering_get(offering_id=item.target_id)
        except NotFound as error:
            raise DomainError(error.message, field=f"{prefix}.productOffering.id") from None
        if not offering.is_orderable():
            raise DomainError(
                f"Product offering '{offering.name}' is not launched.",
                field=f"{prefix}.productOffering.id",
            )
        characteristics_prefix = f"{prefix}.product.productCharacteristic"
        try:
            values = catalog_services.characteristics_validate(
                product_specification=offering.product_specification,
                values=item.characteristics,
            )
        except DomainError as error:
            raise DomainError(
                error.message, field=f"{characteristics_prefix}.{error.field}"
            ) from None
        checked.append((item, offering, values, characteristics_prefix))
    account = _billing_account_for(customer, billing_account_id)
    for _item, offering, values, characteristics_prefix in checked:
        specs = offering.product_specification.service_specifications.prefetch_related(
            "resource_specifications"
        )
        if _needs_gnb(specs):
            _check_feasible(
                characteristics=values, customer=customer, prefix=characteristics_prefix
            )

    order = ProductOrder.objects.create(
        customer=customer,
        billing_account=account,
        description=description,
        external_id=external_id,
        created_by=by,
        expected_completion_date=timezone.now() + timedelta(minutes=15),
    )
    ProductOrderStateChange.objects.create(
        order=order, from_state="", to_state=OrderState.ACKNOWLEDGED, changed_by=by
    )
    ProductOrderItem.objects.bulk_create(
        ProductOrderItem(
            order=order,
            item_id=item.item_id,
            action=item.action,
            product_offering=offering,
            characteristics=values,
        )
        for item, offering, values, _ in checked
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
    """Decompose an acknowledged order into products and service orders, then run them.

    Safe to run twice: a decomposed order only has its unfinished service orders re-enqueued.
    """
    with transaction.atomic():
        order = ProductOrder.objects.select_for_update().get(pk=product_order_id)
        if order.state == OrderState.ACKNOWLEDGED:
            _product_order_decompose(order)
            _order_move(order, OrderState.IN_PROGRESS)
        for service_order_id in order.service_orders.exclude(
            state__in=FINAL_ORDER_STATES
        ).values_list("pk", flat=True):
            _enqueue("run_service_order", service_order_id)


def _product_order_decompose(order: ProductOrder) -> None:
    items = order.items.select_related("product_offering__product_specification")
    for item in items:
        product = inventory_services.product_create(
            customer=order.customer,
            billing_account=order.billing_account,
            product_offering=item.product_offering,
            characteristics=item.characteristics,
            product_order_id=str(order.pk),
            product_order_item_id=item.item_id,
            by=WORKFLOW_ACTOR,
        )
        inventory_services.product_mark_pending_active(product=product, by=WORKFLOW_ACTOR)
        service_order = _service_order_create(
            product_order=order, description=f"{item.product_offering.name} for {order.customer}"
        )
        specifications = item.product_offering.product_specification.service_specifications
        for number, specification in enumerate(specifications.order_by("pk"), start=1):
            _service_order_item_create(
                order=service_order,
                item_id=str(number),
                specification=specification,
                characteristics=item.characteristics,
                product=product,
                product_order_item=item,
            )
        item.state = OrderState.IN_PROGRESS
        item.save(update_fields=["state"])


# ---------------------------------------------------------------------------------------------
# Service orders (TMF641)
# ---------------------------------------------------------------------------------------------


def _service_order_create(*, product_order=None, description="", external_id="") -> ServiceOrder:
    order = ServiceOrder.objects.create(
        product_order=product_order, description=description, external_id=external_id
    )
    ServiceOrderStateChange.objects.create(
        order=order, from_state="", to_state=OrderState.ACKNOWLEDGED, changed_by=WORKFLOW_ACTOR
    )
    return order


def _step_plan(specification: ServiceSpecification) -> list[tuple[str, str, str]]:
    """(operation, resource kind, name) of each step, from the spec's resource specifications."""
    kinds = {spec.resource_kind for spec in specification.resource_specifications.all()}
    plan = []
    if ResourceKind.GNB in kinds:
        # A 5G service: gNB capacity and a slice on it, then both configured and verified.
        plan.append((RESERVE, "", "Design, reserve gNB capacity, allocate slice"))
        plan.extend((CONFIGURE, kind, f"Configure {kind}") for kind in NETWORK_KINDS)
        plan.append((VERIFY, "", "Verify configuration"))
    plan.append((ACTIVATE, "", "Activate service"))
    return plan


def _service_order_item_create(
    *, order, item_id, specification, characteristics, product=None, product_order_item=None
) -> ServiceOrderItem:
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
    )
    ActivationStep.objects.bulk_create(
        ActivationStep(
            item=item,
            sequence=sequence,
            name=name,
            operation=operation,
            resource_kind=kind,
            idempotency_key=f"so{order.pk}-i{item.pk}-s{sequence}-{operation}",
        )
        for sequence, (operation, kind, name) in enumerate(_step_plan(specification), start=1)
    )
    return item


@transaction.atomic
def service_order_submit(
    *, items: list[ItemRequest], description: str = "", external_id: str = ""
) -> ServiceOrder:
    """Accept a service order sent directly by another system; activation starts after commit."""
    if not items:
        raise DomainError("An order needs at least one item.", field="serviceOrderItem")
    checked = []
    for index, item in enumerate(items):
        prefix = f"serviceOrderItem[{index}]"
        if item.action != ItemAction.ADD:
            raise DomainError("Only 'add' items can be ordered.", field=f"{prefix}.action")
        specification = (
            ServiceSpecification.objects.prefetch_related("resource_specifications")
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
        checked.append((item, specification))
    order = _service_order_create(description=description, external_id=external_id)
    for item, specification in checked:
        _service_order_item_create(
            order=order,
            item_id=item.item_id,
            specification=specification,
            characteristics=item.characteristics,
        )
    _enqueue("run_service_order", order.pk)
    return order


def _touch(order: ServiceOrder) -> None:
    """Record progress, so the watchdog leaves the order alone."""
    ServiceOrder.objects.filter(pk=order.pk).update(last_update=timezone.now())


def _next_step(order: ServiceOrder) -> ActivationStep | None:
    # Every item is built before any is activated: activation is one transaction for the order.
    steps = ActivationStep.objects.filter(
        item__order=order, state__in=[StepState.PENDING, StepState.RUNNING]
    ).select_related("item__service__product__customer", "resource")
    non_activation = steps.exclude(operation=ACTIVATE).order_by("item_id", "sequence").first()
    return non_activation or steps.order_by("item_id", "sequence").first()


def service_order_run(*, service_order_id: int) -> None:
    """Run the order's steps from where they stopped until it completes or fails.

    A transient network error is recorded on the step and re-raised for the task to retry
    later; once the step has used its attempts the order is compensated instead.
    """
    with transaction.atomic():
        order = ServiceOrder.objects.select_for_update().get(pk=service_order_id)
        if order.state in FINAL_ORDER_STATES:
            return
        if order.state == OrderState.ACKNOWLEDGED:
            _order_move(order, OrderState.IN_PROGRESS, start_date=timezone.now())
            order.items.update(state=OrderState.IN_PROGRESS)
    while (step := _next_step(order)) is not None:
        if step.operation == ACTIVATE:
            _service_order_complete(order)
            return
        if not _step_run(order, step):
            return


def _step_run(order: ServiceOrder, step: ActivationStep) -> bool:
    """Run one step; False when the order has failed (and been compensated) or was cancelled."""
    if not _step_start(order, step):
        return False
    _touch(order)
    step.refresh_from_db(fields=["attempts"])
    try:
        if step.operation == RESERVE:
            return _step_reserve(order, step)
        if step.operation == CONFIGURE:
            _step_configure(step)
        elif step.operation == VERIFY:
            _step_verify(step)
    except TransientNetworkError as error:
        if step.attempts < ACTIVATION_MAX_ATTEMPTS:
            ActivationStep.objects.filter(pk=step.pk).update(
                state=StepState.PENDING, last_error=str(error)
            )
            raise
        _service_order_fail(order, step, f"{error} (gave up after {step.attempts} attempts)")
        return False
    except (PermanentNetworkError, DomainError) as error:
        _service_order_fail(order, step, str(error))
        return False
    ActivationStep.objects.filter(pk=step.pk).update(
        state=StepState.DONE, finished_at=timezone.now(), last_error=""
    )
    _touch(order)
    return True


def _order_still_running(order: ServiceOrder) -> bool:
    """Lock the service order and say whether its workflow may go on (not cancelled meanwhile).

    Cancellation takes the same lock, so a step either starts before a cancellation decides
    (and the cancellation sees it) or not at all.
    """
    state = (
        ServiceOrder.objects.select_for_update()
        .filter(pk=order.pk)
        .values_list("state", flat=True)
        .get()
    )
    return state == OrderState.IN_PROGRESS


def _step_start(order: ServiceOrder, step: ActivationStep) -> bool:
    """Mark the step running; False, and the step untouched, when the order was cancelled."""
    with transaction.atomic():
        if not _order_still_running(order):
            return False
        ActivationStep.objects.filter(pk=step.pk).update(
            state=StepState.RUNNING, attempts=F("attempts") + 1, started_at=timezone.now()
        )
    return True


def _step_reserve(order: ServiceOrder, step: ActivationStep) -> bool:
    """Reserve the item's capacity; False when the order was cancelled in the meantime."""
    service = step.item.service
    customer = service.product.customer if service.product_id else None
    bandwidth = inventory_services.bandwidth_mbps(step.item.characteristics.get("bandwidth"))
    # The reservation and the step's completion commit together: a re-run never reserves twice.
    with transaction.atomic():
        if not _order_still_running(order):
            return False
        bindings = inventory_services.capacity_reserve(
            service=service, bandwidth=bandwidth, customer=customer, by=WORKFLOW_ACTOR
        )
        for binding in bindings:
            ActivationStep.objects.filter(
                item=step.item, operation=CONFIGURE, resource_kind=binding.resource.resource_kind
            ).update(resource=binding.resource, name=f"Configure {binding.resource.name}")
        ActivationStep.objects.filter(pk=step.pk).update(
            state=StepState.DONE, finished_at=timezone.now(), last_error=""
        )
    return True


def _step_configure(step: ActivationStep) -> None:
    service = step.item.service
    driver_for(step.resource.resource_kind).activate(
        element=step.resource.name,
        idempotency_key=step.idempotency_key,
        service_ref=str(service.pk),
        payload={"service": service.name, **step.item.characteristics},
    )


def _step_verify(step: ActivationStep) -> None:
    service_ref = str(step.item.service_id)
    configured = step.item.steps.filter(operation=CONFIGURE).select_related("resource")
    for configure_step in configured:
        resource = configure_step.resource
        answer = driver_for(resource.resource_kind).status(
            element=resource.name, service_ref=service_ref
        )
        if not answer["configured"]:
            raise PermanentNetworkError(f"{resource.name} does not hold the configuration.")


def _service_order_complete(order: ServiceOrder) -> None:
    """Activate every service of the order, its products and order items, in one transaction."""
    with transaction.atomic():
        if order.product_order_id:
            # Locked first, always in this order, so two service orders of it settle in turn.
            ProductOrder.objects.select_for_update().get(pk=order.product_order_id)
        order = ServiceOrder.objects.select_for_update().get(pk=order.pk)
        if order.state in FINAL_ORDER_STATES:
            return
        items = list(order.items.select_related("service__product", "product_order_item"))
        at = inventory_services.services_activate(
            services=[item.service for item in items], by=WORKFLOW_ACTOR
        )
        ActivationStep.objects.filter(item__order=order, operation=ACTIVATE).update(
            state=StepState.DONE, attempts=F("attempts") + 1, started_at=at, finished_at=at
        )
        order.items.update(state=OrderState.COMPLETED)
        _order_move(order, OrderState.COMPLETED, completion_date=at)
        for item in items:
            if item.product_order_item is not None:
                ProductOrderItem.objects.filter(pk=item.product_order_item_id).update(
                    state=OrderState.COMPLETED, product=item.service.product
                )
        if order.product_order_id:
            _product_order_settle(order.product_order_id, at=at)


def _service_order_fail(order: ServiceOrder, failed_step: ActivationStep, error: str) -> None:
    """Undo what was configured (newest first), give back reservations, fail the orders."""
    reason = f"Step {failed_step.sequence} '{failed_step.name}' failed: {error}"
    ActivationStep.objects.filter(pk=failed_step.pk).update(
        state=StepState.FAILED, last_error=error, finished_at=timezone.now()
    )
    done = ActivationStep.objects.filter(
        item__order=order, operation=CONFIGURE, state=StepState.DONE
    ).select_related("resource", "item")
    for step in done.order_by("-item_id", "-sequence"):
        try:
            driver_for(step.resource.resource_kind).deactivate(
                element=step.resource.name,
                idempotency_key=f"{step.idempotency_key}-undo",
                service_ref=str(step.item.service_id),
            )
            note = ""
        except NetworkError as undo_error:
            # The reservation is released anyway; the element keeps a stale config to clean up.
            note = f"compensation failed: {undo_error}"
        ActivationStep.objects.filter(pk=step.pk).update(
            state=StepState.COMPENSATED, last_error=note
        )
    with transaction.atomic():
        if order.product_order_id:
            ProductOrder.objects.select_for_update().get(pk=order.product_order_id)
        order = ServiceOrder.objects.select_for_update().get(pk=order.pk)
        if order.state in FINAL_ORDER_STATES:
            return
        items = _service_order_release(order, by=WORKFLOW_ACTOR, reason=reason)
        now = timezone.now()
        order.items.update(state=OrderState.FAILED)
        _order_move(
            order, OrderState.FAILED, reason=reason, failure_reason=reason, completion_date=now
        )
        ProductOrderItem.objects.filter(
            pk__in=[item.product_order_item_id for item in items if item.product_order_item_id]
        ).update(state=OrderState.FAILED)
        if order.product_order_id:
            _product_order_settle(order.product_order_id, at=now, reason=reason)


def _service_order_release(
    order: ServiceOrder, *, by: str, reason: str, product_status: str = ProductStatus.ABORTED
) -> list[ServiceOrderItem]:
    """Give back what the order's items reserved; their products end aborted or cancelled.

    Runs in the caller's transaction, with the service order locked. Returns the items.
    """
    items = list(order.items.select_related("service__product"))
    inventory_services.services_release(
        services=[item.service for item in items if item.service_id],
        by=by,
        reason=reason,
        product_status=product_status,
    )
    # A reservation running when the order is cancelled stops itself (`_step_reserve`).
    ActivationStep.objects.filter(
        item__order=order, operation=RESERVE, state__in=[StepState.DONE, StepState.RUNNING]
    ).update(state=StepState.COMPENSATED)
    return items


def _product_order_settle(product_order_id: int, *, at, reason: str = "") -> None:
    """Once every item is final: completed, failed, or partial when some of each."""
    order = ProductOrder.objects.get(pk=product_order_id)
    states = set(order.items.values_list("state", flat=True))
    if not states <= {OrderState.COMPLETED, OrderState.FAILED}:
        return
    if states == {OrderState.COMPLETED}:
        _order_move(order, OrderState.COMPLETED, completion_date=at)
        return
    target = OrderState.FAILED if states == {OrderState.FAILED} else OrderState.PARTIAL
    failure = order.failure_reason or reason
    _order_move(order, target, reason=failure, failure_reason=failure, completion_date=at)


def retry_countdown(*, retries: int) -> float:
    """Exponential backoff with jitter; the base is read now, so tests can keep it short."""
    base = settings.ACTIVATION_RETRY_BACKOFF_SECONDS
    # Jitter spreads the retries of many orders hit by the same flapping element.
    return min(base * 2**retries + random.uniform(0, base), 300.0)  # noqa: S311


def service_order_resume(*, service_order_id: int) -> None:
    """Enqueue an unfinished service order's workflow again; its steps resume where they were."""
    _enqueue("run_service_order", service_order_id)


def stalled_orders_resume(*, stalled_for: timedelta = STALL_AFTER) -> list[int]:
    """Re-enqueue orders whose workflow stopped making progress; returns the service order ids."""
    cutoff = timezone.now() - stalled_for
    with transaction.atomic():
        for product_order_id in ProductOrder.objects.filter(
            state=OrderState.ACKNOWLEDGED, last_update__lt=cutoff
        ).values_list("pk", flat=True):
            _enqueue("process_product_order", product_order_id)
        stalled = list(
            ServiceOrder.objects.filter(
                state__in=[OrderState.ACKNOWLEDGED, OrderState.IN_PROGRESS],
                last_update__lt=cutoff,
                items__steps__state__in=[StepState.PENDING, StepState.RUNNING],
            )
            .distinct()
            .values_list("pk", flat=True)
        )
        # Counted as progress, so the next watchdog run does not enqueue them a second time.
        ServiceOrder.objects.filter(pk__in=stalled).update(last_update=timezone.now())
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
