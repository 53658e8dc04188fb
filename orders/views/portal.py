"""Agent portal ordering: capture a product order, watch it activate, act on a held product.

Agents and admins place orders; finance reads the order pages only (no forms, POST is 403); the
NOC is not in the portal. Every order goes through `orders.services.product_order_submit`, the
same validation as the TMF622 API: a refused order creates nothing and the error is shown next
to the field it names.
"""

from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import Model
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render

from catalog import selectors as catalog_selectors
from catalog.choices import PriceType, RecurringPeriod, ValueType
from crm import selectors as crm_selectors
from inventory import selectors as inventory_selectors
from inventory import services as inventory_services
from inventory.choices import ProductStatus
from orders import selectors
from orders.choices import FINAL_ORDER_STATES, ItemAction, OrderState
from orders.models import ProductOrder
from orders.services import (
    ALLOWED_PRODUCT_STATUS,
    CHANGE,
    RESUME,
    SUSPEND,
    TERMINATE,
    ItemRequest,
    PartyRequest,
    product_order_submit,
)
from orders.services.enterprise import SITES, sites_of
from telco.exceptions import DomainError
from telco.ids import parse_id

# How often the order page asks for the order's progress while it is not final (milliseconds).
PROGRESS_REFRESH_MS = 1500
# Form input names of the characteristics: "char-bandwidth".
CHARACTERISTIC_PREFIX = "char-"
# The portal orders one item at a time.
ITEM_ID = "1"
ITEM_PREFIX = "productOrderItem[0]"
CHARACTERISTIC_FIELD = f"{ITEM_PREFIX}.product.productCharacteristic."


def _customer_or_404(customer_id) -> Model:
    pk = parse_id(customer_id or "")
    if pk is None:
        raise Http404("Name the customer: ?customer=<id>.")
    return get_object_or_404(crm_selectors.customer_rows().select_related("party"), pk=pk)


def _orderable_offerings(customer: Model) -> list[Model]:
    """The offerings this customer may order: launched, and open to the customer's segment."""
    return list(catalog_selectors.offerings_orderable_by(customer.segment))


def _find(offerings: list[Model], offering_id) -> Model | None:
    return next((o for o in offerings if str(o.pk) == str(offering_id)), None)


def _form_field(error_field: str | None) -> str:
    """The form input a service error belongs to ("form" for the form as a whole)."""
    error_field = error_field or ""
    if error_field.startswith(CHARACTERISTIC_FIELD):
        return CHARACTERISTIC_PREFIX + error_field.removeprefix(CHARACTERISTIC_FIELD)
    if error_field.startswith(f"{ITEM_PREFIX}.product.place"):
        return CHARACTERISTIC_PREFIX + SITES  # the sites (places) of an enterprise order
    if error_field.startswith(f"{ITEM_PREFIX}.productOffering"):
        return "offering"
    if error_field.startswith("billingAccount"):
        return "billing_account"
    return "form"


def _submit(request, customer, item, *, billing_account_id, description, errors):
    """Submit a one-item order for the customer as the signed-in user and go to its page; a
    refusal goes into `errors` under the form input it names, and None is returned."""
    try:
        order = product_order_submit(
            items=[item],
            parties=[PartyRequest(id=str(customer.pk), referred_type="Customer")],
            billing_account_id=billing_account_id,
            description=description,
            by=request.user.get_username(),
        )
    except DomainError as error:
        errors[_form_field(error.field)] = error.message
        return None
    return redirect("orders_portal:order-detail", order.pk)


def _posted_description(post) -> str:
    return post.get("description", "").strip()[:200]


def _posted_characteristics(post) -> dict[str, str]:
    """The characteristics posted; the sites (a multiple choice) joined as "12,15"."""
    return {
        name.removeprefix(CHARACTERISTIC_PREFIX): ",".join(
            value.strip() for value in post.getlist(name) if value.strip()
        )
        for name in post
        if name.startswith(CHARACTERISTIC_PREFIX)
    }


# --- characteristics and prices of an offering ----------------------------------------------


@dataclass
class CharacteristicInput:
    """One characteristic of a product specification as a form input."""

    name: str
    description: str
    widget: str  # select, number, boolean, text
    choices: list[str]
    value: str
    default: str
    is_required: bool
    minimum: Decimal | None = None
    maximum: Decimal | None = None
    error: str = ""
    # The sites of an enterprise product: (id, label) of each site a PE serves.
    sites: list[tuple[str, str]] = field(default_factory=list)

    @property
    def chosen(self) -> list[str]:
        return sites_of({SITES: self.value})

    @property
    def input_name(self) -> str:
        return CHARACTERISTIC_PREFIX + self.name


def _characteristic_inputs(specification, values: dict, errors: dict) -> list[CharacteristicInput]:
    inputs = []
    for characteristic in specification.characteristics.all():
        allowed = [str(value) for value in characteristic.allowed_values or []]
        if allowed:
            widget = "select"
        elif characteristic.value_type == ValueType.NUMBER:
            widget = "number"
        elif characteristic.value_type == ValueType.BOOLEAN:
            widget = "boolean"
            allowed = ["true", "false"]
        else:
            widget = "text"
        name = characteristic.name
        sites = []
        if name == SITES:
            widget = "sites"
            sites = [
                (str(site.pk), f"{site.name} ({site.region.name})")
                for site in inventory_selectors.sites_with_edge_router()
            ]
        inputs.append(
            CharacteristicInput(
                name=name,
                description=characteristic.description,
                widget=widget,
                choices=allowed,
                value=str(values.get(name, characteristic.default_value) or ""),
                default=characteristic.default_value,
                is_required=characteristic.is_required,
                minimum=characteristic.min_value,
                maximum=characteristic.max_value,
                error=errors.get(CHARACTERISTIC_PREFIX + name, ""),
                sites=sites,
            )
        )
    return inputs


@dataclass
class PriceSummary:
    """An offering's prices in force now (catalog rows), and what the customer pays once,
    monthly, yearly: monthly and yearly prices are shown apart, as the offering states them."""

    prices: list[Model]
    currency: str = ""
    one_time: Decimal | None = None
    monthly: Decimal | None = None
    yearly: Decimal | None = None
    usage: list[Model] = field(default_factory=list)
    discounts: list[Model] = field(default_factory=list)


def _add(total: Decimal | None, amount: Decimal) -> Decimal:
    return amount if total is None else total + amount


def price_summary(offering: Model) -> PriceSummary:
    """Totals of the offering's prices in force; they come prefetched by
    `offerings_orderable_by` (the same rule as `offering_prices_in_force`)."""
    prices = list(offering.prices.all())
    summary = PriceSummary(prices=prices, currency=prices[0].currency if prices else "")
    for price in prices:
        if price.price_type == PriceType.ONE_TIME:
            summary.one_time = _add(summary.one_time, price.amount)
        elif price.price_type == PriceType.RECURRING:
            if price.recurring_period == RecurringPeriod.YEAR:
                summary.yearly = _add(summary.yearly, price.amount)
            else:
                summary.monthly = _add(summary.monthly, price.amount)
        elif price.price_type == PriceType.USAGE:
            summary.usage.append(price)
        elif price.price_type == PriceType.DISCOUNT:
            summary.discounts.append(price)
    return summary


def _configuration_context(offering, *, values=None, errors=None) -> dict:
    if offering is None:
        return {"offering": None}
    return {
        "offering": offering,
        "characteristics": _characteristic_inputs(
            offering.product_specification, values or {}, errors or {}
        ),
        "price": price_summary(offering),
    }


# --- new order --------------------------------------------------------------------------------


def order_new(request):
    """Choose an offering the customer may order, an account and the characteristics; submit."""
    source = request.POST if request.method == "POST" else request.GET
    customer = _customer_or_404(source.get("customer"))
    offerings = _orderable_offerings(customer)
    accounts = list(
        crm_selectors.billing_account_rows().filter(customer=customer).order_by("account_number")
    )
    offering = _find(offerings, source.get("offering"))
    account_id = source.get("billing_account", "")
    if not account_id and len(accounts) == 1:
        account_id = str(accounts[0].pk)
    values: dict[str, str] = {}
    errors: dict[str, str] = {}
    if request.method == "POST":
        values = _posted_characteristics(request.POST)
        item = ItemRequest(
            item_id=ITEM_ID,
            action=ItemAction.ADD,
            target_id=request.POST.get("offering", ""),
            characteristics=values,
        )
        submitted = _submit(
            request,
            customer,
            item,
            billing_account_id=account_id or None,
            description=_posted_description(request.POST),
            errors=errors,
        )
        if submitted is not None:
            return submitted
    context = {
        "customer": customer,
        "offerings": offerings,
        "accounts": accounts,
        "selected_account": account_id,
        "description": request.POST.get("description", ""),
        "errors": errors,
        **_configuration_context(offering, values=values, errors=errors),
    }
    return render(request, "orders/portal_order_new.html", context, status=400 if errors else 200)


def offering_configuration(request):
    """The characteristics and prices of one offering: the new-order form swaps it in live."""
    customer = _customer_or_404(request.GET.get("customer"))
    offering_id = request.GET.get("offering", "")
    offering = None
    if offering_id:
        offering = _find(_orderable_offerings(customer), offering_id)
        if offering is None:
            raise Http404("This customer cannot order that offering.")
    return render(request, "orders/portal_offering_config.html", _configuration_context(offering))


def order_feasibility(request):
    """Can the sites chosen on the new-order form be served at the bandwidth? One row per site
    (its PE, feasible or why not), swapped into the form before it is submitted."""
    sites = [site for site in request.GET.getlist("sites") if site.strip()]
    rows, error = [], ""
    try:
        demands = inventory_services.site_demands(
            [inventory_services.PlaceRequest(id=site) for site in sites],
            request.GET.get("bandwidth"),
            field_prefix="bandwidth",
        )
        rows = inventory_services.feasibility_check(demands)
    except DomainError as refused:
        error = refused.message
    return render(request, "orders/portal_order_feasibility.html", {"rows": rows, "error": error})


# --- the order and its progress ---------------------------------------------------------------


def _order_with_progress(pk: int) -> ProductOrder:
    return get_object_or_404(selectors.product_orders_with_progress(), pk=pk)


def _order_path(order: ProductOrder) -> list[dict]:
    """acknowledged -> inProgress -> completed (or the state it ended in), each marked done,
    current or to come, from the order's history."""
    visited = {change.to_state for change in order.history.all()}
    start = [OrderState.ACKNOWLEDGED, OrderState.IN_PROGRESS]
    end = OrderState.COMPLETED if order.state in start else order.state
    path = []
    for state in [*start, end]:
        css = "current" if state == order.state else "done" if state in visited else "todo"
        path.append({"state": state, "css": css})
    return path


def _progress_context(order: ProductOrder) -> dict:
    return {
        "order": order,
        "order_path": _order_path(order),
        "is_final": order.state in FINAL_ORDER_STATES,
        "refresh_ms": PROGRESS_REFRESH_MS,
    }


def order_detail(request, pk: int):
    """The order: header, items, live activation progress and history."""
    order = _order_with_progress(pk)
    return render(request, "orders/portal_order_detail.html", _progress_context(order))


def order_progress(request, pk: int):
    """The live part of the order page, polled until the order is final."""
    order = _order_with_progress(pk)
    return render(request, "orders/portal_order_progress.html", _progress_context(order))


# --- actions on a held product ------------------------------------------------------------------


@dataclass(frozen=True)
class ProductAction:
    """An order an agent can raise on a product from the customer 360 page."""

    slug: str
    label: str
    # The kind of change in `orders.services`, whose rule says which product statuses allow it.
    change: str
    explanation: str

    @property
    def statuses(self) -> set[str]:
        return ALLOWED_PRODUCT_STATUS[self.change]


PRODUCT_ACTIONS = {
    action.slug: action
    for action in (
        ProductAction(
            "change-plan",
            "Change plan",
            CHANGE,
            "Move the product to another offering; its services are modified in the network.",
        ),
        ProductAction(
            "configure",
            "Change configuration",
            CHANGE,
            "Change the product's characteristics (such as its bandwidth) in the network.",
        ),
        ProductAction(
            "suspend",
            "Suspend",
            SUSPEND,
            "Suspend the product: its services stop in the network until it is resumed.",
        ),
        ProductAction(
            "resume",
            "Resume",
            RESUME,
            "Resume the suspended product: its services start again.",
        ),
        ProductAction(
            "terminate",
            "Terminate",
            TERMINATE,
            "Terminate the product: its services are removed and its resources released.",
        ),
    )
}


def product_actions_for(status: str) -> list[ProductAction]:
    """The actions valid for a product in `status`, in display order."""
    return [action for action in PRODUCT_ACTIONS.values() if status in action.statuses]


def _product_or_404(pk: int) -> Model:
    return get_object_or_404(inventory_selectors.products_with_offering(), pk=pk)


def _product_action_item(action: ProductAction, product: Model, post) -> ItemRequest:
    """The order line that asks for `action` on `product` (TMF622 modify or delete)."""
    product_id = str(product.pk)
    if action.slug == "change-plan":
        return ItemRequest(
            item_id=ITEM_ID,
            action=ItemAction.MODIFY,
            target_id=post.get("offering", ""),
            product_id=product_id,
        )
    if action.slug == "configure":
        return ItemRequest(
            item_id=ITEM_ID,
            action=ItemAction.MODIFY,
            product_id=product_id,
            characteristics=_posted_characteristics(post),
        )
    if action.slug == "terminate":
        return ItemRequest(item_id=ITEM_ID, action=ItemAction.DELETE, product_id=product_id)
    status = ProductStatus.SUSPENDED if action.slug == "suspend" else ProductStatus.ACTIVE
    return ItemRequest(
        item_id=ITEM_ID, action=ItemAction.MODIFY, product_id=product_id, status=status
    )


def product_action(request, pk: int, action: str):
    """Confirm and raise an order that changes, suspends, resumes or terminates a product."""
    chosen = PRODUCT_ACTIONS.get(action)
    if chosen is None:
        raise Http404(f"Unknown product action '{action}'.")
    product = _product_or_404(pk)
    customer = product.customer
    errors: dict[str, str] = {}
    values = dict(product.characteristics)
    is_allowed = product.status in chosen.statuses
    if not is_allowed:
        errors["form"] = f"{chosen.label} is not possible: the product is {product.status}."
    elif (
        request.method == "POST"
        and chosen.slug == "change-plan"
        and not request.POST.get("offering")
    ):
        errors["offering"] = "Choose the new offering."
    elif request.method == "POST":
        if chosen.slug == "configure":
            values = _posted_characteristics(request.POST)
        submitted = _submit(
            request,
            customer,
            _product_action_item(chosen, product, request.POST),
            billing_account_id=str(product.billing_account_id),
            description=_posted_description(request.POST) or f"{chosen.label}: {product.name}",
            errors=errors,
        )
        if submitted is not None:
            return submitted
    context = {
        "product": product,
        "customer": customer,
        "action": chosen,
        "is_allowed": is_allowed,
        "errors": errors,
        "description": request.POST.get("description", ""),
    }
    if chosen.slug == "change-plan":
        context["offerings"] = [
            (offering, price_summary(offering))
            for offering in _orderable_offerings(customer)
            if offering.pk != product.product_offering_id
        ]
        context["selected_offering"] = request.POST.get("offering", "")
    elif chosen.slug == "configure":
        context["characteristics"] = _characteristic_inputs(
            product.product_offering.product_specification, values, errors
        )
    status = 409 if not is_allowed else 400 if errors else 200
    return render(request, "orders/portal_product_action.html", context, status=status)
