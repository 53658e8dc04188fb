"""Product and service orders: validation, decomposition and the activation workflow.

The modules, in the order they depend on each other: `common` (actor, step operations, order
and item moves, enqueueing), `validation` (requests and TMF622 rules), `service_orders` (TMF641
and the items and steps of every service order), `product_orders` (TMF622 acceptance and
decomposition), `steps` (step moves and what a step works on), `compensation` (undo, release,
fail), `fallout` (hold, the NOC's retry / fail, the watchdog), `workflow` (running the steps,
completion), `cancellation`.
"""

from orders.selectors import STALL_AFTER
from orders.services.cancellation import product_order_cancel, service_order_cancel
from orders.services.fallout import (
    service_order_fail,
    service_order_retry,
    stalled_orders_resume,
)
from orders.services.product_orders import product_order_process, product_order_submit
from orders.services.service_orders import service_order_submit
from orders.services.steps import ACTIVATION_MAX_ATTEMPTS
from orders.services.validation import (
    ALLOWED_PRODUCT_STATUS,
    CHANGE,
    RESUME,
    SUSPEND,
    TERMINATE,
    ItemRequest,
    PartyRequest,
)
from orders.services.workflow import retry_countdown, service_order_resume, service_order_run

__all__ = [
    "ACTIVATION_MAX_ATTEMPTS",
    "ALLOWED_PRODUCT_STATUS",
    "CHANGE",
    "RESUME",
    "STALL_AFTER",
    "SUSPEND",
    "TERMINATE",
    "ItemRequest",
    "PartyRequest",
    "product_order_cancel",
    "product_order_process",
    "product_order_submit",
    "retry_countdown",
    "service_order_cancel",
    "service_order_fail",
    "service_order_resume",
    "service_order_retry",
    "service_order_run",
    "service_order_submit",
    "stalled_orders_resume",
]
