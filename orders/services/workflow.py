"""The activation workflow: a service order's steps run in order, state kept on each step row,
then the order completes in one transaction. What happens when it cannot go on is in
`compensation` (undo and fail) and `fallout` (hold, the NOC's retry / fail, the watchdog)."""

import random
from collections.abc import Callable

from django.conf import settings
from django.db import transaction
from django.db.models import Model

from billing import services as billing_services
from catalog.choices import ResourceKind
from inventory import services as inventory_services
from inventory.choices import ServiceState
from inventory.network import driver_for
from inventory.network.base import PermanentNetworkError, TransientNetworkError
from orders.choices import FINAL_ORDER_STATES, ItemAction, OrderState, StepState
from orders.models import (
    ActivationStep,
    ProductOrder,
    ProductOrderItem,
    ServiceOrder,
    ServiceOrderItem,
)
from orders.services.common import (
    ACTIVATE,
    ADJUST,
    CONFIGURE,
    DEACTIVATE,
    ELEMENT_OPERATIONS,
    RESERVE,
    VERIFY,
    WORKFLOW_ACTOR,
    enqueue_after_commit,
    item_move,
    items_move,
    order_move,
)
from orders.services.compensation import service_order_compensate_and_fail
from orders.services.fallout import service_order_hold
from orders.services.plans import resource_holders, technology_for
from orders.services.product_orders import product_change_apply, product_order_advance
from orders.services.steps import (
    ACTIVATION_MAX_ATTEMPTS,
    services_of,
    step_done,
    step_done_at_once,
    step_move,
    step_service,
    step_start,
    steps_name_elements,
)
from telco import clock
from telco.db import statements_prepared
from telco.exceptions import DomainError

# Logical resources the reserve step takes from pools when the catalog's specification names them.
POOLED_KINDS = (ResourceKind.MSISDN, ResourceKind.SIM)


def _order_steps(order: ServiceOrder) -> list[ActivationStep]:
    """All the order's steps, in the order they run: read once per run (and again after a
    bandwidth change). Those not done yet are run; a verify step checks the elements its
    item's steps configured, done in this run or an earlier one."""
    steps = ActivationStep.objects.filter(item__order=order).select_related(
        "item__service__product__customer", "resource", "service"
    )
    # Every item is built before any is activated: activation is one transaction for the order.
    # (Sorted here: as an ORDER BY of a Case, compiling it cost more than sorting.)
    return sorted(steps, key=lambda step: (step.operation == ACTIVATE, step.item_id, step.sequence))


def _to_run(steps: list[ActivationStep]) -> list[ActivationStep]:
    return [step for step in steps if step.state in (StepState.PENDING, StepState.RUNNING)]


class _Bindings(dict):
    """What each customer-facing service of the order holds, as `element_config_expected`
    reads it: read once per run for its configure and verify steps, forgotten when a step
    changes what is held."""

    def of(self, service: Model) -> list:
        root = service.parent if service.parent_id else service
        if root.pk not in self:
            self[root.pk] = inventory_services.service_bindings_for_config(root)
        return self[root.pk]


def service_order_run(*, service_order_id: int) -> None:
    """Run the order's steps from where they stopped until it completes, fails or is held.

    A transient network error is recorded on the step and re-raised for the task to retry
    later; once the step has used its attempts the order is held for the NOC. A permanent
    error compensates what was done and fails the order. Any other error (a bug, a refused
    state move) holds the order with the error as its reason, then is re-raised for the log.

    Its statements are prepared (`telco.db.statements_prepared`): every order runs the same
    few dozen, and planning them again each time was a third of PostgreSQL's work.
    """
    with statements_prepared():
        _service_order_run(service_order_id)


def _service_order_run(service_order_id: int) -> None:
    with transaction.atomic():
        order = ServiceOrder.objects.select_for_update().get(pk=service_order_id)
        if order.state in FINAL_ORDER_STATES:
            return
        if order.state == OrderState.ACKNOWLEDGED:
            order_move(order, OrderState.IN_PROGRESS, start_date=clock.now())
            items_move(order.items.all(), OrderState.IN_PROGRESS)
        if order.state != OrderState.IN_PROGRESS:
            return  # held for the NOC, or being cancelled: a late delivery changes nothing
    step = None
    bindings = _Bindings()
    try:
        order_steps = _order_steps(order)
        steps = _to_run(order_steps)
        while steps:
            step = steps.pop(0)
            if step.operation == ACTIVATE:
                # The activation steps come last: the ones left are the other items'.
                _service_order_complete(order, activations=[step, *steps])
                return
            if not _step_run(order, step, bindings, later=steps, order_steps=order_steps):
                return
            if step.operation == ADJUST:
                order_steps = _order_steps(order)
                steps = _to_run(order_steps)
            if step.operation in (RESERVE, ADJUST):
                bindings.clear()
            step = None  # done: an error before the next step starts is no step's fault
    except TransientNetworkError:
        raise
    except Exception as error:
        # Left in progress, the order would be re-run by the watchdog for ever with nothing
        # said; held, the NOC sees why and retries it (once fixed) or fails it.
        detail = f"{type(error).__name__}: {error}"
        if step is None:
            service_order_hold(order, None, f"Stopped by an unexpected error: {detail}")
        else:
            service_order_hold(order, step, f"unexpected error: {detail}")
        raise


def _step_run(
    order: ServiceOrder,
    step: ActivationStep,
    bindings: _Bindings,
    *,
    later: list[ActivationStep],
    order_steps: list[ActivationStep],
) -> bool:
    """Run one step; False when the order stopped (failed, held or cancelled) or another
    delivery of the task is running it. `later`: the steps after it, which a reservation
    names after the elements it picked; `order_steps`: all the order's, as this run knows
    them (a verify step reads its item's)."""
    if step.operation in (RESERVE, ADJUST):
        # Inventory only, in one transaction: started and done in it, never left running.
        try:
            if step.operation == RESERVE:
                return _step_reserve(order, step, later)
            return _step_adjust(order, step)
        except (PermanentNetworkError, DomainError) as error:
            service_order_compensate_and_fail(order, step, str(error))
            return False
    if not step_start(order, step):
        return False
    try:
        if step.operation in ELEMENT_OPERATIONS:
            _step_element(step, bindings)
        elif step.operation == VERIFY:
            _step_verify(step, bindings, order_steps)
    except TransientNetworkError as error:
        if step.attempts < ACTIVATION_MAX_ATTEMPTS:
            step_move(
                step,
                StepState.PENDING,
                only_from={StepState.RUNNING},
                reason=str(error),
                last_error=str(error),
                deadline=None,
            )
            raise
        service_order_hold(order, step, f"{error} (gave up after {step.attempts} attempts)")
        return False
    except (PermanentNetworkError, DomainError) as error:
        service_order_compensate_and_fail(order, step, str(error))
        return False
    # The order is not touched here: the next step's start (or the completion) does it at once.
    step_done(step)
    return True


def _step_in_inventory(
    order: ServiceOrder, step: ActivationStep, change: Callable[[], object]
) -> bool:
    """Make the step's `change` to the inventory and mark the step done in one transaction, so
    a re-run never does it twice; False, nothing changed, when the order stopped meanwhile
    (or another delivery of the task made it)."""
    with transaction.atomic():
        if not step_done_at_once(order, step):
            return False
        change()
    return True


def _step_reserve(order: ServiceOrder, step: ActivationStep, later: list[ActivationStep]) -> bool:
    """Reserve what the item's technology needs (`plans`); False when the order was cancelled
    in the meantime. Each configure step is then named after the element it configures, in
    the database and in `later`."""
    service = step.item.service
    customer = service.product.customer if service.product_id else None
    children = list(
        service.children.select_related("service_specification")
        .prefetch_related("service_specification__resource_specifications")
        .order_by("pk")
    )
    holders = resource_holders(service, children=children)
    technology = technology_for(holders)
    element_of = {}  # resource kind -> the element its configure step configures

    def reserve() -> None:
        bindings = (
            technology.reserve(service, holders, step.item.characteristics, customer)
            if technology is not None
            else []
        )
        if _allocate_from_pools(service, children) or technology is not None:
            # Once, when everything is bound (the technology's holds and the pool members).
            inventory_services.service_paths_rebuild([service.pk])
        # Each configure step is named after its element (of two bindings of a kind, the last),
        # in one UPDATE whatever the number of kinds.
        element_of.update((held.resource.resource_kind, held.resource) for held in bindings)
        steps_name_elements(
            step.item_id,
            CONFIGURE,
            {kind: (e.pk, _configure_name(technology, e)) for kind, e in element_of.items()},
        )

    if not _step_in_inventory(order, step, reserve):
        return False
    for later_step in later:  # as the UPDATE named them: no need to read them again
        element = element_of.get(later_step.resource_kind)
        if later_step.item_id == step.item_id and later_step.operation == CONFIGURE and element:
            later_step.resource = element
            later_step.name = _configure_name(technology, element)
    return True


def _configure_name(technology, element: Model) -> str:
    return technology.configure_step_name(element.resource_kind, element.name)[:60]


def _allocate_from_pools(service: Model, children: list[Model]) -> int:
    """One member of each pooled kind (MSISDN, SIM) the catalog asks for, from its pool, bound
    to the resource-facing service whose specification lists it (the service itself when it
    has no RFS). Runs in the reservation's transaction: PoolExhausted undoes the whole step.
    `children`: its resource-facing services, their specifications prefetched. Returns how
    many were allocated; the caller rebuilds the service's paths."""
    holders = children or [service]
    allocated = 0
    for holder in holders:
        kinds = {
            resource_spec.resource_kind
            for resource_spec in holder.service_specification.resource_specifications.all()
        }
        for kind in POOLED_KINDS:
            if kind in kinds:
                inventory_services.logical_allocate(
                    kind=kind, service=holder, by=WORKFLOW_ACTOR, rebuild_paths=False
                )
                allocated += 1
    return allocated


def _step_adjust(order: ServiceOrder, step: ActivationStep) -> bool:
    """Hold the new bandwidth where the service holds capacity (its gNB share, or each
    enterprise site's port and links), rows locked, free capacity counted again."""
    bandwidth = inventory_services.bandwidth_mbps(step.item.characteristics.get("bandwidth"))
    return _step_in_inventory(
        order,
        step,
        lambda: inventory_services.capacity_adjust(service=step.item.service, bandwidth=bandwidth),
    )


def _step_element(step: ActivationStep, bindings: _Bindings) -> None:
    """Apply the step to its element: activate (add), modify, or deactivate (delete)."""
    item = step.item
    service = step_service(step)
    driver = driver_for(step.resource.resource_kind)
    arguments = {
        "element": step.resource.name,
        "idempotency_key": step.idempotency_key,
        "service_ref": str(service.pk),
    }
    if step.operation == DEACTIVATE:
        driver.deactivate(**arguments)
        return
    payload = inventory_services.element_config_expected(
        item.service,
        resource=step.resource,
        characteristics=item.characteristics,
        state=item.target_state or ServiceState.ACTIVE,
        bindings=bindings.of(item.service),
    )
    if step.operation == CONFIGURE:
        driver.activate(**arguments, payload=payload)
    else:
        driver.modify(**arguments, payload=payload)


def _step_verify(
    step: ActivationStep, bindings: _Bindings, order_steps: list[ActivationStep]
) -> None:
    """Each element holds the configuration (or, after a delete, no longer does), and what it
    reports holding is what the inventory expects of it."""
    item = step.item
    wanted = item.target_state != ServiceState.TERMINATED
    applied = [
        each
        for each in order_steps
        if each.item_id == step.item_id
        and each.operation in ELEMENT_OPERATIONS
        and (not step.service_id or each.service_id == step.service_id)
    ]
    for applied_step in applied:
        resource = applied_step.resource
        service = step_service(applied_step)
        answer = driver_for(resource.resource_kind).status(
            element=resource.name, service_ref=str(service.pk)
        )
        if answer["configured"] != wanted:
            raise PermanentNetworkError(
                f"{resource.name} does not hold the configuration."
                if wanted
                else f"{resource.name} still holds the configuration."
            )
        if not wanted:
            continue
        expected = inventory_services.element_config_expected(
            item.service,
            resource=resource,
            characteristics=item.characteristics,
            state=item.target_state or ServiceState.ACTIVE,
            bindings=bindings.of(item.service),
        )
        reported = answer.get("config") or {}
        # Read back as the element models it (see config_differences for what is compared).
        drift = inventory_services.config_differences(
            expected, reported, driver_for(resource.resource_kind).config_keys
        )
        if drift:
            raise PermanentNetworkError(
                f"{resource.name} holds "
                + ", ".join(
                    f"{key}={reported.get(key, 'nothing')} (expected {expected[key]})"
                    for key in drift
                )
                + "."
            )


def _service_order_complete(order: ServiceOrder, *, activations: list[ActivationStep]) -> None:
    """Apply every item to the inventory, its products and order items, in one transaction:
    add activates, modify records the new configuration (or suspends / resumes), delete
    terminates. Then the product order moves on (items relying on these ones start).
    `activations`: the order's activation steps (its last steps), marked done with it."""
    with transaction.atomic():
        if order.product_order_id:
            # Locked first, always in this order, so two service orders of it settle in turn.
            product_order = ProductOrder.objects.select_for_update().get(pk=order.product_order_id)
        at = clock.now()
        # First: the move takes the order's row lock and finds whether it still runs (not held
        # or cancelled meanwhile); the rest of the completion commits with it or not at all.
        moved = order_move(
            order, OrderState.COMPLETED, only_from={OrderState.IN_PROGRESS}, completion_date=at
        )
        if moved is None:
            return
        items = list(
            order.items.select_related(
                "service__product",
                "product_order_item__product",
                "product_order_item__product_offering",
            ).prefetch_related("service__children")
        )
        added = [
            service
            for item in items
            if item.action == ItemAction.ADD
            for service in services_of(item)
        ]
        if added:
            at = inventory_services.services_activate(services=added, by=WORKFLOW_ACTOR, at=at)
        # Modify/delete items: the services of one product order item change together.
        product_items: dict[int, tuple[ProductOrderItem, list[Model]]] = {}
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
            product_change_apply(product_item, services=services, at=at)
        for step in sorted(activations, key=lambda step: step.pk):
            step_move(step, StepState.DONE, count_attempt=True, started_at=at, finished_at=at)
        items_move(items, OrderState.COMPLETED)
        completed = set()
        for item in items:
            if item.action == ItemAction.ADD and item.product_order_item is not None:
                product = item.service.product
                root = product.parent if product.parent_id else product
                if product.parent_id:
                    # Bundled products without network services become active with the rest.
                    inventory_services.products_activate_pending(
                        products=[*root.bundled_products.all(), root], by=WORKFLOW_ACTOR, at=at
                    )
                # The services of a bundle's products are items of one product order item.
                if item.product_order_item_id not in completed:
                    completed.add(item.product_order_item_id)
                    item_move(item.product_order_item, OrderState.COMPLETED, product=root)
                    billing_services.prepaid_provision(product=root, at=at)  # the OCS hears
        if order.product_order_id:
            for service_order_id in product_order_advance(product_order, at=at):
                enqueue_after_commit("run_service_order", service_order_id)


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


def retry_countdown(*, retries: int) -> float:
    """Exponential backoff with jitter; the base is read now, so tests can keep it short."""
    base = settings.ACTIVATION_RETRY_BACKOFF_SECONDS
    # Jitter spreads the retries of many orders hit by the same flapping element.
    return min(base * 2**retries + random.uniform(0, base), 300.0)  # noqa: S311


def service_order_resume(*, service_order_id: int) -> None:
    """Enqueue an unfinished service order's workflow again; its steps resume where they were."""
    enqueue_after_commit("run_service_order", service_order_id)
