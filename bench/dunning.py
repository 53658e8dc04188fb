"""Dunning at volume: the daily run's set-based statements over N overdue bills, beside
PostgreSQL COPY of the rows they write into bare tables in the same run.

    .venv/bin/python bench/dunning.py [--bills 100000] [--carry-out 1000]

Uses DATABASE_URL (default postgres://postgres@127.0.0.1:5432/telco_bench_dunning): creates and
migrates the database, lays down `bills` sent bills overdue by 20 days (one account, one
bill per period) under the Standard policy. Figures:
- open: one statement opens a case for every overdue bill;
- step: one statement takes every open case's next step (here the reminder);
- floor: COPY of the same case rows and action rows into bare tables (no indexes);
- carry-out: `carry-out` of the reminders sent as customer notifications (locmem e-mail),
  one by one as each is an e-mail: per second, for scale.
"""

import argparse
import time
from datetime import timedelta
from decimal import Decimal

from common import django_on_bench_database

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/telco_bench_dunning"


def seed(bills: int):
    from billing.models import CustomerBill, DunningAction, DunningCase
    from crm.tests.factories import BillingAccountFactory
    from telco import clock

    DunningAction.objects.all().delete()
    DunningCase.objects.all().delete()
    CustomerBill.objects.filter(bill_no__startswith="BENCH-").delete()
    account = BillingAccountFactory()
    now = clock.now()
    base = now - timedelta(days=20 + bills)
    rows = [
        CustomerBill(
            billing_account=account,
            bill_no=f"BENCH-{n:07d}",
            period_start=base + timedelta(days=n),
            period_end=base + timedelta(days=n + 1),
            bill_date=now - timedelta(days=30),
            payment_due_date=now - timedelta(days=20),
            state="sent",
            tax_excluded_amount=Decimal("10"),
            tax_amount=Decimal("2"),
            tax_included_amount=Decimal("12"),
            remaining_amount=Decimal("12"),
        )
        for n in range(bills)
    ]
    CustomerBill.objects.bulk_create(rows, batch_size=5000)
    return now


def timed(call) -> tuple[float, object]:
    started = time.perf_counter()
    result = call()
    return time.perf_counter() - started, result


def copy_floor(now) -> float:
    """COPY the case rows and the action rows the run writes into bare tables."""
    from django.db import connection, transaction

    from billing.models import DunningAction, DunningCase

    cases = list(
        DunningCase.objects.values_list("bill_id", "billing_account_id", "policy_id", "opened_at")
    )
    actions = list(DunningAction.objects.values_list("case_id", "step_id", "action"))
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS bench_case_copy, bench_action_copy")
        cursor.execute(
            "CREATE TABLE bench_case_copy (bill_id bigint, account_id bigint, policy_id bigint,"
            " reference_date timestamptz, opened_at timestamptz, close_reason text)"
        )
        cursor.execute(
            "CREATE TABLE bench_action_copy (case_id bigint, step_id bigint, action text,"
            " state text, created_at timestamptz, detail text, product_ids jsonb)"
        )
        started = time.perf_counter()
        with cursor.cursor.copy("COPY bench_case_copy FROM STDIN") as copy:
            for bill, account, policy, opened in cases:
                copy.write_row((bill, account, policy, opened, opened, ""))
        with cursor.cursor.copy("COPY bench_action_copy FROM STDIN") as copy:
            for case, step, action in actions:
                copy.write_row((case, step, action, "pending", now, "", "[]"))
        elapsed = time.perf_counter() - started
        cursor.execute("DROP TABLE bench_case_copy, bench_action_copy")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bills", type=int, default=100_000)
    parser.add_argument("--carry-out", type=int, default=1000)
    options = parser.parse_args()
    django_on_bench_database(
        DEFAULT_URL, EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend"
    )
    from django.db import connection, transaction

    from billing.models import DunningAction
    from billing.services import dunning
    from billing.services.dunning import NEXT_STEPS, dunning_cases_open

    now = seed(options.bills)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE billing_customerbill")
    with transaction.atomic():
        open_seconds, opened = timed(lambda: dunning_cases_open(now=now))

    def step():
        with connection.cursor() as cursor:
            cursor.execute(NEXT_STEPS, {"now": now})
            return cursor.rowcount

    with transaction.atomic():
        step_seconds, stepped = timed(step)
    floor = copy_floor(now)
    total = open_seconds + step_seconds
    print(f"bills overdue: {options.bills:,}; cases opened {opened:,}, steps taken {stepped:,}")
    print(f"open: {open_seconds:.2f} s  step: {step_seconds:.2f} s  total: {total:.2f} s")
    print(f"floor (COPY of the same case and action rows): {floor:.2f} s")
    print(f"ratio: {total / floor:.2f}x the floor")

    # Carrying out: leave `carry-out` reminders pending, the rest done.
    keep = list(
        DunningAction.objects.order_by("id").values_list("id", flat=True)[: options.carry_out]
    )
    DunningAction.objects.exclude(pk__in=keep).update(state="done")
    seconds, done = timed(dunning.dunning_actions_carry_out)
    print(
        f"reminders carried out (interaction + e-mail each): {done:,} in {seconds:.2f} s, "
        f"{done / seconds:,.0f}/s"
    )


if __name__ == "__main__":
    main()
