"""Order requests (ItemRequest, PartyRequest) and the validation of product orders (TMF622)."""

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from django.db.models import Model

from billing import selectors as billing_selectors
from catalog import selectors as catalog_selectors
from catalog import services as catalog_services
from catalog.choices import ResourceKind
from crm import selectors as crm_selectors
from inventory import selectors as inventory_selectors
from inventory import services as inventory_services
from inventory.choices import ProductStatus, ServiceState
from orders.choices import FINAL_ORDER_STATES, ItemAction
from orders.models import ProductOrderItem
from orders.services import enterprise
from telco.exceptions import DomainError, NotFound
from telco.ids import parse_id
from telco.selectors import row_with_id

# Product statuses each change needs (suspend only active, resume only suspended, ...).
SUSPEND, RESUME, CHANGE, TERMINATE = "suspend", "resume", "change", "terminate"
ALLOWED_PRODUCT_STATUS = {
    SUSPEND: {ProductStatus.ACTIVE},
    RESUME: {ProductStatus.SUSPENDED},
    CHANGE: {ProductStatus.ACTIVE},
    TERMINATE: {ProductStatus.ACTIVE, ProductStatus.SUSPENDED},
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
class CheckedItem:
    """A validated product order line, ready to be written: the offering it sells (catalog), the
    product it changes (inventory, None for add)."""

    request: ItemRequest
    offering: Model
    characteristics: dict[str, str]
    product: Model | None = None
    change: str = ""  # "" for add; change / suspend / resume / terminate
    target_status: str = ""


# ---------------------------------------------------------------------------------------------
# Product orders (TMF622): validation
# ---------------------------------------------------------------------------------------------


def customer_from_parties(parties: list[PartyRequest]) -> Model:
    """The order's customer from its relatedParty: Customer -> that customer;
    Individual/Organization -> the party's customer. DomainError naming the party if none."""
    for index, party in enumerate(parties):
        field_name = f"relatedParty[{index}].id"
        if party.referred_type == "Customer":
            try:
                return crm_selectors.customer_get(customer_id=party.id)
            except NotFound as error:
                raise DomainError(error.message, field=field_name) from None
        if party.referred_type in ("Individual", "Organization"):
            party_pk = parse_id(party.id)
            if party_pk is None or not crm_selectors.party_exists(party_id=party_pk):
                raise DomainError(f"Party '{party.id}' does not exist.", field=field_name)
            customer = crm_selectors.customer_of_party(party_id=party_pk)
            if customer is None:
                raise DomainError(f"Party '{party.id}' is not a customer.", field=field_name)
            return customer
    raise DomainError(
        "Name the customer: a relatedParty with @referredType Customer, Individual or "
        "Organization.",
        field="relatedParty",
    )


def billing_account_for(customer: Model, account_id: str | None) -> Model:
    """The billing account the order names, which must be the customer's; none named: the
    customer's only account. DomainError naming billingAccount otherwise."""
    if account_id is None:
        accounts = list(
            crm_selectors.billing_account_rows().filter(customer=customer).order_by("pk")[:2]
        )
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


def monthly_recurring(offering: Model, at: datetime, characteristics: dict) -> Decimal:
    """What the offering charges a month a product with these characteristics (yearly prices
    spread over 12 months; a price per site once per site they name)."""
    prices = catalog_selectors.offering_prices_in_force(offering=offering, at=at)
    return sum(
        (price.amount_per_month * price.units_in(characteristics) for price in prices),
        Decimal("0"),
    )


def check_account_standing(account: Model, new_monthly: Decimal) -> None:
    """Selling more needs an account in good standing: active, nothing overdue, within credit."""
    field_name = "billingAccount.id"
    if account.state != "active":
        raise DomainError(
            f"Billing account {account.account_number} is {account.state}: it cannot order.",
            field=field_name,
        )
    balance, overdue = billing_selectors.account_standing(account)
    if overdue > 0:
        raise DomainError(
            f"Billing account {account.account_number} has {overdue:.2f} {account.currency} "
            "overdue: it must be paid before ordering.",
            field=field_name,
        )
    if account.credit_limit > 0 and balance + new_monthly > account.credit_limit:
        raise DomainError(
            f"Credit limit exceeded: balance {balance:.2f} plus {new_monthly:.2f} a month "
            f"is over the limit of {account.credit_limit:.2f} {account.currency}.",
            field=field_name,
        )


def needs_kind(service_specifications, kind: str) -> bool:
    """Whether realising these service specifications binds a resource of `kind`."""
    return any(
        resource_spec.resource_kind == kind
        for spec in _realising_specifications(service_specifications)
        for resource_spec in spec.resource_specifications.all()
    )


def needs_gnb(service_specifications) -> bool:
    """Whether realising these service specifications binds gNB capacity (a 5G service)."""
    return needs_kind(service_specifications, ResourceKind.GNB)


def needs_fibre(service_specifications) -> bool:
    """Whether realising these service specifications registers an ONT (a fibre line)."""
    return needs_kind(service_specifications, ResourceKind.ONT)


def check_fibre_feasible(*, customer, field_name: str) -> None:
    """Is there a PON port with a free ONT id for a fibre line? 400 naming `field_name`."""
    if not inventory_services.ftth_is_feasible(customer=customer):
        raise DomainError(
            "Not feasible: no OLT has a free PON port with a BNG behind it.", field=field_name
        )


def _realising_specifications(service_specifications) -> list[Model]:
    """The specifications that bind resources: each CFS's RFS children, or the CFS itself."""
    result = []
    for spec in service_specifications:
        children = list(spec.supporting_specifications.all())
        result.extend(children or [spec])
    return result


def _bandwidth(value, field_name: str) -> int:
    """The bandwidth in Mbps; a malformed value is refused naming `field_name`."""
    try:
        return inventory_services.bandwidth_mbps(value)
    except DomainError as error:
        raise DomainError(error.message, field=field_name) from None


def check_feasible(*, characteristics: dict, customer, prefix: str) -> None:
    """Is there a gNB able to carry the bandwidth? 400 naming the bandwidth when not."""
    field_name = f"{prefix}.bandwidth"
    bandwidth = _bandwidth(characteristics.get("bandwidth"), field_name)
    if not inventory_services.capacity_is_feasible(bandwidth=bandwidth, customer=customer):
        raise DomainError(
            f"Not feasible: no gNB has {bandwidth} Mbps of free capacity.", field=field_name
        )


def _offering_for(target_id: str, customer: Model, field_name: str) -> Model:
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


def _validated_characteristics(offering: Model, values: dict, prefix: str) -> dict:
    try:
        return catalog_services.characteristics_validate(
            product_specification=offering.product_specification, values=values
        )
    except DomainError as error:
        raise DomainError(error.message, field=f"{prefix}.{error.field}") from None


def check_add_item(item: ItemRequest, customer: Model, prefix: str) -> CheckedItem:
    """An add line: a launched offering the customer may buy, with valid characteristics (a
    bundle's spread over its bundled offerings)."""
    if not item.target_id:
        raise DomainError("Name the product offering to add.", field=f"{prefix}.productOffering")
    offering = _offering_for(item.target_id, customer, f"{prefix}.productOffering.id")
    characteristics_prefix = f"{prefix}.product.productCharacteristic"
    if not offering.is_bundle:
        values = _validated_characteristics(offering, item.characteristics, characteristics_prefix)
        return CheckedItem(request=item, offering=offering, characteristics=values)
    # A bundle: one product per bundled offering; each takes the characteristics it knows.
    values = {}
    known = set()
    for bundled in bundled_offerings(offering):
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
    return CheckedItem(request=item, offering=offering, characteristics=values)


def bundled_offerings(offering: Model) -> list[Model]:
    """The offerings a bundle offering bundles, with their specification, in id order."""
    return list(offering.bundled_offerings.select_related("product_specification").order_by("pk"))


def characteristics_known_to(offering: Model, values: dict) -> dict:
    """The `values` whose names the offering's product specification knows."""
    names = set(offering.product_specification.characteristics.values_list("name", flat=True))
    return {name: value for name, value in values.items() if name in names}


def item_target(rows, raw_id: str, *, noun: str, action: str, field: str):
    """The product or service a modify/delete item changes, by the id it names; refused at
    `field` when the id is missing or unknown."""
    if not raw_id:
        raise DomainError(f"A '{action}' item names the {noun.lower()} to change.", field=field)
    row = row_with_id(rows, raw_id)
    if row is None:
        raise DomainError(f"{noun} '{raw_id}' does not exist.", field=field)
    return row


def check_no_order_in_progress(items, *, noun: str, raw_id: str, field: str) -> None:
    """Refuse a change while another order item on the same product or service is not final."""
    if items.exclude(state__in=FINAL_ORDER_STATES).exists():
        raise DomainError(f"{noun} '{raw_id}' already has an order in progress.", field=field)


def _product_for(item: ItemRequest, customer: Model, prefix: str) -> Model:
    field_name = f"{prefix}.product.id"
    product = item_target(
        inventory_selectors.products_with_offering(),
        item.product_id,
        noun="Product",
        action=item.action,
        field=field_name,
    )
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
    check_no_order_in_progress(
        ProductOrderItem.objects.filter(product=product),
        noun="Product",
        raw_id=item.product_id,
        field=field_name,
    )
    return product


CHANGE_VERBS = {
    SUSPEND: "suspended",
    RESUME: "resumed",
    CHANGE: "modified",
    TERMINATE: "terminated",
}


def _check_status(product: Model, change: str, prefix: str) -> None:
    if product.status in ALLOWED_PRODUCT_STATUS[change]:
        return
    needed = " or ".join(sorted(ALLOWED_PRODUCT_STATUS[change]))
    raise DomainError(
        f"Product {product.pk} is {product.status}: only a product that is {needed} can be "
        f"{CHANGE_VERBS[change]}.",
        field=f"{prefix}.product.status",
    )


def check_change_item(item: ItemRequest, customer: Model, prefix: str) -> CheckedItem:
    """modify (plan, characteristics, suspend, resume) or delete of an existing product."""
    product = _product_for(item, customer, prefix)
    current = product.product_offering
    if item.action == ItemAction.DELETE:
        _check_status(product, TERMINATE, prefix)
        return CheckedItem(
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
        return CheckedItem(
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
    # What the product has and the new plan allows is kept; a value the new plan does not
    # offer (Fibre 500's 500Mbps on Fibre 1000) gives way to the plan's default.
    allowed = {
        each.name: [str(value) for value in each.allowed_values or []]
        for each in offering.product_specification.characteristics.all()
    }
    kept = {
        name: value
        for name, value in product.characteristics.items()
        if name in allowed and (not allowed[name] or str(value) in allowed[name])
    }
    values = _validated_characteristics(
        offering, {**kept, **item.characteristics}, f"{prefix}.product.productCharacteristic"
    )
    if values == product.characteristics and offering == current:
        raise DomainError(
            f"Nothing to change: product {product.pk} already has this configuration.",
            field=f"{prefix}.product",
        )
    if values.get("bandwidth") != product.characteristics.get("bandwidth"):
        check_can_adjust(
            product.services.filter(parent__isnull=True).exclude(state=ServiceState.TERMINATED),
            values.get("bandwidth"),
            f"{prefix}.product.productCharacteristic.bandwidth",
        )
    return CheckedItem(
        request=item,
        offering=offering,
        characteristics=values,
        product=product,
        change=CHANGE,
    )


def check_can_adjust(services, bandwidth_value, field_name: str) -> None:
    """Can the gNB of each service (an enterprise service: every site's port and links) hold
    its new bandwidth? 400 naming the bandwidth when not."""
    bandwidth = _bandwidth(bandwidth_value, field_name)
    for service in services:
        if not inventory_services.capacity_can_adjust(service=service, bandwidth=bandwidth):
            if enterprise.needs_site_access([service.service_specification]):
                message = f"a port or link of a site of {service.name} lacks {bandwidth} Mbps"
            else:
                message = f"the gNB of {service.name} has not {bandwidth} Mbps free"
            raise DomainError(f"Not feasible: {message}.", field=field_name)


def check_relationships(items: list[ItemRequest]) -> None:
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
