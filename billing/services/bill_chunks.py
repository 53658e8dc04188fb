"""Billing a chunk of accounts at once: the chunk's products, bills, suspensions, prices,
unbilled usage and SLA credits are read in a fixed number of queries, every account-period is
rated in memory by the same rules as one account's bill (`rating.period_lines`), and the bills,
their lines and the usage they charge are written in a few bulk statements, the bills numbered
as they are copied in (the series bumped once for the chunk).

An account with late usage (unbilled usage dated in a period already billed, which re-rates
that period) is rare: it is billed on its own by `account_bill`, in the chunk's transaction.
"""

import gc
import logging
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from functools import lru_cache
from typing import NamedTuple

from django.conf import settings
from django.db import InterfaceError, OperationalError, connection
from django.db.models import BigIntegerField, Func, Model

from billing.choices import UsageStatus
from billing.models import (
    AppliedCharge,
    BillRun,
    CustomerBill,
    Payment,
    SlaCredit,
    UsageEvent,
)
from billing.services.bills import (
    BILLABLE_STATUSES,
    PAYMENT_TERMS,
    account_bill,
    reserve_bill_numbers,
)
from billing.services.charges import ChargeLine
from billing.services.credits import sla_credit_line, unbilled_sla_credits
from billing.services.payments import apply_account_credit
from billing.services.periods import account_periods
from billing.services.rating import UNBILLED_USAGE, check_currency, period_lines
from catalog.selectors import launched_prices_of, price_valid_at
from inventory import selectors as inventory_selectors
from inventory.choices import ProductStatus
from telco import clock
from telco.db import bound_cursor, id_array
from telco.exceptions import DomainError
from telco.money import round_money

logger = logging.getLogger(__name__)


# The account fields a chunk reads (`bill_chunk_accounts`' accounts need no more; the rare
# account billed on its own by `account_bill` loads any other it reads).
RATED_ACCOUNT_FIELDS = ("id", "account_number", "bill_cycle_day", "currency")


class RatedProduct(NamedTuple):
    """The fields of a product (inventory's) that rating reads (`rating.period_lines`,
    `charges`, `periods`): a chunk rates thousands of products, and building a model instance
    of each (with its init signals) was a tenth of the chunk's Python time."""

    id: int
    billing_account_id: int
    product_offering_id: int
    name: str
    start_date: datetime
    termination_date: datetime | None
    characteristics: list  # what a price per unit counts (`charges.units_charged`)

    @property
    def pk(self) -> int:
        return self.id


# (usage event id, product id, rating group, rated volume, usage date in microseconds since
# the epoch: a chunk compares thousands of them with its periods, and decoding each as an
# aware datetime took a tenth of a chunk's time)
Event = tuple[int, int, str, Decimal, int]

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@lru_cache(maxsize=4096)
def _micros(moment: datetime) -> int:
    """`moment` in microseconds since the epoch (what `EpochMicros` reads); cached, as a chunk
    asks it for the same few period bounds again and again."""
    return (moment - EPOCH) // timedelta(microseconds=1)


class EpochMicros(Func):
    """A timestamp as microseconds since the epoch (PostgreSQL), an integer to decode."""

    template = "(EXTRACT(EPOCH FROM %(expressions)s) * 1000000)::bigint"
    output_field = BigIntegerField()


# The usage events a chunk charges, each with the line that charges it: two arrays joined by
# position, so the planner walks the primary key (a temporary table without statistics made it
# hash the whole usage table once per chunk).
USAGE_BILLED_SQL = f"""
UPDATE {UsageEvent._meta.db_table} AS usage SET status = %s, applied_charge_id = charged.line
FROM unnest(%s::bigint[], %s::bigint[]) AS charged(event, line) WHERE usage.id = charged.event
"""  # noqa: S608 - table names come from model metadata; every value is a parameter


@dataclass
class ChunkOutcome:
    """What billing a chunk did: accounts billed (or with nothing to bill), accounts that could
    not be billed with the reason, and how many bills it made."""

    billed: list[int] = field(default_factory=list)
    failed: dict[int, str] = field(default_factory=dict)
    bills_created: int = 0
    # Of those, made by `account_bill` (late usage), which counts them on the run itself.
    bills_made_alone: int = 0


class _LateUsage(Exception):
    """The account has unbilled usage of a period already billed: bill it on its own."""


@dataclass
class _ChunkReads:
    """Everything the chunk's accounts are rated from, read once."""

    products: dict[int, list[RatedProduct]]
    periods: dict[int, list[tuple[datetime, datetime]]]
    suspended: dict[int, list[tuple[datetime, datetime | None]]]
    prices: dict[int | None, list[Model]]
    usage: dict[int, list[Event]]
    credits: dict[int, list[SlaCredit]]
    _in_force: dict = field(default_factory=dict)

    def prices_at(self, product: RatedProduct, at: datetime) -> list[Model]:
        """The prices of the product's offering in force at `at` (cached per offering, instant)."""
        key = (product.product_offering_id, at)
        if key not in self._in_force:
            self._in_force[key] = [
                price
                for price in self.prices.get(product.product_offering_id, ())
                if price_valid_at(price, at)
            ]
        return self._in_force[key]


def _read_chunk(accounts: list[Model], as_of: date) -> _ChunkReads | None:
    """The chunk's rows in six queries, by lists of ids each sent as one array (`__any`);
    None when no account has a period to bill."""
    ids = [account.id for account in accounts]
    products = defaultdict(list)
    # Only what rating reads (offering ids are enough): a product row has many more columns.
    started = (
        inventory_selectors.started_products()
        .select_related(None)
        .filter(billing_account_id__any=ids, status__in=BILLABLE_STATUSES)
        .values_list(*RatedProduct._fields)
    )
    for row in started:
        product = RatedProduct._make(row)
        products[product.billing_account_id].append(product)
    billed = defaultdict(list)
    for account_id, start, end in CustomerBill.objects.filter(
        billing_account_id__any=ids
    ).values_list("billing_account_id", "period_start", "period_end"):
        billed[account_id].append((start, end))
    periods = {}
    for account in accounts:
        if account.id in products:
            due = account_periods(
                bill_cycle_day=account.bill_cycle_day,
                since=min(p.start_date for p in products[account.id]),
                billed=billed[account.id],
                as_of=as_of,
            )
            if due:
                periods[account.id] = due
    if not periods:
        return None
    in_scope = [p for account_id in periods for p in products[account_id]]
    product_ids = [p.id for p in in_scope]
    account_of = {p.id: p.billing_account_id for p in in_scope}
    until = max(end for due in periods.values() for _, end in due)
    prices = defaultdict(list)
    for price in launched_prices_of({p.product_offering_id for p in in_scope}):
        prices[price.product_offering_id].append(price)
    usage = defaultdict(list)
    unbilled = (
        UsageEvent.objects.select_for_update()
        .filter(product_id__any=product_ids, usage_date__lt=until, status__in=UNBILLED_USAGE)
        .order_by("id")
    )
    if connection.vendor == "postgresql":
        rows = unbilled.annotate(at=EpochMicros("usage_date")).values_list(
            "id", "product_id", "rating_group", "rated_volume", "at"
        )
    else:  # the embedded SQLite demo: a few rows
        rows = [
            (*row[:4], _micros(row[4]))
            for row in unbilled.values_list(
                "id", "product_id", "rating_group", "rated_volume", "usage_date"
            )
        ]
    for row in rows:
        usage[account_of[row[1]]].append(row)
    credits = defaultdict(list)
    for credit in (
        unbilled_sla_credits()
        .select_for_update(of=("self",))
        .filter(product_id__any=product_ids, period_end__lte=until)
        .order_by("id")
    ):
        credits[account_of[credit.product_id]].append(credit)
    return _ChunkReads(
        products=products,
        periods=periods,
        suspended=inventory_selectors.product_status_intervals(
            product_ids, status=ProductStatus.SUSPENDED, before=until
        ),
        prices=prices,
        usage=usage,
        credits=credits,
    )


def _rate_account(
    account: Model, reads: _ChunkReads
) -> tuple[list[tuple[datetime, datetime, list[ChargeLine]]], Exception | None]:
    """The account's bills to make, period by period as `account_bill` would, and the error
    that stopped it (the periods before it are still billed). `_LateUsage` if it has late
    usage."""
    products = reads.products[account.id]
    events = reads.usage.get(account.id, [])
    credits = reads.credits.get(account.id, [])
    by_id = {p.id: p for p in products} if credits else {}
    rated = []
    for start, end in reads.periods[account.id]:
        start_at, end_at = _micros(start), _micros(end)
        due = [event for event in events if event[4] < end_at]
        if any(event[4] < start_at for event in due):
            raise _LateUsage
        usage = defaultdict(list)
        for event_id, product_id, rating_group, volume, _ in due:
            usage[(product_id, rating_group)].append((event_id, volume))
        try:
            lines = period_lines(
                account=account,
                products=products,
                start=start,
                end=end,
                usage=usage,
                suspended=reads.suspended,
                prices_at=reads.prices_at,
            )
            lines += [
                sla_credit_line(credit=credit, product=by_id[credit.product_id])
                for credit in credits
                if credit.period_end <= end
            ]
            check_currency(account=account, lines=lines)
        except (OperationalError, InterfaceError):
            raise
        except Exception as error:  # noqa: BLE001 - one account's failure must not stop the others
            return rated, error
        if not lines:
            continue
        credits = [credit for credit in credits if credit.period_end > end]
        if events:
            charged = {event_id for line in lines for event_id in line.usage_ids}
            events = [event for event in events if event[0] not in charged]
        rated.append((start, end, lines))
    return rated, None


def failure_reason(error: Exception) -> str:
    """How a bill run records an account's failure."""
    reason = error.message if isinstance(error, DomainError) else str(error)
    return f"{type(error).__name__}: {reason}"[:2000]


# The columns of the rows a chunk writes, in order (any other column takes the model's default).
LINE_COLUMNS = (
    "id",
    "bill_id",
    "billing_account_id",
    "product_id",
    "charge_type",
    "name",
    "description",
    "period_start",
    "period_end",
    "quantity",
    "unit",
    "currency",
    "tax_rate",
    "tax_excluded_amount",
    "tax_amount",
    "tax_included_amount",
    "charge_key",
    "date",
)
BILL_COLUMNS = (
    "id",
    "billing_account_id",
    "period_start",
    "period_end",
    "bill_date",
    "payment_due_date",
    "currency",
    "tax_excluded_amount",
    "tax_amount",
    "tax_included_amount",
    "remaining_amount",
    "bill_run_id",
    "last_update",
    "bill_no",
)


class _CopyText(dict):
    """Each distinct datetime of a chunk's rows as COPY text, formatted once: psycopg formats
    an aware datetime in Python, and a chunk's rows repeat a handful (periods, bill date) in
    four columns of every line, two thirds of the cost of copying them."""

    def __missing__(self, moment: datetime) -> str:
        text = self[moment] = moment.isoformat()
        return text


class _Unchanged(dict):
    """The datetimes as they are (the ORM's inserts on SQLite)."""

    def __missing__(self, moment: datetime) -> datetime:
        return moment


def _next_ids(model, count: int) -> list[int]:
    """`count` ids from the model's id sequence, in one statement. The sequence is named by a
    literal, resolved once when the statement is parsed: `pg_get_serial_sequence` in it
    searched the catalog again for every id (a tenth of a chunk's writes)."""
    with connection.cursor() as cursor:
        if model not in _ID_SEQUENCES:
            cursor.execute("SELECT pg_get_serial_sequence(%s, 'id')", [model._meta.db_table])
            _ID_SEQUENCES[model] = cursor.fetchone()[0]
        cursor.execute(
            "SELECT nextval(%s::regclass) FROM generate_series(1, %s)",
            [_ID_SEQUENCES[model], count],
        )
        return [row[0] for row in cursor.fetchall()]


_ID_SEQUENCES: dict[type[Model], str] = {}  # the id sequence's name, per model


def _copy(model, columns: tuple[str, ...], rows: list[tuple]) -> None:
    """COPY the rows (values in `columns` order; the model's default for any other column)
    into the model's table: one statement for any number of rows."""
    if not rows:
        return
    others = [field for field in model._meta.concrete_fields if field.column not in columns]
    defaults = tuple(field.get_db_prep_save(field.get_default(), connection) for field in others)
    names = ", ".join(
        connection.ops.quote_name(column)
        for column in (*columns, *(field.column for field in others))
    )
    sql = f"COPY {model._meta.db_table} ({names}) FROM STDIN"
    with connection.cursor() as cursor, cursor.cursor.copy(sql) as copy:
        for row in rows:
            copy.write_row(row + defaults)


def _write_bills(
    rated: list[tuple[Model, datetime, datetime, list[ChargeLine]]], bill_run: BillRun | None
) -> list[int]:
    """Copy in the bills and their lines, mark the usage they charge billed: a few statements
    whatever the chunk holds. The bills' ids, in order. Each line is rounded to the account's
    currency and taxed; a bill's totals are the sums of its lines.

    The bills are numbered as they are copied in, in order, the series bumped once for them
    all (`reserve_bill_numbers`) after the lines and usage are written, so its row is locked
    only for the last statements of the chunk's transaction (the foreign keys to the bills
    are checked at commit)."""
    if not rated:
        return []
    tax_rate = Decimal(settings.BILLING_TAX_RATE)
    postgres = connection.vendor == "postgresql"
    text = _CopyText() if postgres else _Unchanged()
    now = clock.now()
    bill_date, payment_due_date = text[now], text[now + PAYMENT_TERMS]
    bill_run_id = bill_run.pk if bill_run is not None else None
    line_count = sum(len(lines) for *_, lines in rated)
    if postgres:
        bill_ids = _next_ids(CustomerBill, len(rated))
        line_ids = iter(_next_ids(AppliedCharge, line_count))
    else:  # placeholders, see `_write_rows_orm`
        bill_ids = list(range(-1, -len(rated) - 1, -1))
        line_ids = iter(range(-1, -line_count - 1, -1))
    # Rows as tuples in column order, straight to COPY: a dict per line cost as much again.
    bills, charges, events, charged_by = [], [], [], []
    for bill_id, (account, start, end, lines) in zip(bill_ids, rated, strict=True):
        currency = account.currency
        net_total = tax_total = Decimal(0)
        for line in lines:
            line_id = next(line_ids)
            net = round_money(line.amount, currency)
            tax = round_money(net * tax_rate, currency)
            covered_from, covered_until = line.coverage or (start, end)
            charges.append(
                (
                    line_id,
                    bill_id,
                    account.id,
                    line.product.id,
                    line.charge_type,
                    line.name,
                    line.description,
                    text[covered_from],
                    text[covered_until],
                    line.quantity,
                    line.unit,
                    currency,
                    tax_rate,
                    net,
                    tax,
                    net + tax,
                    line.charge_key,
                    text[line.date],
                )
            )
            net_total += net
            tax_total += tax
            if line.usage_ids:
                events += line.usage_ids
                charged_by += [line_id] * len(line.usage_ids)
        total = net_total + tax_total
        bills.append(
            (
                bill_id,
                account.id,
                text[start],
                text[end],
                bill_date,
                payment_due_date,
                currency,
                net_total,
                tax_total,
                total,
                max(total, Decimal(0)),
                bill_run_id,
                bill_date,
            )
        )
    if not postgres:
        return _write_rows_orm(bills, charges, events, charged_by)
    _copy(AppliedCharge, LINE_COLUMNS, charges)
    if events:
        with bound_cursor() as cursor:
            cursor.execute(
                USAGE_BILLED_SQL, [UsageStatus.BILLED, id_array(events), id_array(charged_by)]
            )
    numbers = reserve_bill_numbers(len(bills))
    _copy(
        CustomerBill,
        BILL_COLUMNS,
        [(*bill, number) for bill, number in zip(bills, numbers, strict=True)],
    )
    return bill_ids


def _write_rows_orm(
    bills: list[tuple], charges: list[tuple], events: list[int], charged_by: list[int]
) -> list[int]:
    """`_write_bills` where there is no COPY (the embedded demo's SQLite): the ORM's bulk
    inserts, the placeholder ids replaced by the ones the database gave."""
    numbers = reserve_bill_numbers(len(bills))
    made = [
        CustomerBill(**{**dict(zip(BILL_COLUMNS, (*row, number), strict=True)), "id": None})
        for row, number in zip(bills, numbers, strict=True)
    ]
    CustomerBill.objects.bulk_create(made)
    bill_of = {row[0]: bill.pk for row, bill in zip(bills, made, strict=True)}
    lines = [
        AppliedCharge(
            **{**dict(zip(LINE_COLUMNS, row, strict=True)), "id": None, "bill_id": bill_of[row[1]]}
        )
        for row in charges
    ]
    AppliedCharge.objects.bulk_create(lines)
    line_of = {row[0]: line.pk for row, line in zip(charges, lines, strict=True)}
    by_line = defaultdict(list)
    for event_id, line_id in zip(events, charged_by, strict=True):
        by_line[line_of[line_id]].append(event_id)
    for line_id, event_ids in by_line.items():
        UsageEvent.objects.filter(pk__in=event_ids).update(
            status=UsageStatus.BILLED, applied_charge_id=line_id
        )
    return [bill.pk for bill in made]


def bill_chunk_accounts(
    *,
    accounts: list[Model],
    as_of: date,
    bill_run: BillRun | None,
) -> ChunkOutcome:
    """Bill every period ended by `as_of` of the accounts (crm's billing accounts, locked by
    the caller, in id order) in the caller's transaction. An account that cannot be billed
    keeps the bills of its periods before the failing one and is reported in `failed`."""
    with _gc_paused():
        return _bill_chunk_accounts(accounts=accounts, as_of=as_of, bill_run=bill_run)


@contextmanager
def _gc_paused() -> Iterator[None]:
    """The cyclic garbage collector paused while a chunk is billed: the chunk holds a few
    hundred thousand live objects (rows, lines, Decimals), which the collector scanned again
    and again as they were made, a fifth of the chunk's Python time. Reference counting still
    frees what the chunk drops; the few cycles wait for the next collection."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _bill_chunk_accounts(
    *, accounts: list[Model], as_of: date, bill_run: BillRun | None
) -> ChunkOutcome:
    outcome = ChunkOutcome()
    reads = _read_chunk(accounts, as_of)
    if reads is None:
        outcome.billed = [account.id for account in accounts]
        return outcome
    rated, alone = [], []
    for account in accounts:
        if account.id not in reads.periods:
            outcome.billed.append(account.id)
            continue
        try:
            periods, error = _rate_account(account, reads)
        except _LateUsage:
            alone.append(account)
            continue
        rated += [(account, start, end, lines) for start, end, lines in periods]
        if error is None:
            outcome.billed.append(account.id)
        else:
            logger.warning("Bill run could not bill account %s: %s", account.id, error)
            outcome.failed[account.id] = failure_reason(error)
    for account in alone:
        try:
            made = len(account_bill(account=account, as_of=as_of, bill_run=bill_run))
            outcome.bills_created += made
            outcome.bills_made_alone += made
        except (OperationalError, InterfaceError):
            raise
        except Exception as error:  # noqa: BLE001 - one account's failure must not stop the others
            logger.exception("Bill run could not bill account %s", account.id)
            outcome.failed[account.id] = failure_reason(error)
        else:
            outcome.billed.append(account.id)
    bill_ids = _write_bills(rated, bill_run)
    # Account credit (unallocated payments) pays the new bills, oldest first, as one bill's.
    with_credit = set(
        Payment.objects.filter(
            billing_account_id__any={account.id for account, *_ in rated},
            unallocated_amount__gt=0,
        ).values_list("billing_account_id", flat=True)
    )
    if with_credit:
        for bill in (
            CustomerBill.objects.filter(pk__in=bill_ids, billing_account_id__in=with_credit)
            .select_related("billing_account")
            .order_by("pk")
        ):
            apply_account_credit(account=bill.billing_account, bill=bill)
    outcome.bills_created += len(bill_ids)
    return outcome
