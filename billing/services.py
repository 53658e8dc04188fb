"""Billing writes: usage ingest, rating, bill runs that turn charges into numbered bills."""

import logging
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Exists, F, OuterRef
from django.utils import timezone

from billing.choices import BillRunState, ChargeType, UsageStatus
from billing.models import AppliedCharge, BillRun, BillSequence, CustomerBill, UsageEvent
from catalog.choices import PriceType
from catalog.models import ProductOfferingPrice
from catalog.selectors import offering_prices_in_force
from crm.models import BillingAccount
from inventory.choices import ProductStatus
from inventory.models import ProductInstance, Service
from telco.exceptions import DomainError, NotFound
from telco.money import round_money, round_rating

logger = logging.getLogger(__name__)

# Units a network may report volume in, as a number of bytes (decimal prefixes: 1 GB = 10^9 B).
UNIT_BYTES = {
    "bytes": Decimal(1),
    "KB": Decimal(10) ** 3,
    "MB": Decimal(10) ** 6,
    "GB": Decimal(10) ** 9,
}
RATED_VOLUME_PLACES = Decimal("0.000001")  # UsageEvent.rated_volume keeps 6 decimals

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
    event_id: str,
    service_id: str,
    usage_date: datetime,
    volume: Decimal,
    unit: str,
    rating_group: str,
    usage_type: str = "data",
    usage_specification_id: str = "",
) -> tuple[UsageEvent, bool]:
    """Store one usage event; the same `event_id` again returns the stored one (created=False).

    The service's product must be billable at `usage_date` and its offering must price the
    rating group; the volume is normalised to that price's unit into `rated_volume`.
    """
    existing = UsageEvent.objects.filter(event_id=event_id).first()
    if existing is not None:
        return existing, False
    if unit not in UNIT_BYTES:
        raise DomainError(
            f"Unit '{unit}' is not one of {', '.join(UNIT_BYTES)}.",
            field="usageCharacteristic.unit",
        )
    service = (
        Service.objects.select_related("product__product_offering", "parent__product")
        .filter(pk=int(service_id) if str(service_id).isdigit() else None)
        .first()
    )
    if service is None:
        raise DomainError(
            f"Service '{service_id}' does not exist.", field="usageCharacteristic.serviceId"
        )
    product = service.product or (service.parent.product if service.parent else None)
    if product is None or product.status != ProductStatus.ACTIVE or product.start_date is None:
        raise DomainError(
            f"Service '{service_id}' has no active product to charge.",
            field="usageCharacteristic.serviceId",
        )
    if usage_date < product.start_date:
        raise DomainError(
            f"Usage is dated before the product started ({product.start_date.isoformat()}).",
            field="usageDate",
        )
    price = _usage_price(product=product, rating_group=rating_group, at=usage_date)
    if price is None:
        raise DomainError(
            f"Rating group '{rating_group}' is not priced on '{product.product_offering}'.",
            field="usageCharacteristic.ratingGroup",
        )
    if price.unit_of_measure not in UNIT_BYTES:
        raise DomainError(
            f"The usage price is in '{price.unit_of_measure}', which volume cannot convert to.",
            field="usageCharacteristic.ratingGroup",
        )
    event = UsageEvent(
        event_id=event_id,
        service=service,
        product=product,
        billing_account_id=product.billing_account_id,
        usage_date=usage_date,
        usage_type=usage_type,
        usage_specification_id=usage_specification_id,
        rating_group=rating_group,
        volume=volume,
        unit=unit,
        rated_volume=_convert_volume(volume, unit, price.unit_of_measure),
    )
    try:
        # The savepoint lets a concurrent twin's unique violation fall back to reading its row.
        with transaction.atomic():
            event.save()
    except IntegrityError:
        existing = UsageEvent.objects.filter(event_id=event_id).first()
        if existing is None:
            raise
        return existing, False
    return event, True


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
    return value


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


def _billable_interval(
    product: ProductInstance, start: datetime, end: datetime
) -> tuple[datetime, datetime] | None:
    """The part of [start, end) in which the product was billable, or None."""
    billable_from = max(product.start_date, start)
    billable_until = min(product.termination_date or end, end)
    return (billable_from, billable_until) if billable_from < billable_until else None


def _number(value: Decimal) -> str:
    return format(value.normalize(), "f")


def _rate_period(
    *, account: BillingAccount, products: list[ProductInstance], start: datetime, end: datetime
) -> list[_Line]:
    """The charges of one account for [start, end). Locks the usage rows it charges."""
    usage = defaultdict(list)
    rows = (
        UsageEvent.objects.select_for_update()
        .filter(
            product__in=products,
            usage_date__gte=start,
            usage_date__lt=end,
            status__in=UNBILLED_USAGE,
        )
        .values_list("id", "product_id", "rating_group", "rated_volume")
        .order_by("id")
    )
    for event_id, product_id, rating_group, rated_volume in rows:
        usage[(product_id, rating_group)].append((event_id, rated_volume))

    period_seconds = Decimal((end - start).total_seconds())
    lines = []
    for product in products:
        interval = _billable_interval(product, start, end)
        if interval is None:
            continue
        billable_from, billable_until = interval
        # The price in force when the product first became billable in this period: a later
        # price change applies to later periods and never rewrites this one.
        prices = offering_prices_in_force(offering=product.product_offering, at=billable_from)
        for price in prices:
            if price.price_type == PriceType.RECURRING:
                seconds = Decimal((billable_until - billable_from).total_seconds())
                days = seconds / Decimal(86400)
                lines.append(
                    _Line(
                        product=product,
                        charge_type=ChargeType.RECURRING,
                        name=price.name,
                        description=(
                            f"{product.name}: {_number(days)} of "
                            f"{_number(period_seconds / 86400)} days"
                        ),
                        quantity=(seconds / period_seconds).quantize(RATED_VOLUME_PLACES),
                        unit=price.recurring_period,
                        currency=price.currency,
                        amount=round_rating(price.amount * seconds / period_seconds),
                        charge_key=f"recurring:{product.pk}:{price.pk}:{start:%Y%m%d}",
                        date=billable_from,
                    )
                )
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
                used = sum((volume for _, volume in events), Decimal(0))
                allowance = price.included_allowance
                beyond = max(used - allowance, Decimal(0))
                unit = price.unit_of_measure
                lines.append(
                    _Line(
                        product=product,
                        charge_type=ChargeType.USAGE,
                        name=price.name,
                        description=(
                            f"{product.name}: {_number(used)} {unit} used, "
                            f"{_number(allowance)} {unit} included, "
                            f"{_number(beyond)} {unit} charged"
                        ),
                        quantity=beyond,
                        unit=unit,
                        currency=price.currency,
                        amount=round_rating(beyond * price.amount),
                        charge_key=f"usage:{product.pk}:{price.rating_group}:{start:%Y%m%d}",
                        date=end,
                        usage_ids=tuple(event_id for event_id, _ in events),
                    )
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
            lines = _rate_period(account=account, products=products, start=start, end=end)
            if not lines:
                return None
            # Numbering locks the sequence row, which serialises bill creation: once we hold
            # it, a bill a concurrent run made for this period is committed and visible.
            bill_no = _next_bill_number()
            if CustomerBill.objects.filter(billing_account=account, period_start=start).exists():
                transaction.set_rollback(True)
                return None
            bill_date = timezone.now()
            charges = []
            for line in lines:
                net = round_money(line.amount, account.currency)
                tax = round_money(net * tax_rate, account.currency)
                charges.append(
                    AppliedCharge(
                        billing_account=account,
                        product=line.product,
                        charge_type=line.charge_type,
                        name=line.name,
                        description=line.description,
                        period_start=start,
                        period_end=end,
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
            if bill_run is not None:
                BillRun.objects.filter(pk=bill_run.pk).update(bills_created=F("bills_created") + 1)
            return bill
    except IntegrityError:
        # A concurrent run charged the same thing first (bill or charge_key unique): nothing
        # of ours was written, and the charge exists exactly once. Any other refusal by the
        # database is a real error and must not pass for a duplicate.
        if not CustomerBill.objects.filter(billing_account=account, period_start=start).exists():
            raise
        logger.info("Account %s period %s already billed concurrently", account.pk, start)
        return None


def account_bill(
    *, account: BillingAccount, as_of: date, bill_run: BillRun | None = None
) -> list[CustomerBill]:
    """Bill every period of the account that ended on or before `as_of` and has no bill yet."""
    products = list(
        ProductInstance.objects.filter(
            billing_account=account, start_date__isnull=False, status__in=BILLABLE_STATUSES
        )
        .select_related("product_offering")
        .order_by("id")
    )
    if not products:
        return []
    billed = set(
        CustomerBill.objects.filter(billing_account=account).values_list("period_start", flat=True)
    )
    start, end = billing_period(
        bill_cycle_day=account.bill_cycle_day, at=min(p.start_date for p in products)
    )
    bills = []
    while end.date() <= as_of:
        if start not in billed:
            bill = _bill_period(
                account=account, products=products, start=start, end=end, bill_run=bill_run
            )
            if bill is not None:
                bills.append(bill)
        start, end = end, _add_months(end, 1)
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
    if as_of > timezone.now().date():
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


def bill_run_resume(*, bill_run_id: int, progress=None) -> BillRun:
    """Carry a bill run on from the last account it finished; a finished run is left as is.

    Accounts are walked in id order, in chunks; progress is saved after every account, and
    re-billing an account-period is a no-op, so an interrupted run resumes without duplicates.
    `progress(bill_run)` is called after each account (the command prints with it).
    """
    bill_run = BillRun.objects.filter(pk=bill_run_id).first()
    if bill_run is None:
        raise NotFound(f"Bill run '{bill_run_id}' does not exist.")
    if bill_run.state == BillRunState.COMPLETED:
        return bill_run
    BillRun.objects.filter(pk=bill_run.pk).update(state=BillRunState.RUNNING, error="")
    try:
        while True:
            chunk = list(
                _accounts_in_scope(bill_run).filter(pk__gt=bill_run.last_account_id)[
                    :ACCOUNTS_PER_CHUNK
                ]
            )
            if not chunk:
                break
            for account in chunk:
                account_bill(account=account, as_of=bill_run.as_of, bill_run=bill_run)
                BillRun.objects.filter(pk=bill_run.pk).update(
                    accounts_done=F("accounts_done") + 1, last_account_id=account.pk
                )
                bill_run.refresh_from_db()
                if progress is not None:
                    progress(bill_run)
    except Exception as error:
        # Recorded so the run shows why it stopped; `bill_run_resume` carries it on later.
        BillRun.objects.filter(pk=bill_run.pk).update(
            state=BillRunState.FAILED, error=f"{type(error).__name__}: {error}"
        )
        raise
    BillRun.objects.filter(pk=bill_run.pk).update(
        state=BillRunState.COMPLETED, finished_at=timezone.now()
    )
    bill_run.refresh_from_db()
    return bill_run
