"""Rating one account-period: every charge of the account's products for [start, end)."""

from collections import defaultdict
from collections.abc import Callable
from datetime import datetime
from decimal import Decimal

from django.db.models import Model

from billing.choices import UsageStatus
from billing.models import CustomerBill, UsageEvent
from billing.services.charges import ChargeLine, discount_line, one_time_line, recurring_lines
from billing.services.credits import sla_credit_lines
from billing.services.periods import billable_interval, billing_period, unsuspended_seconds
from billing.services.usage_rating import late_usage_lines, usage_line
from catalog.choices import PriceType
from catalog.selectors import offering_prices_in_force
from inventory import selectors as inventory_selectors
from inventory.choices import ProductStatus
from telco.exceptions import DomainError

UNBILLED_USAGE = (UsageStatus.RECEIVED, UsageStatus.RATED)


def _unbilled_usage(
    *, account: Model, products: list[Model], start: datetime, end: datetime
) -> tuple[dict, dict]:
    """The unbilled usage of the products dated before `end`, locked: (usage of the period by
    (product id, rating group), late usage by (product id, rating group, period start, end))."""
    usage = defaultdict(list)
    late = defaultdict(list)
    billed = None  # the account's billed periods, read once if there is late usage
    rows = (
        UsageEvent.objects.select_for_update()
        .filter(product__in=products, usage_date__lt=end, status__in=UNBILLED_USAGE)
        .values_list("id", "product_id", "rating_group", "rated_volume", "usage_date")
        .order_by("id")
    )
    for event_id, product_id, rating_group, rated_volume, usage_date in rows:
        if usage_date >= start:
            usage[(product_id, rating_group)].append((event_id, rated_volume))
        else:
            if billed is None:
                billed = list(
                    CustomerBill.objects.filter(billing_account=account).values_list(
                        "period_start", "period_end"
                    )
                )
            # Its own period is the billed one it falls in, whatever the cycle day was then.
            period = next(
                ((s, e) for s, e in billed if s <= usage_date < e),
                billing_period(bill_cycle_day=account.bill_cycle_day, at=usage_date),
            )
            late[(product_id, rating_group, *period)].append((event_id, rated_volume))
    return usage, late


def rate_account_period(
    *, account: Model, products: list[Model], start: datetime, end: datetime
) -> list[ChargeLine]:
    """The charges of one account (crm's billing account) for [start, end). Locks the usage
    rows it charges.

    Usage dated before `start` that is still unbilled arrived after its own period was billed
    (late usage): it is charged here, see `late_usage_lines`. A monthly charge is prorated
    against the whole cycle period `start` lies in, so that a short transition period after a
    change of cycle day (see `account_periods`) charges only its share of the month.
    """
    usage, late = _unbilled_usage(account=account, products=products, start=start, end=end)
    suspended = inventory_selectors.product_status_intervals(
        products, status=ProductStatus.SUSPENDED, before=end
    )
    lines = period_lines(
        account=account,
        products=products,
        start=start,
        end=end,
        usage=usage,
        suspended=suspended,
        prices_at=lambda product, at: offering_prices_in_force(
            offering=product.product_offering, at=at
        ),
    )
    lines += late_usage_lines(products={p.pk: p for p in products}, late=late, start=start, end=end)
    # SLA credits recorded since the last bill (assurance records them when a period ends).
    lines += sla_credit_lines(products=products, end=end)
    check_currency(account=account, lines=lines)
    return lines


def check_currency(*, account: Model, lines: list[ChargeLine]) -> None:
    """Refuse lines priced in another currency than the account bills in (`DomainError`)."""
    for line in lines:
        if line.currency != account.currency:
            raise DomainError(
                f"Price '{line.name}' is in {line.currency} but account "
                f"{account.account_number} bills in {account.currency}."
            )


def period_lines(
    *,
    account: Model,
    products: list[Model],
    start: datetime,
    end: datetime,
    usage: dict[tuple[int, str], list[tuple[int, Decimal]]],
    suspended: dict[int, list[tuple[datetime, datetime | None]]],
    prices_at: Callable[[Model, datetime], list[Model]],
) -> list[ChargeLine]:
    """The recurring, one-time, usage and discount lines of the products for [start, end),
    from what the caller read: the period's unbilled usage by (product id, rating group),
    the products' suspensions, and `prices_at(product, at)`, the prices of its offering in
    force at `at`. No query of its own: a bill run rates a chunk of accounts with it."""
    cycle_start, cycle_end = billing_period(bill_cycle_day=account.bill_cycle_day, at=start)
    period_seconds = Decimal((cycle_end - cycle_start).total_seconds())
    lines = []
    for product in products:
        interval = billable_interval(product, start, end)
        if interval is None:
            continue
        billable_from, _ = interval
        charged_seconds = unsuspended_seconds(interval, suspended.get(product.id, []))
        # The price in force when the product first became billable in this period: a later
        # price change applies to later periods and never rewrites this one.
        prices = prices_at(product, billable_from)
        recurring = []
        for price in prices:
            if price.price_type == PriceType.RECURRING:
                charges = recurring_lines(
                    product=product,
                    price=price,
                    interval=interval,
                    charged_seconds=charged_seconds,
                    start=start,
                    period_seconds=period_seconds,
                )
                recurring += charges
                lines += charges
            elif price.price_type == PriceType.ONE_TIME and start <= product.start_date < end:
                lines.append(one_time_line(product=product, price=price))
            elif price.price_type == PriceType.USAGE:
                events = usage.get((product.id, price.rating_group))
                if not events:
                    continue  # no usage, no line; usage within the allowance shows as 0.00
                lines.append(
                    usage_line(
                        product=product,
                        price=price,
                        events=events,
                        already_used=Decimal(0),
                        key=f"usage:{product.id}:{price.rating_group}:{start:%Y%m%d}",
                        date=end,
                    )
                )
        for price in prices:
            if price.price_type == PriceType.DISCOUNT and recurring:
                discount = discount_line(
                    bill_cycle_day=account.bill_cycle_day,
                    product=product,
                    price=price,
                    recurring=recurring,
                    fraction=charged_seconds / period_seconds,
                    start=start,
                )
                if discount is not None:
                    lines.append(discount)
    return lines
