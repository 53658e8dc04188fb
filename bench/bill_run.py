"""A bill run over N accounts with demo-like products and usage, beside the SQL floor.

    .venv/bin/python bench/bill_run.py [--accounts 100000] [--chunk 1000]

Uses DATABASE_URL (default postgres://postgres@127.0.0.1:5432/telco_bench_bill_run): creates
and migrates it, seeds a small demo once (`seed_demo --customers 30`, for the catalog and the
product mix), then builds the bench's own data set-based in SQL (a few statements, whatever N):
N billing accounts (cycle day 1), each holding a copy of one of the demo's started top-level
products (in turn, so the mix of offerings is the demo's), every third account a second one,
started on the first of last month, and four usage records per product and usage price in
that month (volumes around the allowance, so some go beyond it and into the tiers).

It then times, on the same data:
- the floor: one INSERT ... SELECT of each account's recurring and usage total (allowance
  taken off, flat price) into an unlogged table;
- the bill run (`bill_run_start`, this process, chunks of --chunk accounts): bills with their
  lines (recurring, one-time, usage, discounts, tax), usage marked billed, numbers assigned;
and prints both, accounts/s and the ratio (goal <= 2x). The floor computes far less than the
run writes (a total per account), so a second floor is printed beside it: the physical cost of
writing what the run wrote (its bills and lines COPYed into bare copies of their tables, its
usage rows marked billed by the same UPDATE on a copy of them), and the ratio to it. Each
invocation first removes the bench accounts' bills of an earlier invocation, so it can be run
again.
"""

import argparse
import time
from datetime import UTC, datetime

from common import django_on_bench_database

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/telco_bench_bill_run"
PREFIX = "BN"
EVENTS_PER_PRICE = 4


def _columns(model, exprs: dict, template: str | None) -> tuple[str, str, list]:
    """The INSERT column list, SELECT list and its parameters for `model`: `exprs` (column ->
    SQL, or (SQL, parameters)) first, the template row's value (`template` alias) or else the
    field's default for the others."""
    from django.db import connection

    columns, values, params = [], [], []
    for field in model._meta.concrete_fields:
        if field.primary_key:
            continue
        columns.append(field.column)
        if field.column in exprs:
            expr = exprs[field.column]
            sql, expr_params = (expr, []) if isinstance(expr, str) else expr
            values.append(sql)
            params += expr_params
        elif template is not None:
            values.append(f"{template}.{field.column}")
        else:
            values.append("%s")
            params.append(field.get_db_prep_save(field.get_default(), connection))
    return ", ".join(columns), ", ".join(values), params


def build(accounts: int, month_start: datetime) -> list[int]:
    """The bench's accounts, products and usage (kept if already there); their account ids."""
    from django.db import connection, transaction

    from billing.models import UsageEvent
    from catalog.models import ProductOfferingPrice
    from crm.models import BillingAccount
    from inventory.models import ProductInstance, Service

    account_table = BillingAccount._meta.db_table
    product_table = ProductInstance._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT id FROM {account_table} WHERE account_number LIKE %s ORDER BY id",  # noqa: S608
            [f"{PREFIX}%"],
        )
        ids = [row[0] for row in cursor.fetchall()]
    if len(ids) == accounts:
        return ids
    if ids:
        raise SystemExit(f"{len(ids)} bench accounts exist, not {accounts}: use a new database")
    templates = list(
        ProductInstance.objects.filter(
            start_date__isnull=False, parent__isnull=True, status="active"
        )
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    template_account = BillingAccount.objects.order_by("pk").first()
    with transaction.atomic(), connection.cursor() as cursor:
        columns, values, params = _columns(
            BillingAccount,
            {
                "account_number": f"'{PREFIX}' || lpad(g::text, 10, '0')",
                "name": "'Bench account ' || g",
                "bill_cycle_day": "1",
                "cycle_specification_id": "NULL",
                "state": "'active'",
            },
            "t",
        )
        cursor.execute(
            f"INSERT INTO {account_table} ({columns}) SELECT {values} "  # noqa: S608
            f"FROM {account_table} t, generate_series(1, %s) g WHERE t.id = %s",
            [*params, accounts, template_account.pk],
        )
        # One product each (the demo's products in turn), a second one every third account.
        for offset, every in ((0, 1), (1, 3)):
            columns, values, params = _columns(
                ProductInstance,
                {
                    "customer_id": "a.customer_id",
                    "billing_account_id": "a.id",
                    "status": "'active'",
                    "start_date": ("%s", [month_start]),
                    "termination_date": "NULL",
                    "product_order_id": "''",
                    "product_order_item_id": "''",
                },
                "t",
            )
            cursor.execute(
                f"INSERT INTO {product_table} ({columns}) SELECT {values} "  # noqa: S608
                f"FROM generate_series(1, %s) g "
                f"JOIN {account_table} a "
                f"  ON a.account_number = '{PREFIX}' || lpad(g::text, 10, '0') "
                f"JOIN unnest(%s::bigint[]) WITH ORDINALITY AS tp(id, n) "
                f"  ON tp.n = (g + %s) %% %s + 1 "
                f"JOIN {product_table} t ON t.id = tp.id WHERE g %% %s = 0",
                [*params, accounts, templates, offset, len(templates), every],
            )
        columns, values, params = _columns(
            UsageEvent,
            {
                "event_id": "'bn-' || p.id || '-' || price.id || '-' || k",
                # Any service: the bench's products have none, and billing reads the product.
                "service_id": ("%s", [Service.objects.order_by("pk").values("pk")[0]["pk"]]),
                "product_id": "p.id",
                "billing_account_id": "p.billing_account_id",
                "usage_date": ("%s + (k * 6 + p.id %% 5) * interval '1 day'", [month_start]),
                "rating_group": "price.rating_group",
                "volume": "round(price.included_allowance * (0.1 + (p.id * 7 + k) %% 10 / 20.0)"
                " + 1, 3)",
                "unit": "price.unit_of_measure",
                "rated_volume": "round(price.included_allowance * (0.1 + (p.id * 7 + k) %% 10 "
                "/ 20.0) + 1, 3)",
                "status": "'received'",
            },
            None,
        )
        cursor.execute(
            f"INSERT INTO {UsageEvent._meta.db_table} ({columns}) SELECT {values} "  # noqa: S608
            f"FROM {product_table} p JOIN {account_table} a ON a.id = p.billing_account_id "
            f"JOIN {ProductOfferingPrice._meta.db_table} price "
            "  ON price.product_offering_id = p.product_offering_id "
            "  AND price.price_type = 'usage' AND price.lifecycle_status = 'launched' "
            f"CROSS JOIN generate_series(1, %s) k WHERE a.account_number LIKE %s",
            [*params, EVENTS_PER_PRICE, f"{PREFIX}%"],
        )
        cursor.execute(
            f"SELECT id FROM {account_table} WHERE account_number LIKE %s ORDER BY id",  # noqa: S608
            [f"{PREFIX}%"],
        )
        ids = [row[0] for row in cursor.fetchall()]
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    return ids


def reset(account_ids: list[int]) -> None:
    """Undo an earlier invocation's bills of the bench accounts (lines, bills, usage status)."""
    from django.db import connection, transaction

    from billing.models import AppliedCharge, BillRun, CustomerBill, UsageEvent

    with transaction.atomic(), connection.cursor() as cursor:
        # Without triggers: the audit rows of deleting 100,000 bills one by one took minutes,
        # and nothing refers to the bench's bills.
        cursor.execute("SET LOCAL session_replication_role = replica")
        cursor.execute(
            f"UPDATE {UsageEvent._meta.db_table} "  # noqa: S608
            "SET status = 'received', applied_charge_id = NULL WHERE billing_account_id = ANY(%s) AND status = 'billed'",  # noqa: E501
            [account_ids],
        )
        cursor.execute(
            f"DELETE FROM {AppliedCharge._meta.db_table} WHERE billing_account_id = ANY(%s)",  # noqa: S608
            [account_ids],
        )
        cursor.execute(
            f"DELETE FROM {CustomerBill._meta.db_table} WHERE billing_account_id = ANY(%s)",  # noqa: S608
            [account_ids],
        )
        BillRun.objects.all().delete()


def settle_statistics() -> None:
    """VACUUM and ANALYZE, as autovacuum would have, then a new connection, as a worker starts
    with.

    PostgreSQL plans a foreign-key check once per connection and keeps the plan until the
    table's statistics change: planned while the bills table held a page (the demo's bills
    above) and never analyzed after (autovacuum is off on the bench machines), the check of
    every new bill line's bill became a sequential scan of all bills, 80% of the run's time
    at 20,000 accounts and growing with each chunk."""
    from django.db import connection

    from billing.models import AppliedCharge, CustomerBill, UsageEvent

    with connection.cursor() as cursor:
        # A rerun's reset left the last run's rows dead: vacuum them away, so a rerun writes
        # into tables as the first run found them.
        for model in (UsageEvent, AppliedCharge, CustomerBill):
            cursor.execute(f"VACUUM {model._meta.db_table}")
        cursor.execute("ANALYZE")
    connection.close()


def floor(account_ids: list[int], start: datetime, end: datetime) -> float:
    """Seconds of one INSERT ... SELECT of every account's recurring + usage total."""
    from django.db import connection, transaction

    from billing.models import UsageEvent
    from catalog.models import ProductOfferingPrice
    from inventory.models import ProductInstance

    price = ProductOfferingPrice._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE UNLOGGED TABLE IF NOT EXISTS bench_bill_floor "
            "(billing_account_id bigint, total numeric)"
        )
        cursor.execute("TRUNCATE bench_bill_floor")
    began = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            f"""
            INSERT INTO bench_bill_floor
            SELECT p.billing_account_id, sum(coalesce(r.amount, 0) + coalesce(u.charge, 0))
            FROM {ProductInstance._meta.db_table} p
            LEFT JOIN (
                SELECT product_offering_id, sum(amount) AS amount FROM {price}
                WHERE price_type = 'recurring' AND lifecycle_status = 'launched' GROUP BY 1
            ) r ON r.product_offering_id = p.product_offering_id
            LEFT JOIN (
                SELECT used.product_id,
                       sum(greatest(used.volume - pr.included_allowance, 0) * pr.amount) AS charge
                FROM (
                    SELECT product_id, rating_group, sum(rated_volume) AS volume
                    FROM {UsageEvent._meta.db_table}
                    WHERE billing_account_id = ANY(%(ids)s)
                      AND usage_date >= %(start)s AND usage_date < %(end)s
                    GROUP BY 1, 2
                ) used
                JOIN {ProductInstance._meta.db_table} up ON up.id = used.product_id
                JOIN {price} pr ON pr.product_offering_id = up.product_offering_id
                     AND pr.rating_group = used.rating_group AND pr.price_type = 'usage'
                     AND pr.lifecycle_status = 'launched'
                GROUP BY 1
            ) u ON u.product_id = p.id
            WHERE p.billing_account_id = ANY(%(ids)s)
            GROUP BY p.billing_account_id
            """,  # noqa: S608
            {"ids": account_ids, "start": start, "end": end},
        )
    return time.perf_counter() - began


def _copy_out(cursor, query: str) -> list[bytes]:
    """The rows of `query` in COPY's text format, in memory."""
    with cursor.cursor.copy(f"COPY ({query}) TO STDOUT") as copy:
        return [bytes(data) for data in copy]


def write_floor(bill_run_id: int) -> tuple[float, int]:
    """Seconds to write, physically, what the run wrote, and how many usage rows it marked:
    the run's bills and lines COPYed into bare copies of their tables (columns and indexes, no
    foreign keys nor triggers) and the run's usage rows, copied as they were before it (not
    billed), marked billed by the same UPDATE through the primary key, in one transaction."""
    from django.db import connection, transaction

    from billing.models import AppliedCharge, CustomerBill, UsageEvent

    bill, line, usage = (
        model._meta.db_table for model in (CustomerBill, AppliedCharge, UsageEvent)
    )
    bills_of_run = f"SELECT id FROM {bill} WHERE bill_run_id = {bill_run_id:d}"  # noqa: S608
    lines_of_run = f"SELECT id FROM {line} WHERE bill_id IN ({bills_of_run})"  # noqa: S608
    columns = [field.column for field in UsageEvent._meta.concrete_fields]
    unbilled = {"status": "'received'", "applied_charge_id": "NULL"}
    with connection.cursor() as cursor:
        for table in (bill, line, usage):
            cursor.execute(f"DROP TABLE IF EXISTS bench_floor_{table}")
            cursor.execute(
                f"CREATE TABLE bench_floor_{table} "
                f"(LIKE {table} INCLUDING DEFAULTS INCLUDING INDEXES)"
            )
        bills = _copy_out(cursor, f"SELECT * FROM {bill} WHERE id IN ({bills_of_run})")  # noqa: S608
        lines = _copy_out(cursor, f"SELECT * FROM {line} WHERE id IN ({lines_of_run})")  # noqa: S608
        cursor.execute(
            f"INSERT INTO bench_floor_{usage} ({', '.join(columns)}) "  # noqa: S608
            f"SELECT {', '.join(unbilled.get(column, column) for column in columns)} "
            f"FROM {usage} WHERE applied_charge_id IN ({lines_of_run})"
        )
        cursor.execute(
            f"SELECT id, applied_charge_id FROM {usage} "  # noqa: S608
            f"WHERE applied_charge_id IN ({lines_of_run}) ORDER BY id"
        )
        charged = cursor.fetchall()
        cursor.execute(f"ANALYZE bench_floor_{usage}")
    began = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cursor:
        for table, rows in ((bill, bills), (line, lines)):
            with cursor.cursor.copy(f"COPY bench_floor_{table} FROM STDIN") as copy:
                for data in rows:
                    copy.write(data)
        # What the bill run's chunks do (one statement each), for all of the run at once.
        cursor.execute(
            f"UPDATE bench_floor_{usage} AS usage SET status = 'billed', "  # noqa: S608
            "applied_charge_id = charged.line FROM unnest(%s::bigint[], %s::bigint[]) "
            "AS charged(event, line) WHERE usage.id = charged.event",
            [[event for event, _ in charged], [charge for _, charge in charged]],
        )
    return time.perf_counter() - began, len(charged)


def _bill_chunks(chunk_ids: list[int]) -> None:
    from django.db import connection

    from billing.services import bill_run_chunk_bill

    connection.close()  # a connection of this process's own
    for chunk_id in chunk_ids:
        bill_run_chunk_bill(chunk_id=chunk_id)


def run_in_processes(as_of, processes: int):
    """A bill run of every account, its chunks billed by `processes` processes (as that many
    workers would), or in this one."""
    import multiprocessing

    from django.db import connection

    from billing.models import BillRun
    from billing.services import bill_run_create, bill_run_resume

    run = bill_run_create(as_of=as_of)
    if processes <= 1:
        return bill_run_resume(bill_run_id=run.pk)
    chunk_ids = list(run.chunks.order_by("first_account_id").values_list("pk", flat=True))
    connection.close()
    with multiprocessing.get_context("fork").Pool(processes) as pool:
        pool.map(_bill_chunks, [chunk_ids[index::processes] for index in range(processes)])
    return BillRun.objects.get(pk=run.pk)


def _cpu_seconds() -> tuple[float, float, int]:
    """CPU seconds so far of this process and of its database backend (same machine): less
    noisy than wall time on a shared machine. The run of one process uses this connection."""
    import os

    from django.db import connection

    connection.ensure_connection()
    with open(f"/proc/{connection.connection.info.backend_pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    backend = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return time.process_time(), backend, connection.connection.info.backend_pid


def one_at_a_time(account_ids: list[int], as_of) -> float:
    """Seconds to bill the accounts one by one through `account_bill` (the path before chunks)."""
    from billing.services import account_bill
    from crm.models import BillingAccount

    began = time.perf_counter()
    for account in BillingAccount.objects.filter(pk__in=account_ids).order_by("pk"):
        account_bill(account=account, as_of=as_of)
    return time.perf_counter() - began


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--accounts", type=int, default=100_000)
    parser.add_argument("--chunk", type=int, default=1000)
    parser.add_argument(
        "--processes", type=int, default=1, help="bill the chunks in this many processes"
    )
    parser.add_argument(
        "--before-sample",
        type=int,
        default=1000,
        help="accounts billed again one at a time (the per-account path, as before) to compare",
    )
    args = parser.parse_args()
    django_on_bench_database(DEFAULT_URL, BILL_RUN_CHUNK_ACCOUNTS=str(args.chunk))

    from django.core.management import call_command

    from billing.models import AppliedCharge, CustomerBill
    from billing.services import account_bill
    from crm.models import BillingAccount
    from telco import clock

    if not BillingAccount.objects.exclude(account_number__startswith=PREFIX).exists():
        print("seeding a small demo for the catalog and the product mix ...", flush=True)
        call_command("seed_demo", customers=30, skip_bill_run=True, verbosity=0)
    today = clock.now()
    this_month = datetime(today.year, today.month, 1, tzinfo=UTC)
    last_month = datetime(
        today.year - (today.month == 1), (today.month - 2) % 12 + 1, 1, tzinfo=UTC
    )
    began = time.perf_counter()
    ids = build(args.accounts, last_month)
    print(f"{len(ids)} bench accounts ready in {time.perf_counter() - began:.1f} s", flush=True)
    # The demo's own accounts are billed first (and left billed) so the run times the bench's.
    for account in BillingAccount.objects.exclude(account_number__startswith=PREFIX):
        account_bill(account=account, as_of=today.date())
    reset(ids)
    settle_statistics()

    floor_seconds = floor(ids, last_month, this_month)
    began = time.perf_counter()
    cpu = _cpu_seconds()
    run = run_in_processes(today.date(), args.processes)
    seconds = time.perf_counter() - began
    cpu = [after - before for before, after in zip(cpu, _cpu_seconds(), strict=True)]
    bills = CustomerBill.objects.filter(billing_account_id__in=ids).count()
    lines = AppliedCharge.objects.filter(billing_account_id__in=ids).count()
    print(
        f"bill run: {run.accounts_done} accounts, {bills} bills, {lines} lines in {seconds:.2f} s "
        f"({run.accounts_done / seconds:,.0f} accounts/s), state {run.state}"
    )
    print(f"floor (one INSERT ... SELECT of recurring + usage totals): {floor_seconds:.2f} s")
    print(f"ratio: {seconds / floor_seconds:.1f}x the floor (goal <= 2x)")
    if args.processes <= 1 and cpu[2] == 0:  # the same backend before and after
        print(f"CPU of the run: Python {cpu[0]:.2f} s, PostgreSQL backend {cpu[1]:.2f} s")
    write_seconds, marked = write_floor(run.pk)
    print(
        f"write floor (COPY of the run's {bills} bills and {lines} lines into bare copies of "
        f"their tables + the same UPDATE of its {marked} usage rows, one commit): "
        f"{write_seconds:.2f} s; ratio: {seconds / write_seconds:.1f}x"
    )
    if args.before_sample:
        sample = ids[: args.before_sample]
        reset(sample)
        before = one_at_a_time(sample, today.date())
        print(
            f"per-account path (as before) on {len(sample)} of these accounts: "
            f"{len(sample) / before:,.0f} accounts/s, so the chunked run is "
            f"{run.accounts_done / seconds / (len(sample) / before):.1f}x faster"
        )


if __name__ == "__main__":
    main()
