"""The activation workflow: steps, completion, fallout, the NOC's retry / fail, the watchdog."""

import random
from collections.abc import Callable
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q

from catalog.choices import ResourceKind
from inventory import services as inventory_services
from inventory.choices import ProductStatus, ServiceState
from inventory.models import Service
from inventory.network import driver_for
from inventory.network.base import NetworkError, PermanentNetworkError, TransientNetworkError
from orders.choices import FINAL_ORDER_STATES, ItemAction, OrderState, StepState
from orders.models import (
    ActivationStep,
    ProductOrder,
    ProductOrderItem,
    ServiceOrder,
    ServiceOrderItem,
    ServiceOrderStateChange,
)
from orders.selectors import STALL_AFTER, actionable_condition
from orders.services.common import (
    ACTIVATE,
    ADJUST,
    CONFIGURE,
    DEACTIVATE,
    ELEMENT_OPERATIONS,
    MODIFY,
    RESERVE,
    VERIFY,
    WORKFLOW_ACTOR,
    _enqueue,
    _order_move,
)
from orders.services.product_orders import _product_change_apply, _product_order_advance
from telco import clock
from telco.exceptions import Conflict, DomainError, NotFound

# Logical resources the reserve step takes from pools when the catalog's specification names them.
POOLED_KINDS = (ResourceKind.MSISDN, ResourceKind.SIM)
# A step is tried once and retried five times before the order is held for the NOC.
ACTIVATION_MAX_ATTEMPTS = 6


# ---------------------------------------------------------------------------------------------
# The workflow: steps run in order, state kept on each step row
# ---------------------------------------------------------------------------------------------


def _touch(order: ServiceOrder) -> None:
    """Record progress, so the watchdog leaves the order alone."""
    ServiceOrder.objects.filter(pk=order.pk).update(last_update=clock.now())


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
    error compensates what was done and fails the order. Any other error (a bug, a refused
    state move) holds the order with the error as its reason, then is re-raised for the log.
    """
    with transaction.atomic():
        order = ServiceOrder.objects.select_for_update().get(pk=service_order_id)
        if order.state in FINAL_ORDER_STATES:
            return
        if order.state == OrderState.ACKNOWLEDGED:
            _order_move(order, OrderState.IN_PROGRESS, start_date=clock.now())
            order.items.update(state=OrderState.IN_PROGRESS)
        if order.state != OrderState.IN_PROGRESS:
            return  # held for the NOC, or being cancelled: a late delivery changes nothing
    step = None
    try:
        while (step := _next_step(order)) is not None:
            if step.operation == ACTIVATE:
                _service_order_complete(order)
                return
            if not _step_run(order, step):
                return
            step = None  # done: an error before the next step starts is no step's fault
    except TransientNetworkError:
        raise
    except Exception as error:
        # Left in progress, the order would be re-run by the watchdog for ever with nothing
        # said; held, the NOC sees why and retries it (once fixed) or fails it.
        _service_order_hold_on_error(order, step, f"{type(error).__name__}: {error}")
        raise


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
        _service_order_hold(order, step, str(error))
        return False
    except (PermanentNetworkError, DomainError) as error:
        _service_order_fail(order, step, str(error))
        return False
    _step_done(step)
    _touch(order)
    return True


def _step_done(step: ActivationStep) -> None:
    ActivationStep.objects.filter(pk=step.pk).update(
        state=StepState.DONE, finished_at=clock.now(), last_error="", deadline=None
    )


def _step_failed(step: ActivationStep, error: str) -> str:
    """Mark the step failed with the error; returns the reason the order gives for it."""
    ActivationStep.objects.filter(pk=step.pk).update(
        state=StepState.FAILED, last_error=error, finished_at=clock.now(), deadline=None
    )
    return f"Step {step.sequence} '{step.name}' failed: {error}"


def _step_in_inventory(
    order: ServiceOrder, step: ActivationStep, change: Callable[[], object]
) -> bool:
    """Make the step's `change` to the inventory and mark the step done in one transaction, so
    a re-run never does it twice; False, nothing changed, when the order stopped meanwhile."""
    with transaction.atomic():
        if not _order_still_running(order):
            return False
        change()
        _step_done(step)
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
    now = clock.now()
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

    def reserve() -> None:
        bindings = inventory_services.capacity_reserve(
            service=service,
            bandwidth=bandwidth,
            customer=customer,
            by=WORKFLOW_ACTOR,
            gnb_holder=holders.get(ResourceKind.GNB),
            slice_holder=holders.get(ResourceKind.SLICE),
        )
        _allocate_from_pools(service)
        for binding in bindings:
            ActivationStep.objects.filter(
                item=step.item,
                operation=CONFIGURE,
                resource_kind=binding.resource.resource_kind,
            ).update(resource=binding.resource, name=f"Configure {binding.resource.name}"[:60])

    return _step_in_inventory(order, step, reserve)


def _allocate_from_pools(service: Service) -> None:
    """One member of each pooled kind (MSISDN, SIM) the catalog asks for, from its pool, bound
    to the resource-facing service whose specification lists it (the service itself when it
    has no RFS). Runs in the reservation's transaction: PoolExhausted undoes the whole step."""
    holders = list(
        service.children.select_related("service_specification")
        .prefetch_related("service_specification__resource_specifications")
        .order_by("pk")
    ) or [service]
    for holder in holders:
        kinds = {
            resource_spec.resource_kind
            for resource_spec in holder.service_specification.resource_specifications.all()
        }
        for kind in POOLED_KINDS:
            if kind in kinds:
                inventory_services.logical_allocate(kind=kind, service=holder, by=WORKFLOW_ACTOR)


def _step_adjust(order: ServiceOrder, step: ActivationStep) -> bool:
    """Hold the new bandwidth on the gNB (row lock, free capacity counted again)."""
    bandwidth = inventory_services.bandwidth_mbps(step.item.characteristics.get("bandwidth"))
    return _step_in_inventory(
        order,
        step,
        lambda: inventory_services.capacity_adjust(service=step.item.service, bandwidth=bandwidth),
    )


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
        at = clock.now()
        added = [
            service
            for item in items
            if item.action == ItemAction.ADD
            for service in _services_of(item)
        ]
        if added:
            at = inventory_services.services_activate(services=added, by=WORKFLOW_ACTOR, at=at)
        # Modify/delete items: the services of one product order item change together.
        product_items: dict[int, tuple[ProductOrderItem, list[Service]]] = {}
        for item in items:
            if item.action == ItemAction.ADD:
                continue
            if item.product_order_item is None:
                _direct_change_apply(item, at=at)
                continue
            _, services = product_items.setdefault(
                item.product_order_item_id, (item.product_order_item, [])
            )
            services.append(item.service)
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
    reason = error if failed_step is None else _step_failed(failed_step, error)
    _compensate(order)
    with transaction.atomic():
        product_order = None
        if order.product_order_id:
            product_order = ProductOrder.objects.select_for_update().get(pk=order.product_order_id)
        order = ServiceOrder.objects.select_for_update().get(pk=order.pk)
        if order.state in FINAL_ORDER_STATES:
            return
        items = _service_order_release(order, by=by, reason=reason)
        now = clock.now()
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
    """Stop the workflow for the NOC: the step used its attempts, the order is held with the
    reason."""
    with transaction.atomic():
        if not _order_still_running(order):
            return
        reason = _step_failed(step, f"{error} (gave up after {step.attempts} attempts)")
        _order_move(order, OrderState.HELD, reason=reason, failure_reason=reason)


def _service_order_hold_on_error(
    order: ServiceOrder, step: ActivationStep | None, error: str
) -> None:
    """Hold the order for the NOC after an unexpected error, naming the step it stopped at."""
    with transaction.atomic():
        if not _order_still_running(order):
            return
        if step is None:
            reason = f"Stopped by an unexpected error: {error}"
        else:
            reason = _step_failed(step, f"unexpected error: {error}")
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


def _locked_for_noc(service_order_id: int, action: str) -> ServiceOrder:
    order = ServiceOrder.objects.select_for_update().filter(pk=service_order_id).first()
    if order is None:
        raise NotFound(f"Service order '{service_order_id}' does not exist.")
    if ServiceOrder.objects.filter(actionable_condition(clock.now()), pk=order.pk).exists():
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
            state=StepState.FAILED, deadline=None, finished_at=clock.now()
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
            _service_order_hold(step.item.order, step, error)
    return resumed


def stalled_orders_resume(*, stalled_for: timedelta = STALL_AFTER) -> list[int]:
    """The watchdog: re-enqueue orders whose workflow stopped making progress or whose running
    step passed its deadline (a dead worker, a lost message); returns the service order ids."""
    now = clock.now()
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
