"""Order items and activation steps move through their transition tables, with history, like
every other state machine: the tables themselves, and the history a run leaves."""

import pytest
from django.core.management import call_command

from orders.choices import ORDER_ITEM_TRANSITIONS, STEP_TRANSITIONS, OrderState, StepState
from orders.models import (
    ActivationStep,
    ActivationStepStateChange,
    ProductOrderItem,
    ProductOrderItemStateChange,
    ServiceOrder,
)
from orders.services.common import item_move
from orders.services.steps import step_move
from orders.tests.factories import five_g_world
from orders.tests.test_workflow import submit_and_run
from telco.exceptions import InvalidTransition


def _path(rows) -> list[tuple[str, str]]:
    return list(rows.order_by("changed_at", "id").values_list("from_state", "to_state"))


@pytest.fixture
def completed(db):
    offering, account, gnb = five_g_world()
    return submit_and_run(offering, account), gnb


def test_a_completed_order_leaves_the_history_of_its_items_and_steps(completed):
    order, _ = completed
    assert order.state == "completed"
    product_item = order.items.get()
    assert _path(product_item.history) == [
        ("acknowledged", "inProgress"),
        ("inProgress", "completed"),
    ]
    service_item = ServiceOrder.objects.get().items.get()
    assert _path(service_item.history) == [
        ("acknowledged", "inProgress"),
        ("inProgress", "completed"),
    ]
    steps = ActivationStep.objects.filter(item=service_item).order_by("sequence")
    assert [(step.operation, _path(step.history)) for step in steps] == [
        # Inventory only: started and done in the transaction that reserves.
        ("reserve", [("pending", "done")]),
        ("configure", [("pending", "running"), ("running", "done")]),
        ("configure", [("pending", "running"), ("running", "done")]),
        ("verify", [("pending", "running"), ("running", "done")]),
        ("activate", [("pending", "done")]),
    ]
    reserve = steps[0]
    assert reserve.started_at == reserve.finished_at is not None
    assert reserve.attempts == 1
    assert set(ActivationStepStateChange.objects.values_list("changed_by", flat=True)) == {
        "activation-workflow"
    }


def test_a_failed_step_and_its_compensation_are_in_the_history(db):
    offering, account, gnb = five_g_world()
    call_command("labnet", "fail", gnb.name, "--mode", "permanent")
    order = submit_and_run(offering, account)
    assert order.state == "failed"
    steps = ActivationStep.objects.filter(item__order__product_order=order).order_by("sequence")
    paths = {step.operation + str(step.sequence): _path(step.history) for step in steps}
    assert paths["reserve1"] == [("pending", "done"), ("done", "compensated")]
    assert paths["configure2"] == [("pending", "running"), ("running", "failed")]
    failed = steps.get(sequence=2).history.get(to_state="failed")
    assert failed.reason == steps.get(sequence=2).last_error
    assert _path(order.items.get().history) == [
        ("acknowledged", "inProgress"),
        ("inProgress", "failed"),
    ]


@pytest.mark.parametrize(
    ("current", "target"),
    [
        (current, target)
        for current, moves in ORDER_ITEM_TRANSITIONS.items()
        for target in sorted(moves)
    ],
)
def test_every_allowed_item_move(completed, current, target):
    item = completed[0].items.get()
    ProductOrderItem.objects.filter(pk=item.pk).update(state=current)
    item.refresh_from_db()

    item_move(item, target, by="noc1", reason="test")

    item.refresh_from_db()
    assert item.state == target
    last = item.history.order_by("id").last()
    assert (last.from_state, last.to_state, last.changed_by) == (current, target, "noc1")


@pytest.mark.parametrize(
    ("current", "target"),
    [
        (current, target)
        for current, moves in ORDER_ITEM_TRANSITIONS.items()
        for target in ORDER_ITEM_TRANSITIONS
        if target not in moves
    ],
)
def test_a_forbidden_item_move_changes_nothing(completed, current, target):
    item = completed[0].items.get()
    ProductOrderItem.objects.filter(pk=item.pk).update(state=current)
    item.refresh_from_db()
    rows = ProductOrderItemStateChange.objects.count()

    with pytest.raises(InvalidTransition):
        item_move(item, target, failure_reason="should not be written")

    item.refresh_from_db()
    assert (item.state, item.failure_reason) == (current, "")
    assert ProductOrderItemStateChange.objects.count() == rows


@pytest.mark.parametrize(
    ("current", "target"),
    [(current, target) for current, moves in STEP_TRANSITIONS.items() for target in sorted(moves)],
)
def test_every_allowed_step_move(completed, current, target):
    step = ActivationStep.objects.get(operation="verify")
    ActivationStep.objects.filter(pk=step.pk).update(state=current)

    assert step_move(step, target, by="noc1", count_attempt=True) is True

    step.refresh_from_db()
    assert (step.state, step.attempts) == (target, 2)
    last = step.history.order_by("id").last()
    assert (last.from_state, last.to_state, last.changed_by) == (current, target, "noc1")


@pytest.mark.parametrize(
    ("current", "target"),
    [
        (current, target)
        for current, moves in STEP_TRANSITIONS.items()
        for target in STEP_TRANSITIONS
        if target not in moves
    ],
)
def test_a_forbidden_step_move_changes_nothing(completed, current, target):
    step = ActivationStep.objects.get(operation="verify")
    ActivationStep.objects.filter(pk=step.pk).update(state=current)
    rows = ActivationStepStateChange.objects.count()

    with pytest.raises(InvalidTransition):
        step_move(step, target, last_error="should not be written")

    step.refresh_from_db()
    assert (step.state, step.last_error) == (current, "")
    assert ActivationStepStateChange.objects.count() == rows


def test_a_step_moved_meanwhile_is_left_as_it_is(completed):
    """`only_from` is the conditional UPDATE of a race: the watchdog, a worker and the NOC may
    each find a step another of them already moved."""
    step = ActivationStep.objects.get(operation="verify")
    rows = ActivationStepStateChange.objects.count()

    moved = step_move(
        step, StepState.PENDING, only_from={StepState.RUNNING}, last_error="timed out"
    )

    step.refresh_from_db()
    assert (moved, step.state, step.last_error) == (False, "done", "")
    assert ActivationStepStateChange.objects.count() == rows


def test_item_states_are_order_states():
    assert set(ORDER_ITEM_TRANSITIONS) <= set(OrderState.values)
    assert set(STEP_TRANSITIONS) == set(StepState.values)
