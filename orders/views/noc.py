"""The NOC activation queue: service orders in flight, held in fallout, recently failed.

The NOC sees where each order stands (current step, attempts, last error, age) and acts on the
stuck ones: Retry resumes the workflow, Fail gives up with a reason. Both are calls to the
orders services; a wrong state comes back as a message and changes nothing.
"""

from django.contrib import messages
from django.db.models import Prefetch
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from orders import selectors, services
from orders.choices import OrderState, StepState
from orders.models import ServiceOrder, ServiceOrderStateChange
from telco import clock
from telco.exceptions import DomainError, NotFound

# How often the queue table refreshes itself (milliseconds).
QUEUE_REFRESH_MS = 3000
# Each section shows the oldest (in flight, held) or newest (failed) orders up to this many.
SECTION_ROWS = 100

SECTIONS = {
    "inProgress": {
        "title": "In flight",
        "states": [OrderState.ACKNOWLEDGED, OrderState.IN_PROGRESS, OrderState.PENDING],
    },
    "held": {"title": "Held (fallout)", "states": [OrderState.HELD]},
    "failed": {"title": "Recently failed", "states": [OrderState.FAILED]},
}


# ---------------------------------------------------------------------------------------------
# Reads shaped for these pages
# ---------------------------------------------------------------------------------------------


def _queue_row(order: ServiceOrder) -> ServiceOrder:
    """How many of the order's steps are done, from its prefetched steps (no query)."""
    steps = [step for item in order.items.all() for step in item.steps.all()]
    order.steps_total = len(steps)
    order.steps_done = sum(step.state == StepState.DONE for step in steps)
    return order


def _section(key: str, now) -> dict:
    orders = selectors.activation_queue(now=now).filter(state__in=SECTIONS[key]["states"])
    if key == "failed":
        orders = orders.order_by("-completion_date", "-pk")
    rows = [_queue_row(order) for order in orders[:SECTION_ROWS]]
    return {"key": key, "title": SECTIONS[key]["title"], "orders": rows, "total": orders.count()}


def _queue_context(request) -> dict:
    state = request.GET.get("state", "")
    keys = [state] if state in SECTIONS else list(SECTIONS)
    now = clock.now()
    return {
        "state": state if state in SECTIONS else "",
        "filters": [(key, section["title"]) for key, section in SECTIONS.items()],
        "sections": [_section(key, now) for key in keys],
        "refresh_ms": QUEUE_REFRESH_MS,
        "now": now,
    }


def _order_detail(pk: int) -> ServiceOrder:
    """One service order with its progress, customer, items, steps and history."""
    history = ServiceOrderStateChange.objects.order_by("changed_at", "id")
    order = (
        selectors.service_orders_with_progress()
        .prefetch_related(Prefetch("history", queryset=history))
        .filter(pk=pk)
        .first()
    )
    if order is None:
        raise Http404
    return _queue_row(order)


# ---------------------------------------------------------------------------------------------
# Pages
# ---------------------------------------------------------------------------------------------


def activation_queue(request):
    """Service orders in flight, held and recently failed, with Retry and Fail per order."""
    return render(request, "orders/noc_queue.html", _queue_context(request))


def activation_queue_table(request):
    """The queue's table alone, fetched every few seconds by the page."""
    return render(request, "orders/noc_queue_table.html", _queue_context(request))


def service_order_detail(request, pk: int):
    """One service order: its items, every step with attempts and errors, and its history."""
    return render(request, "orders/noc_order_detail.html", {"order": _order_detail(pk)})


def _back(request):
    target = request.POST.get("next", "")
    if url_has_allowed_host_and_scheme(target, {request.get_host()}, request.is_secure()):
        return redirect(target)
    return redirect(reverse("orders_noc:queue"))


def _act(request, pk: int, action, done: str, **arguments):
    """Call the service `action` on the order; its refusal becomes a message, then go back."""
    try:
        action(service_order_id=pk, by=request.user.get_username(), **arguments)
    except NotFound:
        raise Http404 from None
    except DomainError as error:
        messages.error(request, f"Service order {pk}: {error.message}")
    else:
        messages.success(request, f"Service order {pk} {done}")
    return _back(request)


@require_POST
def service_order_retry(request, pk: int):
    """Resume a held or stuck order's workflow from the step where it stopped."""
    return _act(request, pk, services.service_order_retry, "is being retried.")


@require_POST
def service_order_fail(request, pk: int):
    """Give up on an order: compensate what was done and fail it with the NOC's reason."""
    reason = request.POST.get("reason", "").strip()
    if not reason:
        messages.error(request, f"Service order {pk}: give a reason to fail it.")
        return _back(request)
    return _act(request, pk, services.service_order_fail, f"failed: {reason}", reason=reason)
