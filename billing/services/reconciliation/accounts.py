"""Inventory against billing, over a slice of product ids: what is delivered but not billed,
billed but not delivered, billed at another price than the catalog's, or not billed at all
for a period that was billed. A few set-based reads per slice, compared in memory."""

from collections import defaultdict
from datetime import timedelta
from decimal import Decimal

from django.conf import settings
from django.db.models import Q

from billing.choices import CaseKind, ChargeType
from billing.models import AppliedCharge, CustomerBill
from billing.services.cases import Finding
from billing.services.periods import BILLABLE_STATUSES
from catalog.choices import PriceType, RecurringPeriod
from catalog.selectors import launched_prices_of, price_valid_at
from inventory import selectors as inventory_selectors
from inventory import services as inventory_services
from inventory.choices import ProductStatus
from telco.money import round_money, round_rating

BILLING_KINDS = (
    CaseKind.ACTIVE_NOT_BILLABLE,
    CaseKind.BILLABLE_NOT_ACTIVE,
    CaseKind.PRICE_MISMATCH,
    CaseKind.RECURRING_MISSING,
)
RECURRING_KEY = "recurring:"
# A line is rated from a quantity kept to 6 places, then rounded to the currency: a cent
# either way is rounding, not a price.
TOLERANCE = Decimal("0.01")


def _is_billable(product) -> bool:
    return product.status in BILLABLE_STATUSES and product.start_date is not None


def _recurring_in_force(prices: list, at) -> list:
    return [p for p in prices if p.price_type == PriceType.RECURRING and price_valid_at(p, at)]


def monthly_price(prices: list, at) -> Decimal:
    """What the offering's recurring prices in force at `at` come to per month."""
    total = Decimal(0)
    for price in _recurring_in_force(prices, at):
        yearly = price.recurring_period == RecurringPeriod.YEAR
        total += price.amount / 12 if yearly else price.amount
    return round_rating(total)


def billing_findings(*, first_id: int, last_id: int, as_of) -> tuple[list[Finding], Q]:
    products = list(
        inventory_services.products_with_service_state(first_id=first_id, last_id=last_id).only(
            "pk",
            "name",
            "status",
            "start_date",
            "termination_date",
            "billing_account_id",
            "product_offering_id",
        )
    )
    prices_of = defaultdict(list)
    for price in launched_prices_of({p.product_offering_id for p in products}):
        prices_of[price.product_offering_id].append(price)
    findings = _state_findings(products, prices_of, as_of)
    since = as_of - timedelta(days=int(getattr(settings, "RECONCILIATION_BILLED_DAYS", 93)))
    # The slice's recurring lines billed since then, read once (by the id range: an index
    # range scan rather than a list of thousands of ids).
    lines = list(
        AppliedCharge.objects.filter(
            product_id__gte=first_id,
            product_id__lte=last_id,
            charge_type=ChargeType.RECURRING,
            charge_key__startswith=RECURRING_KEY,
            period_end__gte=since,
        )
        .order_by("period_start", "id")
        .values_list(
            "product_id",
            "charge_key",
            "unit",
            "quantity",
            "tax_excluded_amount",
            "date",
            "currency",
            "period_start",
            "bill_id",
        )
    )
    findings += _price_findings(products, prices_of, lines)
    findings += _missing_recurring(products, prices_of, lines, since, as_of)
    scope = Q(kind__in=BILLING_KINDS, product_id__gte=first_id, product_id__lte=last_id)
    return findings, scope


def _links(product) -> dict:
    return {
        "product_id": product.pk,
        "billing_account_id": product.billing_account_id,
        "currency": product.account_currency,
    }


def _state_findings(products, prices_of, as_of) -> list[Finding]:
    """Active service, product not billable; billable (active) product, no active service."""
    findings = []
    for product in products:
        if not product.has_services:
            continue  # no network service realises it (a bundle's own product, a fee)
        at_risk = monthly_price(prices_of[product.product_offering_id], as_of)
        if product.has_active_service and not _is_billable(product):
            findings.append(
                Finding(
                    kind=CaseKind.ACTIVE_NOT_BILLABLE,
                    fingerprint=f"{CaseKind.ACTIVE_NOT_BILLABLE}:{product.pk}",
                    summary=(
                        f"{product.name} is delivered (service active since "
                        f"{product.active_since:%Y-%m-%d}) but {product.status}"
                        + (", never started" if product.start_date is None else "")
                        + ": not billed."
                    ),
                    amount_at_risk=at_risk,
                    evidence={
                        "productStatus": product.status,
                        "productStartDate": _iso(product.start_date),
                        "serviceActiveSince": _iso(product.active_since),
                    },
                    **_links(product),
                )
            )
        elif product.status == ProductStatus.ACTIVE and not product.has_active_service:
            findings.append(
                Finding(
                    kind=CaseKind.BILLABLE_NOT_ACTIVE,
                    fingerprint=f"{CaseKind.BILLABLE_NOT_ACTIVE}:{product.pk}",
                    summary=f"{product.name} is billed but none of its services is active.",
                    amount_at_risk=at_risk,
                    evidence={"productStatus": product.status},
                    **_links(product),
                )
            )
    return findings


def _iso(moment) -> str | None:
    return moment.isoformat() if moment else None


def _price_findings(products, prices_of, lines) -> list[Finding]:
    """Recurring lines whose amount is not the catalog's price in force for the period times
    the share of it charged (the bill run's own proration)."""
    by_id = {p.pk: p for p in products}
    findings = []
    for product_id, key, unit, quantity, charged, at, currency, period_start, _ in lines:
        product = by_id[product_id]
        key_price_id = int(key.split(":")[2])
        in_force = [
            p
            for p in _recurring_in_force(prices_of[product.product_offering_id], at)
            if p.recurring_period == unit
        ]
        catalog = next((p for p in in_force if p.pk == key_price_id), None) or next(
            iter(in_force), None
        )
        catalog_amount = catalog.amount if catalog else Decimal(0)
        share = Decimal(1) if unit == RecurringPeriod.YEAR else quantity
        expected = round_money(catalog_amount * share, currency)
        if abs(charged - expected) <= TOLERANCE + catalog_amount * Decimal("0.000001"):
            continue
        per_period = charged / share if share else charged
        difference = abs(catalog_amount - per_period)
        if unit == RecurringPeriod.YEAR:
            difference /= 12
        findings.append(
            Finding(
                kind=CaseKind.PRICE_MISMATCH,
                fingerprint=f"{CaseKind.PRICE_MISMATCH}:{product_id}:{key_price_id}",
                summary=(
                    f"{product.name} billed {charged} {currency} for the period from "
                    f"{period_start:%Y-%m-%d}; the catalog price in force gives {expected}."
                ),
                amount_at_risk=round_money(difference, currency),
                evidence={
                    "chargeKey": key,
                    "periodStart": _iso(period_start),
                    "quantity": str(quantity),
                    "charged": str(charged),
                    "expected": str(expected),
                    "catalogPrice": str(catalog_amount),
                    "catalogPriceId": catalog.pk if catalog else None,
                },
                **_links(product),
            )
        )
    return findings


def _missing_recurring(products, prices_of, lines, since, as_of) -> list[Finding]:
    """Bills (periods ended since `since`) of the products' accounts that carry no recurring
    line of a product that was billable for the whole period, with a monthly price then, and
    never suspended in it."""
    candidates = [p for p in products if _is_billable(p)]
    if not candidates:
        return []
    by_account = defaultdict(list)
    for product in candidates:
        by_account[product.billing_account_id].append(product)
    bills = list(
        CustomerBill.objects.filter(
            billing_account_id__in=by_account, period_end__gte=since, period_end__lte=as_of
        ).values_list("pk", "billing_account_id", "period_start", "period_end")
    )
    if not bills:
        return []
    charged = {(line[0], line[8]) for line in lines}
    suspended = inventory_selectors.product_status_intervals(
        candidates, status=ProductStatus.SUSPENDED, before=as_of
    )
    findings = []
    for bill_id, account_id, start, end in bills:
        for product in by_account[account_id]:
            if (product.pk, bill_id) in charged:
                continue
            if product.start_date > start or (
                product.termination_date is not None and product.termination_date < end
            ):
                continue  # not billable through the whole period
            if any(s < end and (u is None or u > start) for s, u in suspended.get(product.pk, [])):
                continue
            monthly = [
                p
                for p in _recurring_in_force(prices_of[product.product_offering_id], start)
                if p.recurring_period == RecurringPeriod.MONTH
            ]
            if not monthly:
                continue
            amount = sum((p.amount for p in monthly), Decimal(0))
            findings.append(
                Finding(
                    kind=CaseKind.RECURRING_MISSING,
                    fingerprint=f"{CaseKind.RECURRING_MISSING}:{product.pk}:{start:%Y%m%d}",
                    summary=(
                        f"{product.name} was billable through {start:%Y-%m-%d} to "
                        f"{end:%Y-%m-%d}, billed, without its recurring charge."
                    ),
                    amount_at_risk=amount,
                    evidence={
                        "bill": bill_id,
                        "periodStart": _iso(start),
                        "periodEnd": _iso(end),
                        "catalogPrice": str(amount),
                    },
                    **_links(product),
                )
            )
    return findings
