from django.db import models


class OrderState(models.TextChoices):
    """The TMF622/TMF641 order lifecycle, shared by product and service orders."""

    ACKNOWLEDGED = "acknowledged"
    REJECTED = "rejected"
    PENDING = "pending"
    HELD = "held"
    IN_PROGRESS = "inProgress"
    CANCELLED = "cancelled"
    COMPLETED = "completed"
    FAILED = "failed"
    PARTIAL = "partial"
    ASSESSING_CANCELLATION = "assessingCancellation"
    PENDING_CANCELLATION = "pendingCancellation"


ORDER_TRANSITIONS = {
    OrderState.ACKNOWLEDGED: {
        OrderState.IN_PROGRESS,
        OrderState.REJECTED,
        OrderState.ASSESSING_CANCELLATION,
        OrderState.FAILED,
    },
    OrderState.IN_PROGRESS: {
        OrderState.COMPLETED,
        OrderState.FAILED,
        OrderState.PARTIAL,
        OrderState.PENDING,
        OrderState.HELD,
        OrderState.ASSESSING_CANCELLATION,
    },
    OrderState.PENDING: {
        OrderState.IN_PROGRESS,
        OrderState.FAILED,
        OrderState.ASSESSING_CANCELLATION,
    },
    # Held: the workflow stopped for a person (NOC) to retry it or fail it.
    OrderState.HELD: {
        OrderState.IN_PROGRESS,
        OrderState.FAILED,
        OrderState.ASSESSING_CANCELLATION,
    },
    OrderState.ASSESSING_CANCELLATION: {
        OrderState.PENDING_CANCELLATION,
        OrderState.IN_PROGRESS,
        OrderState.ACKNOWLEDGED,
    },
    OrderState.PENDING_CANCELLATION: {OrderState.CANCELLED},
    OrderState.REJECTED: set(),
    OrderState.CANCELLED: set(),
    OrderState.COMPLETED: set(),
    OrderState.FAILED: set(),
    OrderState.PARTIAL: set(),
}

FINAL_ORDER_STATES = {state for state, moves in ORDER_TRANSITIONS.items() if not moves}

# An order item (product or service order line) runs inside its order: it waits (pending) for the
# items it relies on, runs, and ends completed, failed, or cancelled with its order.
ORDER_ITEM_TRANSITIONS = {
    OrderState.ACKNOWLEDGED: {
        OrderState.PENDING,
        OrderState.IN_PROGRESS,
        OrderState.FAILED,
        OrderState.CANCELLED,
    },
    OrderState.PENDING: {OrderState.IN_PROGRESS, OrderState.FAILED, OrderState.CANCELLED},
    OrderState.IN_PROGRESS: {OrderState.COMPLETED, OrderState.FAILED, OrderState.CANCELLED},
    OrderState.COMPLETED: set(),
    OrderState.FAILED: set(),
    OrderState.CANCELLED: set(),
}


class TaskState(models.TextChoices):
    """TMF TaskStateType: the lifecycle of a task resource such as cancelProductOrder."""

    ACKNOWLEDGED = "acknowledged"
    IN_PROGRESS = "inProgress"
    DONE = "done"
    TERMINATED_WITH_ERROR = "terminatedWithError"


class ItemAction(models.TextChoices):
    ADD = "add"
    MODIFY = "modify"
    DELETE = "delete"
    NO_CHANGE = "noChange"


class StepState(models.TextChoices):
    """One activation step: waiting, running, done, failed, or undone by compensation."""

    PENDING = "pending"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    COMPENSATED = "compensated"


STEP_TRANSITIONS = {
    # Done without running: the activation step, done with the order's completion, or a step
    # whose call answered after the watchdog had put it back to pending.
    StepState.PENDING: {StepState.RUNNING, StepState.DONE, StepState.FAILED},
    # Running again: its worker died or the task was delivered twice (the idempotency key keeps
    # the element right). Pending: a transient error or a timeout, to be retried.
    StepState.RUNNING: {
        StepState.RUNNING,
        StepState.PENDING,
        StepState.DONE,
        StepState.FAILED,
        StepState.COMPENSATED,
    },
    StepState.DONE: {StepState.COMPENSATED},
    # Retried by the NOC.
    StepState.FAILED: {StepState.PENDING},
    StepState.COMPENSATED: set(),
}
