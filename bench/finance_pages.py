"""The finance pages' reads and the PDF invoice over many bills, beside the COPY floor.

    .venv/bin/python bench/finance_pages.py [--accounts 20000] [--months 12]

Uses DATABASE_URL (default postgres://postgres@127.0.0.1:5432/telco_bench_finance): creates and
migrates it, then builds its own data once, set-based: --accounts billing accounts with one
product each (offerings in three product lines), and --months monthly bills per account (two
lines each), the older ones paid, the last three unpaid with due dates spread over 120 days.

It then times, on the same data (best of 3, warm cache):
- aged debt, page 1 (one statement over every unpaid bill, then the page's account names),
  beside the floor: COPY of the unpaid bills' (account, remainder, due date) to nowhere;
- revenue by month and product line over the months (one statement over the lines), beside
  COPY of those lines' (bill date, currency, offering, net);
- the bills search, page 1, unfiltered and by customer name (count and page);
- one PDF invoice rendered, and the same served from storage;
and prints each figure, its floor and the ratio.
"""

import argparse
import io
import time
from datetime import datetime, timedelta

from common import django_on_bench_database

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/telco_bench_finance"
PREFIX = "FB"


def best_of(call, runs: int = 3) -> float:
    """The fastest of `runs` timed calls, in seconds."""
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        call()
        times.append(time.perf_counter() - started)
    return min(times)


def copy_seconds(sql: str, params: list) -> float:
    """Seconds to COPY the rows of `sql` out of PostgreSQL (the floor of reading them)."""
    from django.db import connection

    with connection.cursor() as cursor:
        query = cursor.mogrify(sql, params)

        def run():
            sink = io.BytesIO()
            with cursor.copy(f"COPY ({query}) TO STDOUT") as copy:
                for block in copy:
                    sink.write(block)

        return best_of(run)


def _fill(model, exprs: dict[str, str]) -> tuple[str, str, list]:
    """Column list and SELECT list for INSERT ... SELECT into `model`: `exprs` for the named
    columns, each other column's default (so columns other modules add are filled too)."""
    from django.db import connection

    columns, values, params = [], [], []
    for field in model._meta.concrete_fields:
        if field.primary_key:
            continue
        columns.append(field.column)
        if field.column in exprs:
            values.append(exprs[field.column])
        else:
            values.append("%s")
            params.append(field.get_db_prep_save(field.get_default(), connection))
    return ", ".join(columns), ", ".join(values), params


def build(accounts: int, months: int, now: datetime) -> None:
    """The bench's accounts, products, bills and lines (kept if already there)."""
    from django.db import connection, transaction

    from billing.models import AppliedCharge, CustomerBill
    from catalog.models import Category, ProductOffering, ProductSpecification
    from crm.models import BillingAccount, Customer, Party
    from inventory.models import ProductInstance

    existing = BillingAccount.objects.filter(account_number__startswith=PREFIX).count()
    if existing >= accounts:
        return
    started = time.perf_counter()
    with transaction.atomic():
        specification, _ = ProductSpecification.objects.get_or_create(name="Bench spec")
        offering_ids = []
        for line in ("Mobile", "Broadband", "Business"):
            category, _ = Category.objects.get_or_create(name=f"Bench {line}")
            offering, _ = ProductOffering.objects.get_or_create(
                name=f"Bench {line} plan", defaults={"product_specification": specification}
            )
            offering.categories.add(category)
            offering_ids.append(offering.pk)
        parties = Party.objects.bulk_create(
            Party(kind="individual", given_name="Bench", family_name=f"Payer{i:07d}")
            for i in range(existing, accounts)
        )
        customers = Customer.objects.bulk_create(
            Customer(party=party, name=f"Bench Payer{i:07d}")
            for i, party in enumerate(parties, start=existing)
        )
        billing_accounts = BillingAccount.objects.bulk_create(
            BillingAccount(customer=customer, account_number=f"{PREFIX}{i:08d}", name=customer.name)
            for i, customer in enumerate(customers, start=existing)
        )
        ProductInstance.objects.bulk_create(
            ProductInstance(
                customer=account.customer,
                billing_account=account,
                product_offering_id=offering_ids[i % 3],
                name=f"Bench plan {i}",
                status="active",
                start_date=now - timedelta(days=400),
            )
            for i, account in enumerate(billing_accounts)
        )
        unpaid_from = int(months) - 3
        first_month = (now.replace(day=1) - timedelta(days=31 * (months - 1))).replace(day=1)
        bill_columns, bill_values, bill_params = _fill(
            CustomerBill,
            {
                "billing_account_id": "a.id",
                "bill_no": f"'{PREFIX}-' || a.id || '-' || m",
                "period_start": "p.start",
                "period_end": "p.start + interval '1 month'",
                "bill_date": "p.start + interval '1 month'",
                # The last three months unpaid, due 0 to 120 days ago (spread by account).
                "payment_due_date": (
                    "p.start + interval '1 month' + (a.id %% 40) * interval '1 day'"
                ),
                "state": f"CASE WHEN m >= {unpaid_from} THEN 'new' ELSE 'settled' END",
                "currency": "'EUR'",
                "tax_excluded_amount": "20 + a.id %% 50",
                "tax_amount": "(20 + a.id %% 50) * 0.2",
                "tax_included_amount": "(20 + a.id %% 50) * 1.2",
                "remaining_amount": (
                    f"CASE WHEN m >= {unpaid_from} THEN (20 + a.id %% 50) * 1.2 ELSE 0 END"
                ),
                "last_update": "p.start + interval '1 month'",
            },
        )
        with connection.cursor() as cursor:
            cursor.execute(
                f"""INSERT INTO {CustomerBill._meta.db_table} ({bill_columns})
                SELECT {bill_values}
                FROM {BillingAccount._meta.db_table} a
                CROSS JOIN generate_series(0, %s) m
                CROSS JOIN LATERAL (SELECT %s::timestamptz + m * interval '1 month' AS start) p
                WHERE a.account_number LIKE %s AND NOT EXISTS (
                    SELECT 1 FROM {CustomerBill._meta.db_table} o WHERE o.billing_account_id = a.id
                )""",  # noqa: S608 - table names from the models
                [*bill_params, months - 1, first_month, f"{PREFIX}%"],
            )
            line_columns, line_values, line_params = _fill(
                AppliedCharge,
                {
                    "bill_id": "b.id",
                    "billing_account_id": "b.billing_account_id",
                    "product_id": "pr.id",
                    "charge_type": "'recurring'",
                    "name": "n.name",
                    "period_start": "b.period_start",
                    "period_end": "b.period_end",
                    "quantity": "1",
                    "currency": "'EUR'",
                    "tax_rate": "0.2",
                    "tax_excluded_amount": "b.tax_excluded_amount * n.share",
                    "tax_amount": "b.tax_amount * n.share",
                    "tax_included_amount": "b.tax_included_amount * n.share",
                    "charge_key": "b.bill_no || '-' || n.name",
                    "date": "b.bill_date",
                },
            )
            cursor.execute(
                f"""INSERT INTO {AppliedCharge._meta.db_table} ({line_columns})
                SELECT {line_values}
                FROM {CustomerBill._meta.db_table} b
                JOIN {ProductInstance._meta.db_table} pr
                  ON pr.billing_account_id = b.billing_account_id
                CROSS JOIN (VALUES ('Monthly fee', 0.75), ('Data usage', 0.25)) n(name, share)
                WHERE b.bill_no LIKE %s AND NOT EXISTS (
                    SELECT 1 FROM {AppliedCharge._meta.db_table} o WHERE o.bill_id = b.id
                )""",  # noqa: S608 - table names from the models
                [*line_params, f"{PREFIX}-%"],
            )
            cursor.execute(f"ANALYZE {CustomerBill._meta.db_table}")
            cursor.execute(f"ANALYZE {AppliedCharge._meta.db_table}")
    print(f"built {accounts:,} accounts x {months} bills in {time.perf_counter() - started:.1f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=20_000)
    parser.add_argument("--months", type=int, default=12)
    options = parser.parse_args()
    django_on_bench_database(DEFAULT_URL)

    from django.core.files.storage import storages
    from django.db.models.functions import TruncMonth

    from billing import reports
    from billing.filters import BillFilter
    from billing.models import AppliedCharge, CustomerBill
    from billing.services import invoice_bills, invoice_pdf
    from billing.services.invoices import invoice_file_name, invoice_render
    from telco import clock

    now = clock.now()
    build(options.accounts, options.months, now)
    bills = CustomerBill.objects.count()
    lines = AppliedCharge.objects.count()
    unpaid = CustomerBill.objects.filter(remaining_amount__gt=0).count()
    print(f"data: {bills:,} bills ({unpaid:,} unpaid), {lines:,} lines")

    def report(name: str, seconds: float, floor: float | None = None) -> None:
        text = f"{name:<44} {seconds * 1000:9.2f} ms"
        if floor is not None:
            text += f"   floor (COPY) {floor * 1000:9.2f} ms   ratio {seconds / floor:5.2f}x"
        print(text)

    unpaid_rows = CustomerBill.objects.filter(remaining_amount__gt=0).values_list(
        "billing_account_id", "remaining_amount", "payment_due_date"
    )
    report(
        "aged debt (page 1 and totals)",
        best_of(lambda: reports.aged_debt(as_of=now, page=1)),
        copy_seconds(*unpaid_rows.query.sql_with_params()),
    )
    starts = reports.month_starts(now, options.months)
    revenue_rows = (
        AppliedCharge.objects.filter(bill__bill_date__gte=starts[0])
        .annotate(month=TruncMonth("bill__bill_date"))
        .values_list("month", "currency", "product__product_offering_id", "tax_excluded_amount")
    )
    report(
        f"revenue ({options.months} months x product line)",
        best_of(lambda: reports.revenue_by_month(now=now, months=options.months)),
        copy_seconds(*revenue_rows.query.sql_with_params()),
    )

    def search(query: dict) -> None:
        filterset = BillFilter(query or None, queryset=reports.bill_rows())
        page = reports.page_of(filterset.qs, 1)
        list(page.object_list)

    report("bills search, page 1, no filter", best_of(lambda: search({})))
    report("bills search, page 1, customer name", best_of(lambda: search({"customer": "er0001"})))

    bill = invoice_bills().filter(bill_no__startswith=PREFIX).order_by("-id").first()
    storages["invoices"].delete(invoice_file_name(bill))
    report("PDF invoice rendered", best_of(lambda: invoice_render(bill=bill)))
    invoice_pdf(bill=bill)
    report("PDF invoice served from storage", best_of(lambda: invoice_pdf(bill=bill)))


if __name__ == "__main__":
    main()
