"""Finance reads: bills and payments for the search pages, aged debt and revenue by month and
product line. Each is a fixed number of queries, whatever the number of rows."""

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from django.core.paginator import Paginator
from django.db import connection
from django.db.models import Count, DecimalField, Prefetch, Q, QuerySet, Sum, Value
from django.db.models.functions import Coalesce, TruncMonth

from billing.models import AppliedCharge, CustomerBill, Payment, PaymentAllocation
from billing.services.periods import add_months
from catalog import selectors as catalog_selectors
from crm import selectors as crm_selectors

MONEY = DecimalField(max_digits=18, decimal_places=4)
ROWS_PER_PAGE = 50
# Aged debt: the unpaid remainder of bills by days past their payment due date.
AGE_BUCKETS = (
    ("not_due", "Not yet due"),
    ("days_0_30", "0-30 days"),
    ("days_31_60", "31-60 days"),
    ("days_61_90", "61-90 days"),
    ("days_over_90", "90+ days"),
)
OTHER_PRODUCT_LINE = "Other"


def bill_rows() -> QuerySet[CustomerBill]:
    """Bills with their account and customer, newest first (the bills search): in id order,
    which is the order bills are cut in, so a page is read along the primary key's index."""
    return CustomerBill.objects.select_related("billing_account__customer").order_by("-id")


def payment_rows() -> QuerySet[Payment]:
    """Payments with their account, customer and the bills they settled, newest first."""
    return (
        Payment.objects.select_related("billing_account__customer")
        .prefetch_related(
            Prefetch(
                "allocations",
                queryset=PaymentAllocation.objects.select_related("bill").order_by("id"),
            )
        )
        .order_by("-payment_date", "-id")
    )


def page_of(queryset: QuerySet, number) -> object:
    """One page (`ROWS_PER_PAGE` rows) of `queryset`: a count and the page's rows."""
    return Paginator(queryset, ROWS_PER_PAGE).get_page(number)


# --- aged debt ------------------------------------------------------------------------------


@dataclass
class AgedDebtRow:
    """An account's unpaid bills by age, or (with no account) the totals of one currency."""

    currency: str
    amounts: dict[str, Decimal]
    total: Decimal
    bills: int
    accounts: int = 1
    billing_account_id: int | None = None
    account: object = None  # crm's billing account, with its customer


@dataclass
class AgedDebt:
    """One page of accounts in debt (largest debt first) and the totals of all of them."""

    as_of: datetime
    rows: list[AgedDebtRow]
    totals: list[AgedDebtRow]
    number: int
    num_pages: int
    count: int
    buckets: tuple = AGE_BUCKETS

    @property
    def has_previous(self) -> bool:
        return self.number > 1

    @property
    def has_next(self) -> bool:
        return self.number < self.num_pages


def _money(value) -> Decimal:
    """A sum as the database returns it (Decimal on PostgreSQL, float or text on SQLite)."""
    return Decimal(str(value or 0)).quantize(Decimal("0.0001"))


def _aged_per_account(as_of: datetime) -> QuerySet:
    """Per account (and currency): the unpaid remainder of its bills in each age bucket."""
    bounds = {
        "not_due": {"payment_due_date__gte": as_of},
        "days_0_30": {
            "payment_due_date__lt": as_of,
            "payment_due_date__gte": as_of - timedelta(days=30),
        },
        "days_31_60": {
            "payment_due_date__lt": as_of - timedelta(days=30),
            "payment_due_date__gte": as_of - timedelta(days=60),
        },
        "days_61_90": {
            "payment_due_date__lt": as_of - timedelta(days=60),
            "payment_due_date__gte": as_of - timedelta(days=90),
        },
        "days_over_90": {"payment_due_date__lt": as_of - timedelta(days=90)},
    }
    sums = {
        name: Coalesce(
            Sum("remaining_amount", filter=Q(**condition)), Value(Decimal(0)), output_field=MONEY
        )
        for name, condition in bounds.items()
    }
    return (
        CustomerBill.objects.filter(remaining_amount__gt=0)
        .order_by()
        .values("billing_account_id", "currency")
        .annotate(**sums, total=Sum("remaining_amount"), bills=Count("id"))
    )


def aged_debt(*, as_of: datetime, page: int = 1) -> AgedDebt:
    """Aged debt at `as_of`: one page of accounts (largest debt first) and the totals per
    currency over every account, in one statement; then the page's account names."""
    inner, params = _aged_per_account(as_of).query.sql_with_params()
    names = [name for name, _ in AGE_BUCKETS]
    amounts = ", ".join(names)
    sums = ", ".join(f"SUM({name})" for name in names)
    page = max(page, 1)
    # `inner` is SQL Django compiled from the queryset above (its values are parameters).
    sql = f"""
        WITH per_account AS ({inner}),
        page AS (
            SELECT * FROM per_account ORDER BY total DESC, billing_account_id
            LIMIT %s OFFSET %s
        )
        SELECT 0 AS is_total, billing_account_id, currency, {amounts}, total, bills, 1
        FROM page
        UNION ALL
        SELECT 1, NULL, currency, {sums}, SUM(total), SUM(bills), COUNT(*)
        FROM per_account GROUP BY currency
    """  # noqa: S608
    with connection.cursor() as cursor:
        cursor.execute(sql, [*params, ROWS_PER_PAGE, (page - 1) * ROWS_PER_PAGE])
        records = cursor.fetchall()
    rows, totals = [], []
    for is_total, account_id, currency, *values in records:
        bucket_values, (total, bills, accounts) = values[: len(names)], values[len(names) :]
        row = AgedDebtRow(
            currency=currency,
            amounts={name: _money(value) for name, value in zip(names, bucket_values, strict=True)},
            total=_money(total),
            bills=int(bills),
            accounts=int(accounts),
            billing_account_id=account_id,
        )
        (totals if is_total else rows).append(row)
    rows.sort(key=lambda row: (-row.total, row.billing_account_id))
    totals.sort(key=lambda row: row.currency)
    accounts = crm_selectors.billing_account_rows().select_related("customer")
    by_id = accounts.in_bulk([row.billing_account_id for row in rows]) if rows else {}
    for row in rows:
        row.account = by_id.get(row.billing_account_id)
    count = sum(row.accounts for row in totals)
    num_pages = max(1, -(-count // ROWS_PER_PAGE))
    return AgedDebt(
        as_of=as_of,
        rows=rows,
        totals=totals,
        number=page,
        num_pages=num_pages,
        count=count,
    )


# --- revenue --------------------------------------------------------------------------------


@dataclass
class Revenue:
    """Revenue (bill lines net of tax) by month of the bill date and product line, per currency.

    `table[currency][line][month]` is the amount; `months` are the first days of the months
    shown, oldest first; `lines[currency]` the product lines, largest first.
    """

    months: list[datetime]
    lines: dict[str, list[str]]
    table: dict[str, dict[str, dict[datetime, Decimal]]]

    def month_totals(self, currency: str) -> dict[datetime, Decimal]:
        return {
            month: sum(
                (by_month.get(month, Decimal(0)) for by_month in self.table[currency].values()),
                Decimal(0),
            )
            for month in self.months
        }

    def line_totals(self, currency: str) -> dict[str, Decimal]:
        return {
            line: sum(self.table[currency][line].values(), Decimal(0))
            for line in self.lines[currency]
        }


def month_starts(last_month: datetime, count: int) -> list[datetime]:
    """`count` first-of-month instants ending with `last_month`'s, oldest first."""
    last = last_month.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    return [add_months(last, -back) for back in range(count - 1, -1, -1)]


def revenue_by_month(*, now: datetime, months: int) -> Revenue:
    """Revenue of the last `months` months (this one included): one statement summing the bill
    lines by month, currency and offering, and the catalog's product line of each offering."""
    starts = month_starts(now, months)
    end = add_months(starts[-1], 1)
    sums = (
        AppliedCharge.objects.filter(bill__bill_date__gte=starts[0], bill__bill_date__lt=end)
        .annotate(month=TruncMonth("bill__bill_date"))
        .order_by()
        .values_list("month", "currency", "product__product_offering_id")
        .annotate(net=Sum("tax_excluded_amount"))
    )
    product_lines = catalog_selectors.offering_product_lines()
    table: dict[str, dict[str, dict[datetime, Decimal]]] = {}
    for month, currency, offering_id, net in sums:
        line = product_lines.get(offering_id, OTHER_PRODUCT_LINE)
        by_month = table.setdefault(currency, {}).setdefault(line, {})
        by_month[month] = by_month.get(month, Decimal(0)) + _money(net)
    lines = {
        currency: sorted(by_line, key=lambda line: (-sum(by_line[line].values()), line))
        for currency, by_line in table.items()
    }
    return Revenue(months=starts, lines=lines, table=table)
