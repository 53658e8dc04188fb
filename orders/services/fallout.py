"""Fallout: an order held for the NOC, the NOC's retry / fail, and the watchdog that resumes
stalled workflows and times out steps."""

from datetime import timedelta

from django.db import transaction

from orders.choices import OrderState, StepState
from orders.models import ActivationStep, ProductOrder, ServiceOrder, ServiceOrderStateChange
from orders.selectors import STALL_AFTER, actionable_condition
from orders.services.common import enqueue_after_commit, order_move
from orders.services.compensation import service_order_compensate_and_fail
from orders.services.steps import (
    ACTIVATION_MAX_ATTEMPTS,
    order_still_running,
    order_touch,
    step_fail,
    step_move,
)
from telco import clock
from telco.exceptions import Conflict, NotFound


def service_order_hold(order: ServiceOrder, step: ActivationStep | None, error: str) -> None:
    """Stop the workflow for the NOC, the order held with the reason: the step it stopped at
    failed with `error` (it used its attempts, or an unexpected error), or without a step,
    `error` itself. Nothing changes when the order stopped meanwhile."""
    with transaction.atomic():
        if not order_still_running(order):
            return
        reason = error if step is None else step_fail(step, error)
        order_move(order, OrderState.HELD, reason=reason, failure_reason=reason)


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
        order_move(order, OrderState.IN_PROGRESS, by=by, reason=reason, failure_reason="")
    else:
        ServiceOrderStateChange.objects.create(
            order=order, from_state=order.state, to_state=order.state, changed_by=by, reason=reason
        )
        order_touch(order)
    # The failed, stuck or retrying step starts again with a full budget of attempts.
    stopped = [StepState.FAILED, StepState.RUNNING]
    steps = ActivationStep.objects.filter(item__order=order)
    for step in steps.filter(state__in=stopped).order_by("pk"):
        step_move(
            step,
            StepState.PENDING,
            only_from=stopped,
            by=by,
            reason=reason,
            attempts=0,
            deadline=None,
            last_error="",
        )
    # A step waiting for its next automatic attempt stays pending: only its budget is reset.
    steps.filter(state=StepState.PENDING, attempts__gt=0).update(
        attempts=0, deadline=None, last_error=""
    )
    enqueue_after_commit("run_service_order", order.pk)
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
            order_move(order, OrderState.HELD, by=by, reason=reason)
        running = ActivationStep.objects.filter(item__order=order, state=StepState.RUNNING)
        for step in running.order_by("pk"):
            step_move(
                step,
                StepState.FAILED,
                only_from={StepState.RUNNING},
                by=by,
                reason=reason,
                deadline=None,
                finished_at=clock.now(),
            )
    why = f"Failed by {by}: {reason}" if by else reason
    service_order_compensate_and_fail(order, None, why, by=by)
    order.refresh_from_db()
    return order


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
            changed = step_move(
                step,
                StepState.PENDING,
                only_from={StepState.RUNNING},
                reason=error,
                last_error=error,
                deadline=None,
            )
            if changed:
                resumed.append(step.item.order_id)
        else:
            service_order_hold(
                step.item.order, step, f"{error} (gave up after {step.attempts} attempts)"
            )
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
            enqueue_after_commit("process_product_order", product_order_id)
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
            enqueue_after_commit("run_service_order", service_order_id)
    return stalled
