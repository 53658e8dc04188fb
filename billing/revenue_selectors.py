"""Revenue-assurance reads shared by the pages and the API: cases with what they concern, the
open cases by class, the 30-day trend, who can own a case."""

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.db import connection
from django.db.models import Count, Prefetch, Q, QuerySet, Sum
from django.db.models.functions import TruncDate
from django.utils import timezone

from billing.choices import CASE_ACTIVE_STATES, CaseKind
from billing.models import CaseEvent, ReconciliationRun, RevenueCase
from telco.money import DEFAULT_CURRENCY
from telco.roles import ADMIN, FINANCE, RISK

TREND_DAYS = 30


def case_list() -> QuerySet[RevenueCase]:
    """Cases with their account, customer, product, service and owner, newest seen first."""
    return RevenueCase.objects.select_related(
        "billing_account__customer", "product__customer", "service", "owner"
    ).order_by("-last_seen", "-id")


def case_with_events() -> QuerySet[RevenueCase]:
    """`case_list()` with each case's history, oldest first."""
    return case_list().prefetch_related(
        Prefetch("events", queryset=CaseEvent.objects.order_by("at", "id"))
    )


def case_owners() -> QuerySet:
    """Who can own a case: finance, risk and admin users (and superusers)."""
    return (
        get_user_model()
        .objects.filter(
            Q(groups__name__in=(FINANCE, RISK, ADMIN)) | Q(is_superuser=True), is_active=True
        )
        .distinct()
        .order_by("username")
    )


def latest_run() -> ReconciliationRun | None:
    return ReconciliationRun.objects.order_by("-started_at", "-id").first()


@dataclass
class KindRow:
    kind: str
    label: str
    is_fraud: bool
    count: int = 0
    amounts: dict[str, Decimal] = field(default_factory=dict)  # currency -> at risk a month


def open_cases_by_kind() -> list[KindRow]:
    """Open and investigated cases by class: how many, and the revenue at risk a month per
    currency (one grouped query)."""
    rows = {
        kind.value: KindRow(kind.value, kind.label, kind.value.startswith("fraud"))
        for kind in CaseKind
    }
    grouped = (
        RevenueCase.objects.filter(state__in=CASE_ACTIVE_STATES)
        .values("kind", "currency")
        .annotate(count=Count("id"), amount=Sum("amount_at_risk"))
        .order_by()
    )
    for each in grouped:
        row = rows[each["kind"]]
        row.count += each["count"]
        currency = each["currency"] or DEFAULT_CURRENCY
        row.amounts[currency] = row.amounts.get(currency, Decimal(0)) + Decimal(
            str(each["amount"] or 0)
        )
    return [row for row in rows.values() if row.count]


def amounts_by_currency(rows: list[KindRow]) -> dict[str, Decimal]:
    totals: dict[str, Decimal] = {}
    for row in rows:
        for currency, amount in row.amounts.items():
            totals[currency] = totals.get(currency, Decimal(0)) + amount
    return dict(sorted(totals.items()))


@dataclass
class TrendDay:
    day: date
    opened: int
    closed: int
    at_risk: Decimal  # open cases' amount at risk at the end of the day, in the trend currency


@dataclass
class Trend:
    currency: str
    days: list[TrendDay]


# A case's state spans (from one state event to the next), and the revenue at risk of the
# cases active at each day's end: one statement, on PostgreSQL and SQLite alike.
_AT_RISK_SQL = """
WITH spans AS (
    SELECT e.case_id, e.at AS since, e.to_state,
           LEAD(e.at) OVER (PARTITION BY e.case_id ORDER BY e.at, e.id) AS until
    FROM billing_caseevent e
    WHERE e.to_state <> ''
    -- A case closed before the window (and not open again since) is active on none of its days.
    AND e.case_id IN (
        SELECT id FROM billing_revenuecase WHERE closed_at IS NULL OR closed_at >= %s
    )
), day_ends AS ({days})
SELECT d.day_end, COALESCE(SUM(c.amount_at_risk), 0)
FROM day_ends d
LEFT JOIN spans s
    ON s.since < d.day_end AND (s.until IS NULL OR s.until >= d.day_end)
    AND s.to_state IN (%s, %s)
LEFT JOIN billing_revenuecase c
    ON c.id = s.case_id AND (c.currency = %s OR (c.currency = '' AND %s))
GROUP BY d.day_end
ORDER BY d.day_end
"""


def _start_of(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


def case_trend(*, today: date, days: int = TREND_DAYS) -> Trend:
    """Per day of the last `days` (today included): cases opened (found, or moved back to open
    from resolved or accepted), cases closed (moved from open or investigating to resolved or
    accepted), and the revenue at risk of the cases still active at the day's end, in the
    currency with the most at risk. Two statements, whatever the number of cases."""
    first = today - timedelta(days=days - 1)
    active = list(CASE_ACTIVE_STATES)
    counted = (
        CaseEvent.objects.filter(at__gte=_start_of(first), at__lt=_start_of(today) + timedelta(1))
        .exclude(to_state="")
        .annotate(day=TruncDate("at"))
        .values("day")
        .annotate(
            opened=Count("id", filter=Q(to_state__in=active) & ~Q(from_state__in=active)),
            closed=Count("id", filter=~Q(to_state__in=active) & Q(from_state__in=active)),
        )
        .order_by()
    )
    per_day = {_as_date(row["day"]): row for row in counted}
    currency = _trend_currency()
    day_list = [first + timedelta(offset) for offset in range(days)]
    ends = [_start_of(day) + timedelta(1) for day in day_list]
    # The day ends as a derived table: one row per parameter, portable SQL.
    days_sql = " UNION ALL ".join(["SELECT %s AS day_end"] * len(ends))
    # As the backend stores them (SQLite compares text: naive UTC, no offset).
    adapt = connection.ops.adapt_datetimefield_value
    params = [adapt(_start_of(first)), *(adapt(end) for end in ends)]
    params += [*active, currency, currency == DEFAULT_CURRENCY]
    with connection.cursor() as cursor:
        cursor.execute(_AT_RISK_SQL.format(days=days_sql), params)
        at_risk = [Decimal(str(amount)) for _, amount in cursor.fetchall()]
    return Trend(
        currency=currency,
        days=[
            TrendDay(
                day=day,
                opened=per_day.get(day, {}).get("opened", 0),
                closed=per_day.get(day, {}).get("closed", 0),
                at_risk=amount,
            )
            for day, amount in zip(day_list, at_risk, strict=True)
        ],
    )


def _as_date(value) -> date:
    # SQLite answers TruncDate with text.
    return date.fromisoformat(value) if isinstance(value, str) else value


def _trend_currency() -> str:
    """The currency most revenue at risk is in (the default one when nothing is)."""
    top = (
        RevenueCase.objects.filter(state__in=CASE_ACTIVE_STATES)
        .exclude(currency="")
        .values("currency")
        .annotate(amount=Sum("amount_at_risk"))
        .order_by("-amount", "currency")
        .first()
    )
    return top["currency"] if top else DEFAULT_CURRENCY
