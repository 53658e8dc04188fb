"""Billing writes: usage ingest, rating, bill runs that turn charges into numbered bills."""

import logging
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.db import IntegrityError, InterfaceError, OperationalError, transaction
from django.db.models import Exists, F, OuterRef, ProtectedError, Q, Sum
from django.utils.text import slugify

from billing.choices import (
    BILL_ON_DEMAND_TRANSITIONS,
    BILL_TRANSITIONS,
    CLIENT_SETTABLE_BILL_STATES,
    PAYABLE_BILL_STATES,
    PAYMENT_TRANSITIONS,
    BillOnDemandState,
    BillRunState,
    BillState,
    ChargeType,
    PaymentMethodType,
    PaymentState,
    UsageRejectionReason,
    UsageStatus,
)
from billing.models import (
    AppliedCharge,
    BillRun,
    BillRunFailure,
    BillSequence,
    CustomerBill,
    CustomerBillOnDemand,
    CustomerBillOnDemandStateChange,
    CustomerBillStateChange,
    Payment,
    PaymentAllocation,
    UsageEvent,
    UsageSpecification,
)
from catalog.choices import PriceType, RecurringPeriod
from catalog.models import ProductOfferingPrice
from catalog.selectors import offering_prices_in_force
from crm.models import BillingAccount
from inventory.choices import ProductStatus
from inventory.models import ProductInstance, ProductStatusChange, Service
from telco import clock
from telco.exceptions import Conflict, DomainError, NotFound
from telco.money import CURRENCY_EXPONENTS, plain_decimal, round_money, round_rating
from telco.selectors import row_with_id
from telco.states import check_transition, transition

logger = logging.getLogger(__name__)

# Units a network may report volume in, as a number of bytes (decimal prefixes: 1 GB = 10^9 B).
UNIT_BYTES = {
    "bytes": Decimal(1),
    "KB": Decimal(10) ** 3,
    "MB": Decimal(10) ** 6,
    "GB": Decimal(10) ** 9,
}
RATED_VOLUME_PLACES = Decimal("0.000001")  # UsageEvent.rated_volume keeps 6 decimals
# Volumes the usage columns hold (20 digits, 6 of them decimals): anything larger is refused.
MAX_VOLUME = Decimal(10) ** 14

# Statuses in which a product that has started is charged (until its termination_date).
BILLABLE_STATUSES = (
    ProductStatus.ACTIVE,
    ProductStatus.SUSPENDED,
    ProductStatus.PENDING_TERMINATE,
    ProductStatus.TERMINATED,
)
UNBILLED_USAGE = (UsageStatus.RECEIVED, UsageStatus.RATED)
BILL_SEQUENCE = "INV"
PAYMENT_TERMS = timedelta(days=14)
ACCOUNTS_PER_CHUNK = 200


# --- Usage ---------------------------------------------------------------------------------


def _convert_volume(volume: Decimal, unit: str, to_unit: str) -> Decimal:
    """`volume` in `unit` expressed in `to_unit`, exact Decimal arithmetic, 6 places."""
    converted = volume * UNIT_BYTES[unit] / UNIT_BYTES[to_unit]
    return converted.quantize(RATED_VOLUME_PLACES)


def usage_ingest(
    *,
    event_id: str = "",
    service_id: str = "",
    usage_date: datetime | None = None,
    volume: Decimal | None = None,
    unit: str = "",
    rating_group: str = "",
    usage_type: str = "data",
    usage_specification_id: str = "",
) -> tuple[UsageEvent, bool]:
    """Store one usage record, always; the same `event_id` again returns the stored one
    (created=False).

    A record is `received`, and the bill run charges it, when it has an event id, a date, a
    volume in a known unit and a service whose product is active and started by `usage_date`
    and whose offering prices the rating group; the volume is normalised to that price's unit
    into `rated_volume`. Any other record is stored `rejected` with the reason, never billed.
    Refused (DomainError, nothing stored): a usage specification that does not exist, and a
    volume too large to store once normalised.
    """
    if event_id:
        existing = UsageEvent.objects.filter(event_id=event_id).first()
        if existing is not None:
            return existing, False
    specification = None
    if usage_specification_id:
        specification = UsageSpecification.objects.filter(pk=usage_specification_id).first()
        if specification is None:
            raise DomainError(
                f"Usage specification '{usage_specification_id}' does not exist.",
                field="usageSpecification.id",
            )
    event = UsageEvent(
        event_id=event_id or None,
        usage_date=usage_date,
        usage_type=usage_type,
        usage_specification=specification,
        rating_group=rating_group,
        volume=volume,
        unit=unit,
    )
    rejection = _guide_usage(event, service_id)
    if rejection is not None:
        event.status = UsageStatus.REJECTED
        event.rejection_reason, event.rejection_message = rejection
    try:
        # The savepoint lets a concurrent twin's unique violation fall back to reading its row.
        with transaction.atomic():
            event.save()
    except IntegrityError:
        existing = UsageEvent.objects.filter(event_id=event_id).first() if event_id else None
        if existing is None:
            raise
        return existing, False
    return event, True


def _guide_usage(event: UsageEvent, service_id: str) -> tuple[str, str] | None:
    """Fill in the record's service, product, account and rated volume as far as they can be
    found; why the record cannot be charged, as (reason, message), or None when it can."""
    service = None
    if service_id:
        service = row_with_id(
            Service.objects.select_related("product__product_offering", "parent__product"),
            service_id,
        )
    product = None
    if service is None:
        event.reported_service_id = service_id
    else:
        event.service = service
        product = service.product or (service.parent.product if service.parent else None)
        if product is not None:
            event.product = product
            event.billing_account_id = product.billing_account_id
    given = (
        ("usageDate", event.usage_date),
        ("usageCharacteristic.eventId", event.event_id),
        ("usageCharacteristic.serviceId", service_id),
        ("usageCharacteristic.volume", event.volume),
        ("usageCharacteristic.unit", event.unit),
        ("usageCharacteristic.ratingGroup", event.rating_group),
    )
    missing = [name for name, value in given if value is None or value == ""]
    if missing:
        return UsageRejectionReason.MISSING_ATTRIBUTE, f"Missing {', '.join(missing)}."
    if event.unit not in UNIT_BYTES:
        return (
            UsageRejectionReason.UNKNOWN_UNIT,
            f"Unit '{event.unit}' is not one of {', '.join(UNIT_BYTES)}.",
        )
    if service is None:
        return UsageRejectionReason.UNKNOWN_SERVICE, f"Service '{service_id}' does not exist."
    if product is None or product.status != ProductStatus.ACTIVE or product.start_date is None:
        return (
            UsageRejectionReason.NO_BILLABLE_PRODUCT,
            f"Service '{service_id}' has no active product to charge.",
        )
    if event.usage_date < product.start_date:
        return (
            UsageRejectionReason.NO_BILLABLE_PRODUCT,
            f"Usage is dated before the product started ({product.start_date.isoformat()}).",
        )
    price = _usage_price(product=product, rating_group=event.rating_group, at=event.usage_date)
    if price is None:
        return (
            UsageRejectionReason.UNPRICED_RATING_GROUP,
            f"Rating group '{event.rating_group}' is not priced on '{product.product_offering}'.",
        )
    if price.unit_of_measure not in UNIT_BYTES:
        return (
            UsageRejectionReason.UNPRICED_RATING_GROUP,
            f"The usage price is in '{price.unit_of_measure}', which volume cannot convert to.",
        )
    # Compared before rounding: a number too large for the column is too large to round too.
    factor = UNIT_BYTES[event.unit] / UNIT_BYTES[price.unit_of_measure]
    if (
        event.volume * factor >= MAX_VOLUME
        or _convert_volume(event.volume, event.unit, price.unit_of_measure) >= MAX_VOLUME
    ):
        raise DomainError(
            f"{plain_decimal(event.volume)} {event.unit} is too large to store in "
            f"{price.unit_of_measure}.",
            field="usageCharacteristic.volume",
        )
    event.rated_volume = _convert_volume(event.volume, event.unit, price.unit_of_measure)
    return None


def _usage_price(
    *, product: ProductInstance, rating_group: str, at: datetime
) -> ProductOfferingPrice | None:
    prices = offering_prices_in_force(offering=product.product_offering, at=at)
    return next(
        (p for p in prices if p.price_type == PriceType.USAGE and p.rating_group == rating_group),
        None,
    )


def parse_volume(raw) -> Decimal:
    """A volume characteristic as a non-negative finite Decimal; ValueError otherwise."""
    if isinstance(raw, bool) or raw is None:
        raise ValueError("must be a number")
    try:
        value = Decimal(str(raw))
    except InvalidOperation:
        raise ValueError("must be a number") from None
    if not value.is_finite() or value < 0:
        raise ValueError("must be a number of zero or more")
    # Rounded as the column stores it, so what is checked here is what the database gets.
    if value >= MAX_VOLUME or value.quantize(RATED_VOLUME_PLACES) >= MAX_VOLUME:
        raise ValueError(f"must be less than {plain_decimal(MAX_VOLUME)}")
    return value.quantize(RATED_VOLUME_PLACES)


# --- Usage specifications ------------------------------------------------------------------

USAGE_SPECIFICATION_FIELDS = (
    "name",
    "description",
    "version",
    "lifecycle_status",
    "valid_from",
    "valid_to",
    "spec_characteristics",
)


def _specification_id(name: str) -> str:
    """A free id made from the name: `Data session` -> `data-session` (then -2, -3...)."""
    base = slugify(name)[:36] or "usage-specification"
    candidate, count = base, 1
    while UsageSpecification.objects.filter(pk=candidate).exists():
        count += 1
        candidate = f"{base}-{count}"
    return candidate


def _check_specification_name(name: str, *, other_than: str | None = None) -> None:
    taken = UsageSpecification.objects.filter(name=name).exclude(pk=other_than)
    if taken.exists():
        raise DomainError(f"A usage specification is already named '{name}'.", field="name")


def usage_specification_create(**values) -> UsageSpecification:
    """Record a usage specification (`USAGE_SPECIFICATION_FIELDS`); its id comes from its
    name, which is unique. Without a name, the id is generated and becomes the name too."""
    with transaction.atomic():
        name = values.get("name") or ""
        if name:
            _check_specification_name(name)
        specification = UsageSpecification(
            id=_specification_id(name), last_update=clock.now(), **values
        )
        specification.name = name or specification.id
        specification.save()
    return specification


def usage_specification_update(
    *, specification: UsageSpecification, **values
) -> UsageSpecification:
    """Change a usage specification's attributes (merge patch); its id stays."""
    unknown = set(values) - set(USAGE_SPECIFICATION_FIELDS)
    if unknown:
        raise ValueError(f"Not usage specification fields: {sorted(unknown)}")
    with transaction.atomic():
        if "name" in values:
            _check_specification_name(values["name"], other_than=specification.pk)
        for name, value in values.items():
            setattr(specification, name, value)
        specification.last_update = clock.now()
        valid_from, valid_to = specification.valid_from, specification.valid_to
        if valid_from and valid_to and valid_to <= valid_from:
            raise DomainError("Must be after startDateTime.", field="validFor.endDateTime")
        specification.save(update_fields=[*values, "last_update"])
    return specification


def usage_specification_delete(*, specification: UsageSpecification) -> None:
    """Delete a usage specification no usage record names (one that is named: 409)."""
    try:
        specification.delete()
    except ProtectedError:
        raise Conflict(
            f"Usage specification '{specification.pk}' is named by usage records.", field="id"
        ) from None


# --- Billing periods -----------------------------------------------------------------------


def _add_months(moment: datetime, months: int) -> datetime:
    index = moment.year * 12 + moment.month - 1 + months
    return moment.replace(year=index // 12, month=index % 12 + 1)


def billing_period(*, bill_cycle_day: int, at: datetime) -> tuple[datetime, datetime]:
    """The half-open period [start, end) containing `at`; periods start on the cycle day, UTC."""
    at = at.astimezone(UTC)
    start = datetime(at.year, at.month, bill_cycle_day, tzinfo=UTC)
    if at < start:
        start = _add_months(start, -1)
    return start, _add_months(start, 1)


def account_periods(
    *, bill_cycle_day: int, since: datetime, billed: list[tuple[datetime, datetime]], as_of: date
) -> list[tuple[datetime, datetime]]:
    """The periods [start, end) still to bill, in order: from the one `since` (the account's
    first product start) falls in, up to the last that ended on or before `as_of`.

    Periods run from one cycle day to the next. A billed period stays as it was billed, even
    on a former cycle day: the period after it starts where it ended and runs to the next
    cycle day, a short transition period (a day at the least; `_rate_period` prorates it
    against the whole cycle period it lies in). So a change of cycle day never makes a period
    overlap a billed one, nor leaves a gap between them. A usage allowance applies whole to
    each bill period, a transition included, as it does to a product's first partial period.
    """
    billed = sorted(billed)
    start, _ = billing_period(bill_cycle_day=bill_cycle_day, at=since)
    if billed:
        start = min(start, billed[0][0])
    periods = []
    index = 0  # the first billed period that ends after `start`
    while True:
        while index < len(billed) and billed[index][1] <= start:
            index += 1
        if index < len(billed) and billed[index][0] <= start:
            start = billed[index][1]
            continue
        _, end = billing_period(bill_cycle_day=bill_cycle_day, at=start)
        if index < len(billed):
            end = min(end, billed[index][0])
        if end.date() > as_of:
            return periods
        if end > since:  # nothing can be charged before the first product started
            periods.append((start, end))
        start = end


# --- Rating one account-period -------------------------------------------------------------


@dataclass
class _Line:
    product: ProductInstance
    charge_type: str
    name: str
    description: str
    quantity: Decimal
    unit: str
    currency: str
    amount: Decimal  # rated, 4 places, before the line's rounding
    charge_key: str
    date: datetime
    usage_ids: tuple[int, ...] = ()
    # What the line covers, when not the bill's period (a year charged ahead, late usage).
    coverage: tuple[datetime, datetime] | None = None


def _billable_interval(
    product: ProductInstance, start: datetime, end: datetime
) -> tuple[datetime, datetime] | None:
    """The part of [start, end) in which the product was billable, or None."""
    billable_from = max(product.start_date, start)
    billable_until = min(product.termination_date or end, end)
    return (billable_from, billable_until) if billable_from < billable_until else None


def _add_years(moment: datetime, years: int) -> datetime:
    """`moment` `years` later; 29 February becomes 28 February in a year without one."""
    try:
        return moment.replace(year=moment.year + years)
    except ValueError:
        return moment.replace(year=moment.year + years, day=28)


def _contract_years(
    product: ProductInstance, since: datetime, until: datetime
) -> list[tuple[datetime, datetime]]:
    """The product's contract years [start, end) that start in [since, until): the first from
    its start date, each next one from an anniversary of it."""
    first = max(since.year - product.start_date.year - 1, 0)
    years = []
    for count in range(first, until.year - product.start_date.year + 1):
        year_start = _add_years(product.start_date, count)
        if since <= year_start < until:
            years.append((year_start, _add_years(product.start_date, count + 1)))
    return years


def _suspensions(
    products: list[ProductInstance], before: datetime
) -> dict[int, list[tuple[datetime, datetime | None]]]:
    """Per product, the intervals it was suspended in (end None: still suspended), read from
    the products' status history in one query."""
    rows = (
        ProductStatusChange.objects.filter(product__in=products, changed_at__lt=before)
        .filter(Q(to_state=ProductStatus.SUSPENDED) | Q(from_state=ProductStatus.SUSPENDED))
        .order_by("product_id", "changed_at", "id")
        .values_list("product_id", "from_state", "to_state", "changed_at")
    )
    intervals = defaultdict(list)
    since = {}
    for product_id, from_state, to_state, changed_at in rows:
        if to_state == ProductStatus.SUSPENDED:
            since.setdefault(product_id, changed_at)
        elif from_state == ProductStatus.SUSPENDED and product_id in since:
            intervals[product_id].append((since.pop(product_id), changed_at))
    for product_id, started in since.items():
        intervals[product_id].append((started, None))
    return intervals


def _charged_seconds(
    interval: tuple[datetime, datetime], suspended: list[tuple[datetime, datetime | None]]
) -> Decimal:
    """Seconds of `interval` outside the suspended intervals."""
    start, end = interval
    seconds = (end - start).total_seconds()
    for since, until in suspended:
        overlap_from, overlap_until = max(since, start), min(until or end, end)
        if overlap_from < overlap_until:
            seconds -= (overlap_until - overlap_from).total_seconds()
    return Decimal(seconds)


def _usage_amount(price: ProductOfferingPrice, beyond: Decimal) -> tuple[Decimal, str]:
    """What `beyond` units past the allowance cost, unrounded, and how it was rated.

    Without tiers: `beyond` x the price's amount. With tiers (they replace the flat amount):
    the quantity within each tier's [lower, upper) at its unit amount; the last tier takes
    everything above its lower bound, even if it names an upper bound.
    """
    tiers = list(price.tiers.all())
    if not tiers:
        return beyond * price.amount, ""
    total = Decimal(0)
    parts = []
    for index, tier in enumerate(tiers):
        last = index == len(tiers) - 1
        upper = beyond if last or tier.upper_bound is None else min(beyond, tier.upper_bound)
        quantity = upper - tier.lower_bound
        if quantity > 0:
            total += quantity * tier.unit_amount
            parts.append(f"{plain_decimal(quantity)} at {plain_decimal(tier.unit_amount)}")
    return total, f" ({', '.join(parts)})" if parts else ""


def _usage_line(
    *,
    product: ProductInstance,
    price: ProductOfferingPrice,
    events: list[tuple[int, Decimal]],
    already_used: Decimal,
    key: str,
    date: datetime,
    coverage: tuple[datetime, datetime] | None = None,
) -> _Line:
    """The charge for `events` of one rating group in one period, on top of `already_used`
    (units of that period already charged on an earlier bill: nonzero for late usage)."""
    used = sum((volume for _, volume in events), Decimal(0))
    allowance = price.included_allowance
    before = max(already_used - allowance, Decimal(0))
    after = max(already_used + used - allowance, Decimal(0))
    amount_after, rated = _usage_amount(price, after)
    amount_before, _ = _usage_amount(price, before)
    unit = price.unit_of_measure
    if coverage is None:
        name = price.name
        description = (
            f"{product.name}: {plain_decimal(used)} {unit} used, {plain_decimal(allowance)} {unit} "
            f"included, {plain_decimal(after)} {unit} charged{rated}"
        )
    else:
        name = f"{price.name} (late usage)"
        description = (
            f"{product.name}: {plain_decimal(used)} {unit} reported late for "
            f"{coverage[0]:%Y-%m-%d} to {coverage[1]:%Y-%m-%d}, on top of "
            f"{plain_decimal(already_used)} {unit} billed; "
            f"{plain_decimal(allowance)} {unit} included, "
            f"{plain_decimal(after - before)} {unit} more charged"
        )
    return _Line(
        product=product,
        charge_type=ChargeType.USAGE,
        name=name,
        description=description,
        quantity=after - before,
        unit=unit,
        currency=price.currency,
        amount=round_rating(amount_after) - round_rating(amount_before),
        charge_key=key,
        date=date,
        usage_ids=tuple(event_id for event_id, _ in events),
        coverage=coverage,
    )


def _periods_since_start(account: BillingAccount, product: ProductInstance, start: datetime) -> int:
    """Which billing period of the product [start, ...) is: 1 for the one it started in."""
    first, _ = billing_period(bill_cycle_day=account.bill_cycle_day, at=product.start_date)
    return (start.year - first.year) * 12 + start.month - first.month + 1


def _discount_line(
    *,
    account: BillingAccount,
    product: ProductInstance,
    price: ProductOfferingPrice,
    recurring: list[_Line],
    fraction: Decimal,
    start: datetime,
) -> _Line | None:
    """The reduction of the product's recurring charges of this period by a discount price.

    A percentage takes that share of the recurring charges; a fixed amount is per billing
    period, prorated like a monthly charge by the part of the period the product was charged
    for (`fraction`), and never more than the recurring charges it reduces. It applies for
    `applies_for_periods` billing periods counted from the one the product started in.
    """
    period = _periods_since_start(account, product, start)
    if price.applies_for_periods is not None and period > price.applies_for_periods:
        return None
    base = sum((line.amount for line in recurring), Decimal(0))
    if base <= 0:
        return None
    if price.percentage is not None:
        reduction = round_rating(base * price.percentage / 100)
        how = f"{plain_decimal(price.percentage)}% of {plain_decimal(base)}"
    else:
        reduction = min(round_rating(price.amount * fraction), base)
        how = f"{plain_decimal(reduction)} off {plain_decimal(base)}"
    if price.applies_for_periods is not None:
        how += f", period {period} of {price.applies_for_periods}"
    return _Line(
        product=product,
        charge_type=ChargeType.RECURRING,
        name=price.name,
        description=f"{product.name}: {how}",
        quantity=Decimal(1),
        unit="",
        currency=price.currency,
        amount=-reduction,
        charge_key=f"discount:{product.pk}:{price.pk}:{start:%Y%m%d}",
        date=recurring[0].date,
    )


def _recurring_lines(
    *,
    product: ProductInstance,
    price: ProductOfferingPrice,
    interval: tuple[datetime, datetime],
    charged_seconds: Decimal,
    start: datetime,
    period_seconds: Decimal,
) -> list[_Line]:
    """A recurring price's charges in the bill period from `start`.

    Monthly: the price x the part of the cycle period (`period_seconds`, a whole period on the
    cycle day even when the bill's is a short transition) the product was billable and not
    suspended.
    Yearly: the whole price, once a year in advance, on the bill of the period that contains
    the start of the contract year (the product's start, then each anniversary of it). Years
    run from the product's start, so none is partial at the start, as a monthly charge is only
    because periods start on the cycle day; a termination or suspension later in the year does
    not reduce a year already charged.
    """
    if price.recurring_period == RecurringPeriod.YEAR:
        return [
            _Line(
                product=product,
                charge_type=ChargeType.RECURRING,
                name=price.name,
                description=f"{product.name}: year from {year:%Y-%m-%d} to {year_end:%Y-%m-%d}",
                quantity=Decimal(1),
                unit=price.recurring_period,
                currency=price.currency,
                amount=round_rating(price.amount),
                charge_key=f"recurring:{product.pk}:{price.pk}:{year:%Y%m%d}",
                date=year,
                coverage=(year, year_end),
            )
            for year, year_end in _contract_years(product, *interval)
        ]
    if charged_seconds <= 0:
        return []  # suspended for the whole billable part of the period
    days = charged_seconds / Decimal(86400)
    return [
        _Line(
            product=product,
            charge_type=ChargeType.RECURRING,
            name=price.name,
            description=(
                f"{product.name}: {plain_decimal(days)} of "
                f"{plain_decimal(period_seconds / 86400)} days"
            ),
            quantity=(charged_seconds / period_seconds).quantize(RATED_VOLUME_PLACES),
            unit=price.recurring_period,
            currency=price.currency,
            amount=round_rating(price.amount * charged_seconds / period_seconds),
            charge_key=f"recurring:{product.pk}:{price.pk}:{start:%Y%m%d}",
            date=interval[0],
        )
    ]


def _late_usage_lines(
    *,
    products: dict[int, ProductInstance],
    late: dict[tuple[int, str, datetime, datetime], list[tuple[int, Decimal]]],
    start: datetime,
    end: datetime,
) -> list[_Line]:
    """Usage dated in an earlier period that was billed before it arrived: charged on this bill.

    The earlier period is re-rated with the late volume on top of what its bill charged (so
    the allowance and tiers of that period apply once), at the prices in force then, and only
    the difference is charged. Late usage is rare: one query per late product-period.
    """
    lines = []
    for (product_id, rating_group, period_start, period_end), events in sorted(late.items()):
        product = products[product_id]
        at = max(product.start_date, period_start)
        price = _usage_price(product=product, rating_group=rating_group, at=at)
        if price is None:
            logger.warning("Late usage of product %s %s has no price", product_id, rating_group)
            continue
        already_used = UsageEvent.objects.filter(
            product_id=product_id,
            rating_group=rating_group,
            usage_date__gte=period_start,
            usage_date__lt=period_end,
            status=UsageStatus.BILLED,
        ).aggregate(total=Sum("rated_volume"))["total"] or Decimal(0)
        lines.append(
            _usage_line(
                product=product,
                price=price,
                events=events,
                already_used=already_used,
                key=(
                    f"usage:{product_id}:{rating_group}:{period_start:%Y%m%d}:late:{start:%Y%m%d}"
                ),
                date=end,
                coverage=(period_start, period_end),
            )
        )
    return lines


def _rate_period(
    *, account: BillingAccount, products: list[ProductInstance], start: datetime, end: datetime
) -> list[_Line]:
    """The charges of one account for [start, end). Locks the usage rows it charges.

    Usage dated before `start` that is still unbilled arrived after its own period was billed
    (late usage): it is charged here, see `_late_usage_lines`. A monthly charge is prorated
    against the whole cycle period `start` lies in, so that a short transition period after a
    change of cycle day (see `account_periods`) charges only its share of the month.
    """
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
    suspended = _suspensions(products, before=end)

    cycle_start, cycle_end = billing_period(bill_cycle_day=account.bill_cycle_day, at=start)
    period_seconds = Decimal((cycle_end - cycle_start).total_seconds())
    lines = []
    for product in products:
        interval = _billable_interval(product, start, end)
        if interval is None:
            continue
        billable_from, _ = interval
        charged_seconds = _charged_seconds(interval, suspended.get(product.pk, []))
        # The price in force when the product first became billable in this period: a later
        # price change applies to later periods and never rewrites this one.
        prices = offering_prices_in_force(offering=product.product_offering, at=billable_from)
        recurring = []
        for price in prices:
            if price.price_type == PriceType.RECURRING:
                charges = _recurring_lines(
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
                lines.append(
                    _Line(
                        product=product,
                        charge_type=ChargeType.ONE_TIME,
                        name=price.name,
                        description=product.name,
                        quantity=Decimal(1),
                        unit="",
                        currency=price.currency,
                        amount=round_rating(price.amount),
                        charge_key=f"oneTime:{product.pk}:{price.pk}",
                        date=product.start_date,
                    )
                )
            elif price.price_type == PriceType.USAGE:
                events = usage.get((product.pk, price.rating_group))
                if not events:
                    continue  # no usage, no line; usage within the allowance shows as 0.00
                lines.append(
                    _usage_line(
                        product=product,
                        price=price,
                        events=events,
                        already_used=Decimal(0),
                        key=f"usage:{product.pk}:{price.rating_group}:{start:%Y%m%d}",
                        date=end,
                    )
                )
        for price in prices:
            if price.price_type == PriceType.DISCOUNT and recurring:
                discount = _discount_line(
                    account=account,
                    product=product,
                    price=price,
                    recurring=recurring,
                    fraction=charged_seconds / period_seconds,
                    start=start,
                )
                if discount is not None:
                    lines.append(discount)
    lines += _late_usage_lines(
        products={p.pk: p for p in products}, late=late, start=start, end=end
    )
    for line in lines:
        if line.currency != account.currency:
            raise DomainError(
                f"Price '{line.name}' is in {line.currency} but account "
                f"{account.account_number} bills in {account.currency}."
            )
    return lines


def _next_bill_number() -> str:
    """The next number of the sequence; the row stays locked until the caller's commit."""
    BillSequence.objects.get_or_create(name=BILL_SEQUENCE)
    sequence = BillSequence.objects.select_for_update().get(name=BILL_SEQUENCE)
    sequence.last_value += 1
    sequence.save(update_fields=["last_value"])
    return f"{BILL_SEQUENCE}-{sequence.last_value:06d}"


def _billed_within(account: BillingAccount, start: datetime, end: datetime) -> bool:
    """Whether a bill of the account covers any part of [start, end)."""
    return CustomerBill.objects.filter(
        billing_account=account, period_start__lt=end, period_end__gt=start
    ).exists()


def _bill_period(
    *,
    account: BillingAccount,
    products: list[ProductInstance],
    start: datetime,
    end: datetime,
    bill_run: BillRun | None,
) -> CustomerBill | None:
    """One bill for one account-period, in one transaction; None if nothing to charge."""
    tax_rate = Decimal(settings.BILLING_TAX_RATE)
    try:
        with transaction.atomic():
            # The account row lock orders this bill with payments being recorded on the account
            # (`payment_create` takes it too), so credit and open bills never miss each other.
            BillingAccount.objects.select_for_update().filter(pk=account.pk).first()
            lines = _rate_period(account=account, products=products, start=start, end=end)
            if not lines:
                return None
            # Numbering locks the sequence row, which serialises bill creation: once we hold
            # it, a bill a concurrent run made for this period is committed and visible.
            bill_no = _next_bill_number()
            if _billed_within(account, start, end):
                transaction.set_rollback(True)
                return None
            bill_date = clock.now()
            charges = []
            for line in lines:
                net = round_money(line.amount, account.currency)
                tax = round_money(net * tax_rate, account.currency)
                covered_from, covered_until = line.coverage or (start, end)
                charges.append(
                    AppliedCharge(
                        billing_account=account,
                        product=line.product,
                        charge_type=line.charge_type,
                        name=line.name,
                        description=line.description,
                        period_start=covered_from,
                        period_end=covered_until,
                        quantity=line.quantity,
                        unit=line.unit,
                        currency=account.currency,
                        tax_rate=tax_rate,
                        tax_excluded_amount=net,
                        tax_amount=tax,
                        tax_included_amount=net + tax,
                        charge_key=line.charge_key,
                        date=line.date,
                    )
                )
            net_total = sum((c.tax_excluded_amount for c in charges), Decimal(0))
            tax_total = sum((c.tax_amount for c in charges), Decimal(0))
            bill = CustomerBill.objects.create(
                billing_account=account,
                bill_no=bill_no,
                period_start=start,
                period_end=end,
                bill_date=bill_date,
                payment_due_date=bill_date + PAYMENT_TERMS,
                currency=account.currency,
                tax_excluded_amount=net_total,
                tax_amount=tax_total,
                tax_included_amount=net_total + tax_total,
                remaining_amount=max(net_total + tax_total, Decimal(0)),
                bill_run=bill_run,
                last_update=bill_date,
            )
            for charge in charges:
                charge.bill = bill
            AppliedCharge.objects.bulk_create(charges)
            for line, charge in zip(lines, charges, strict=True):
                if line.usage_ids:
                    UsageEvent.objects.filter(pk__in=line.usage_ids).update(
                        status=UsageStatus.BILLED, applied_charge=charge
                    )
            _apply_credit(account=account, bill=bill)
            if bill_run is not None:
                BillRun.objects.filter(pk=bill_run.pk).update(bills_created=F("bills_created") + 1)
            return bill
    except IntegrityError:
        # A concurrent run charged the same thing first (bill or charge_key unique): nothing
        # of ours was written, and the charge exists exactly once. Any other refusal by the
        # database is a real error and must not pass for a duplicate.
        if not _billed_within(account, start, end):
            raise
        logger.info("Account %s period %s already billed concurrently", account.pk, start)
        return None


def account_bill(
    *, account: BillingAccount, as_of: date, bill_run: BillRun | None = None
) -> list[CustomerBill]:
    """Bill every period of the account that ended on or before `as_of` and has no bill yet
    (the periods are `account_periods`: after a change of cycle day, a transition first)."""
    products = list(
        ProductInstance.objects.filter(
            billing_account=account, start_date__isnull=False, status__in=BILLABLE_STATUSES
        )
        .select_related("product_offering")
        .order_by("id")
    )
    if not products:
        return []
    periods = account_periods(
        bill_cycle_day=account.bill_cycle_day,
        since=min(p.start_date for p in products),
        billed=list(
            CustomerBill.objects.filter(billing_account=account).values_list(
                "period_start", "period_end"
            )
        ),
        as_of=as_of,
    )
    bills = []
    for start, end in periods:
        bill = _bill_period(
            account=account, products=products, start=start, end=end, bill_run=bill_run
        )
        if bill is not None:
            bills.append(bill)
    return bills


# --- Bill runs -----------------------------------------------------------------------------


def _accounts_in_scope(bill_run: BillRun):
    """Accounts with a product that ever started, in id order (the order a run walks)."""
    accounts = BillingAccount.objects.filter(
        Exists(
            ProductInstance.objects.filter(billing_account=OuterRef("pk"), start_date__isnull=False)
        )
    )
    if bill_run.billing_account_id is not None:
        accounts = accounts.filter(pk=bill_run.billing_account_id)
    return accounts.order_by("pk")


def bill_run_create(*, as_of: date, billing_account_id: int | None = None) -> BillRun:
    """Record a bill run (state running, nothing done yet); `bill_run_resume` does the work."""
    if as_of > clock.now().date():
        # A period that has not ended yet may still receive usage: never bill it early.
        raise DomainError(f"{as_of} is in the future.", field="asOf")
    if (
        billing_account_id is not None
        and not BillingAccount.objects.filter(pk=billing_account_id).exists()
    ):
        raise DomainError(
            f"Billing account '{billing_account_id}' does not exist.", field="billingAccount"
        )
    bill_run = BillRun(as_of=as_of, billing_account_id=billing_account_id)
    bill_run.accounts_total = _accounts_in_scope(bill_run).count()
    bill_run.save()
    return bill_run


def bill_run_start(*, as_of: date, billing_account_id: int | None = None, progress=None) -> BillRun:
    """Run a bill run now, to the end: every account, every period ended by `as_of`."""
    bill_run = bill_run_create(as_of=as_of, billing_account_id=billing_account_id)
    return bill_run_resume(bill_run_id=bill_run.pk, progress=progress)


def bill_run_enqueue(*, as_of: date, billing_account_id: int | None = None) -> BillRun:
    """Record a bill run and hand it to a Celery worker once this transaction commits."""
    from billing.tasks import run_bill_run

    with transaction.atomic():
        bill_run = bill_run_create(as_of=as_of, billing_account_id=billing_account_id)
        transaction.on_commit(lambda: run_bill_run.delay(bill_run_id=bill_run.pk))
    return bill_run


def _bill_run_account(bill_run: BillRun, account: BillingAccount) -> bool:
    """Bill one account of the run; if it cannot be billed, record why on the run (its earlier
    periods stay billed) so the run carries on with the other accounts. False if it failed."""
    now = clock.now()
    try:
        account_bill(account=account, as_of=bill_run.as_of, bill_run=bill_run)
    except (OperationalError, InterfaceError):
        raise  # the database itself failed, not this account: the run stops, to be resumed
    except Exception as error:  # noqa: BLE001 - one account's failure must not stop the others
        logger.exception("Bill run %s could not bill account %s", bill_run.pk, account.pk)
        reason = error.message if isinstance(error, DomainError) else str(error)
        BillRunFailure.objects.update_or_create(
            bill_run=bill_run,
            billing_account=account,
            defaults={
                "reason": f"{type(error).__name__}: {reason}"[:2000],
                "failed_at": now,
                "resolved_at": None,
            },
        )
        return False
    BillRunFailure.objects.filter(
        bill_run=bill_run, billing_account=account, resolved_at__isnull=True
    ).update(resolved_at=now)
    return True


def bill_run_resume(*, bill_run_id: int, progress=None) -> BillRun:
    """Carry a bill run on from the last account it finished; a completed run is left as is.

    Accounts are walked in id order, in chunks; progress is saved after every account, and
    re-billing an account-period is a no-op, so an interrupted run resumes without duplicates.
    An account that cannot be billed is recorded on the run (`BillRunFailure`) and the run
    carries on: it ends `completedWithErrors`, and resuming it tries those accounts again.
    `progress(bill_run)` is called after each account (the command prints with it).
    """
    bill_run = BillRun.objects.filter(pk=bill_run_id).first()
    if bill_run is None:
        raise NotFound(f"Bill run '{bill_run_id}' does not exist.")
    if bill_run.state == BillRunState.COMPLETED:
        return bill_run
    BillRun.objects.filter(pk=bill_run.pk).update(state=BillRunState.RUNNING, error="")
    try:
        open_failures = bill_run.failures.filter(resolved_at__isnull=True)
        for failure in open_failures.select_related("billing_account").order_by("billing_account"):
            _bill_run_account(bill_run, failure.billing_account)
        while True:
            chunk = list(
                _accounts_in_scope(bill_run).filter(pk__gt=bill_run.last_account_id)[
                    :ACCOUNTS_PER_CHUNK
                ]
            )
            if not chunk:
                break
            for account in chunk:
                progressed = {"accounts_done": F("accounts_done") + 1}
                if not _bill_run_account(bill_run, account):
                    progressed["accounts_failed"] = open_failures.count()
                BillRun.objects.filter(pk=bill_run.pk).update(
                    **progressed, last_account_id=account.pk
                )
                bill_run.last_account_id = account.pk  # the next chunk starts after it
                if progress is not None:
                    bill_run.refresh_from_db()  # counters moved in the database (F())
                    progress(bill_run)
    except Exception as error:
        # Recorded so the run shows why it stopped; `bill_run_resume` carries it on later.
        BillRun.objects.filter(pk=bill_run.pk).update(
            state=BillRunState.FAILED, error=f"{type(error).__name__}: {error}"
        )
        raise
    failed = open_failures.count()
    BillRun.objects.filter(pk=bill_run.pk).update(
        state=BillRunState.COMPLETED_WITH_ERRORS if failed else BillRunState.COMPLETED,
        accounts_failed=failed,
        finished_at=clock.now(),
    )
    bill_run.refresh_from_db()
    return bill_run


# --- Bill state and bills on demand -------------------------------------------------------


def customer_bill_set_state(*, bill: CustomerBill, state: str, by: str = "") -> CustomerBill:
    """Move a bill to `state` as finance decides (validated, sent, onHold), through
    BILL_TRANSITIONS with a history row; the same state again changes nothing.

    partiallyPaid and settled follow from payments and new is the start: a client may not set
    them (DomainError); a move the table does not allow is an InvalidTransition (409).
    """
    if state not in CLIENT_SETTABLE_BILL_STATES:
        raise DomainError(
            f"A bill's state cannot be set to '{state}': one of "
            f"{', '.join(CLIENT_SETTABLE_BILL_STATES)} (the others follow from payments).",
            field="state",
        )
    if bill.state == state:
        return bill
    return transition(
        bill,
        state,
        transitions=BILL_TRANSITIONS,
        history=CustomerBillStateChange,
        history_fk="bill",
        by=by,
    )


def bill_on_demand_create(
    *, billing_account_id, name: str = "", description: str = "", created_by: str = ""
) -> CustomerBillOnDemand:
    """Record a request to bill an account now (inProgress) and hand it to a Celery worker
    once this transaction commits; `bill_on_demand_run` does the work."""
    from billing.tasks import run_bill_on_demand

    account = row_with_id(BillingAccount.objects, billing_account_id)
    if account is None:
        raise DomainError(
            f"Billing account '{billing_account_id}' does not exist.", field="billingAccount.id"
        )
    with transaction.atomic():
        request = CustomerBillOnDemand.objects.create(
            billing_account=account,
            name=name,
            description=description,
            created_by=created_by,
        )
        CustomerBillOnDemandStateChange.objects.create(
            request=request, to_state=request.state, changed_by=created_by
        )
        transaction.on_commit(lambda: run_bill_on_demand.delay(bill_on_demand_id=request.pk))
    return request


def bill_on_demand_run(*, bill_on_demand_id: int) -> CustomerBillOnDemand:
    """Bill the request's account: every ended period without a bill (`account_bill`, as a
    bill run would). done with the newest bill it produced; rejected when there was nothing
    to bill; terminatedWithError when billing refused the account. A request no longer in
    progress is left as it is, so running it twice is harmless."""
    with transaction.atomic():
        # The row lock makes a concurrent twin wait, then find the request finished.
        request = (
            CustomerBillOnDemand.objects.select_for_update()
            .select_related("billing_account")
            .filter(pk=bill_on_demand_id)
            .first()
        )
        if request is None:
            raise NotFound(f"Bill on demand '{bill_on_demand_id}' does not exist.")
        if request.state != BillOnDemandState.IN_PROGRESS:
            return request
        bill = None
        try:
            # A savepoint: whatever refuses the account, the request still records why, as a
            # bill run records an account it could not bill (`_bill_run_account`).
            with transaction.atomic():
                bills = account_bill(account=request.billing_account, as_of=clock.now().date())
        except (OperationalError, InterfaceError):
            raise  # the database itself failed: the task is retried, the request stays open
        except Exception as error:  # noqa: BLE001 - never leave the request inProgress for good
            logger.exception("Bill on demand %s could not bill its account", request.pk)
            reason = error.message if isinstance(error, DomainError) else str(error)
            target = BillOnDemandState.TERMINATED_WITH_ERROR
        else:
            if bills:
                bill = max(bills, key=lambda b: b.period_start)
                target = BillOnDemandState.DONE
                reason = f"Billed: {', '.join(b.bill_no for b in bills)}."
            else:
                target = BillOnDemandState.REJECTED
                reason = "Nothing to bill: every ended billing period of the account has a bill."
        return transition(
            request,
            target,
            transitions=BILL_ON_DEMAND_TRANSITIONS,
            history=CustomerBillOnDemandStateChange,
            history_fk="request",
            reason=reason,
            extra_updates={"customer_bill": bill, "state_reason": reason[:300]},
        )


# --- Payments ------------------------------------------------------------------------------


def _settle(
    bill: CustomerBill, amount: Decimal, payment: Payment, now: datetime
) -> CustomerBillStateChange | None:
    """Take `amount` off the (locked) bill's remaining amount and move its state to match;
    the history row of the move, if the state changed."""
    bill.remaining_amount -= amount
    target = BillState.SETTLED if bill.remaining_amount == 0 else BillState.PARTIALLY_PAID
    change = None
    if target != bill.state:
        check_transition(BILL_TRANSITIONS, bill.state, target, "Customer bill")
        change = CustomerBillStateChange(
            bill=bill,
            from_state=bill.state,
            to_state=target,
            changed_at=now,
            changed_by=payment.created_by,
            reason=f"Payment {payment.pk} of {plain_decimal(payment.amount)} {payment.currency}",
        )
        bill.state = target
    bill.last_update = now
    bill.save(update_fields=["remaining_amount", "state", "last_update"])
    return change


def _allocate(payments: list[Payment], bills: list[CustomerBill]) -> None:
    """Allocate the payments' unallocated amounts to the bills, both oldest first (all locked)."""
    now = clock.now()
    allocations, history = [], []
    bills = [bill for bill in bills if bill.remaining_amount > 0]
    for payment in payments:
        while payment.unallocated_amount > 0 and bills:
            bill = bills[0]
            amount = min(payment.unallocated_amount, bill.remaining_amount)
            allocations.append(PaymentAllocation(payment=payment, bill=bill, amount=amount))
            payment.unallocated_amount -= amount
            change = _settle(bill, amount, payment, now)
            if change is not None:
                history.append(change)
            if bill.remaining_amount == 0:
                bills.pop(0)
        if payment.unallocated_amount == 0 and payment.state != PaymentState.ALLOCATED:
            check_transition(PAYMENT_TRANSITIONS, payment.state, PaymentState.ALLOCATED, "Payment")
            payment.state = PaymentState.ALLOCATED
            payment.state_date = now
        payment.save(update_fields=["unallocated_amount", "state", "state_date"])
    PaymentAllocation.objects.bulk_create(allocations)
    CustomerBillStateChange.objects.bulk_create(history)


def _apply_credit(*, account: BillingAccount, bill: CustomerBill) -> None:
    """Pay a new bill from the account's credit (unallocated payments), oldest payment first."""
    if bill.remaining_amount <= 0:
        return
    payments = list(
        Payment.objects.select_for_update()
        .filter(billing_account=account, unallocated_amount__gt=0)
        .order_by("payment_date", "id")
    )
    if payments:
        _allocate(payments, [bill])


def payment_create(
    *,
    billing_account_id: int,
    amount: Decimal,
    currency: str,
    method: str,
    reference: str = "",
    payment_date: datetime | None = None,
    description: str = "",
    authorization_code: str = "",
    created_by: str = "",
) -> tuple[Payment, bool]:
    """Record a payment and allocate it to the account's open bills, oldest first.

    One transaction: the account row and the open bills are locked, the bills the payment
    covers become settled (the last one partiallyPaid if the money runs out), and what is left
    stays on the payment as account credit for the next bills. The same non-blank `reference`
    on the account again returns the stored payment (created=False); with a different amount
    or currency it is refused (409), since that is a different payment under a reused reference.
    """
    if amount <= 0:
        raise DomainError("The amount must be more than zero.", field="totalAmount.value")
    maximum = Decimal(settings.PAYMENT_MAX_AMOUNT)
    if amount > maximum:
        # A bound against typing errors (an extra zero or two): larger sums are not taken here.
        raise DomainError(
            f"A payment is at most {plain_decimal(maximum)} {currency}.",
            field="totalAmount.value",
        )
    exponent = CURRENCY_EXPONENTS.get(currency, 2)
    if amount != round_money(amount, currency):
        raise DomainError(
            f"{currency} amounts have at most {exponent} decimal places.",
            field="totalAmount.value",
        )
    if method not in PaymentMethodType.values:
        raise DomainError(
            f"Payment method '{method}' is not one of {', '.join(PaymentMethodType.values)}.",
            field="paymentMethod",
        )
    with transaction.atomic():
        account = BillingAccount.objects.select_for_update().filter(pk=billing_account_id).first()
        if account is None:
            raise DomainError(
                f"Billing account '{billing_account_id}' does not exist.", field="account.id"
            )
        if currency != account.currency:
            raise DomainError(
                f"Account {account.account_number} is paid in {account.currency}, not {currency}.",
                field="totalAmount.unit",
            )
        if reference:
            # The account lock serialises twins: a first one has committed by the time we read.
            earlier = Payment.objects.filter(billing_account=account, reference=reference).first()
            if earlier is not None:
                if (earlier.amount, earlier.currency) != (amount, currency):
                    raise Conflict(
                        f"Payment '{reference}' of account {account.account_number} was recorded "
                        f"with {earlier.amount.normalize()} {earlier.currency}.",
                        field="correlatorId",
                    )
                return earlier, False
        now = clock.now()
        payment = Payment.objects.create(
            billing_account=account,
            amount=amount,
            currency=currency,
            unallocated_amount=amount,
            payment_date=payment_date or now,
            method=method,
            reference=reference,
            description=description,
            authorization_code=authorization_code,
            created_by=created_by,
            state_date=now,
        )
        bills = list(
            CustomerBill.objects.select_for_update()
            .filter(billing_account=account, state__in=PAYABLE_BILL_STATES, remaining_amount__gt=0)
            .order_by("period_start", "id")
        )
        _allocate([payment], bills)
    return payment, True
