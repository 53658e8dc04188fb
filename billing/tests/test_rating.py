"""Rating and bills: proration, activation fee, allowance, half-even rounding, tax, totals."""

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from billing.choices import UsageStatus
from billing.models import AppliedCharge, CustomerBill, UsageEvent
from billing.selectors import account_balance, bills_for_customer
from billing.services import bill_run_start, billing_period
from billing.tests.factories import active_product, usage_event
from catalog.models import ProductOfferingPrice
from crm.tests.factories import BillingAccountFactory
from inventory.choices import ProductStatus

pytestmark = pytest.mark.django_db


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


def lines_of(bill) -> list[tuple]:
    return [
        (line.charge_type, line.tax_excluded_amount, line.tax_amount, line.tax_included_amount)
        for line in bill.lines.order_by("id")
    ]


def test_billing_period_is_half_open_from_cycle_day():
    assert billing_period(bill_cycle_day=15, at=utc(2026, 10, 15)) == (
        utc(2026, 10, 15),
        utc(2026, 11, 15),
    )
    assert billing_period(bill_cycle_day=15, at=utc(2026, 10, 14, 23, 59, 59)) == (
        utc(2026, 9, 15),
        utc(2026, 10, 15),
    )
    assert billing_period(bill_cycle_day=1, at=utc(2026, 12, 31, 12)) == (
        utc(2026, 12, 1),
        utc(2027, 1, 1),
    )


def test_mid_period_start_prorates_and_charges_activation_and_usage_beyond_allowance():
    product = active_product(start_date=utc(2026, 10, 16))
    for day, gigabytes in ((16, "3"), (20, "2.5"), (31, "0.75")):
        usage_event(product=product, usage_date=utc(2026, 10, day, 12), gigabytes=gigabytes)
    # Usage in the next period is not part of this bill.
    later = usage_event(product=product, usage_date=utc(2026, 11, 1), gigabytes="9")

    run = bill_run_start(as_of=date(2026, 11, 1))

    bill = CustomerBill.objects.get()
    assert (bill.period_start, bill.period_end) == (utc(2026, 10, 1), utc(2026, 11, 1))
    assert bill.bill_no == "INV-000001"
    assert lines_of(bill) == [
        ("oneTime", Decimal("49.00"), Decimal("9.80"), Decimal("58.80")),
        # 30.00 x 16/31 days = 15.4839 (rating) -> 15.48; tax 3.096 -> 3.10
        ("recurring", Decimal("15.48"), Decimal("3.10"), Decimal("18.58")),
        # 6.25 GB used - 5 GB included = 1.25 GB x 2.00
        ("usage", Decimal("2.50"), Decimal("0.50"), Decimal("3.00")),
    ]
    assert (bill.tax_excluded_amount, bill.tax_amount, bill.tax_included_amount) == (
        Decimal("66.98"),
        Decimal("13.40"),
        Decimal("80.38"),
    )
    usage_line = bill.lines.get(charge_type="usage")
    assert usage_line.quantity == Decimal("1.25")
    assert usage_line.description.endswith("6.25 GB used, 5 GB included, 1.25 GB charged")
    assert set(
        UsageEvent.objects.filter(applied_charge=usage_line).values_list("status", flat=True)
    ) == {UsageStatus.BILLED}
    later.refresh_from_db()
    assert (later.status, later.applied_charge) == (UsageStatus.RECEIVED, None)
    assert (run.state, run.accounts_total, run.accounts_done, run.bills_created) == (
        "completed",
        1,
        1,
        1,
    )


def test_rounding_is_half_even_per_line_and_activation_is_charged_once():
    product = active_product(start_date=utc(2026, 9, 30, 21))  # 3 hours of a 30-day period
    usage_event(product=product, usage_date=utc(2026, 10, 5), gigabytes="5.0625")

    bill_run_start(as_of=date(2026, 11, 1))

    september, october = CustomerBill.objects.order_by("period_start")
    assert [september.bill_no, october.bill_no] == ["INV-000001", "INV-000002"]
    assert lines_of(september) == [
        ("oneTime", Decimal("49.00"), Decimal("9.80"), Decimal("58.80")),
        # 30.00 x 3h/720h = 0.125 -> 0.12 (half-even; half-up would give 0.13)
        ("recurring", Decimal("0.12"), Decimal("0.02"), Decimal("0.14")),
    ]
    assert lines_of(october) == [
        ("recurring", Decimal("30.00"), Decimal("6.00"), Decimal("36.00")),
        # 0.0625 GB beyond the allowance x 2.00 = 0.125 -> 0.12
        ("usage", Decimal("0.12"), Decimal("0.02"), Decimal("0.14")),
    ]
    for bill in (september, october):
        lines = list(bill.lines.all())
        assert bill.tax_excluded_amount == sum(line.tax_excluded_amount for line in lines)
        assert bill.tax_amount == sum(line.tax_amount for line in lines)
        assert bill.tax_included_amount == sum(line.tax_included_amount for line in lines)
    assert AppliedCharge.objects.filter(product=product, charge_type="oneTime").count() == 1
    assert account_balance(product.billing_account) == Decimal("95.08")


def test_usage_within_allowance_shows_a_zero_line_and_no_usage_no_line():
    with_usage = active_product(start_date=utc(2026, 9, 1))
    without_usage = active_product(start_date=utc(2026, 9, 1))
    usage_event(product=with_usage, usage_date=utc(2026, 10, 2), gigabytes="4")

    bill_run_start(as_of=date(2026, 11, 1))

    october = CustomerBill.objects.get(
        billing_account=with_usage.billing_account, period_start=utc(2026, 10, 1)
    )
    usage_line = october.lines.get(charge_type="usage")
    assert (usage_line.tax_excluded_amount, usage_line.quantity) == (Decimal("0.00"), Decimal(0))
    assert usage_line.description.endswith("4 GB used, 5 GB included, 0 GB charged")
    plain = CustomerBill.objects.get(
        billing_account=without_usage.billing_account, period_start=utc(2026, 10, 1)
    )
    assert [line[0] for line in lines_of(plain)] == ["recurring"]


def test_terminated_product_is_charged_until_its_termination_and_not_after():
    product = active_product(
        start_date=utc(2026, 9, 1),
        termination_date=utc(2026, 10, 11),
        status=ProductStatus.TERMINATED,
    )

    bill_run_start(as_of=date(2026, 11, 1))

    october = CustomerBill.objects.get(
        billing_account=product.billing_account, period_start=utc(2026, 10, 1)
    )
    # 30.00 x 10/31 days = 9.6774 -> 9.68
    assert lines_of(october) == [("recurring", Decimal("9.68"), Decimal("1.94"), Decimal("11.62"))]


def test_bill_cycle_day_sets_the_periods():
    account = BillingAccountFactory(bill_cycle_day=15)
    active_product(account=account, start_date=utc(2026, 10, 15))

    bill_run_start(as_of=date(2026, 11, 15))

    bill = CustomerBill.objects.get()
    assert (bill.period_start, bill.period_end) == (utc(2026, 10, 15), utc(2026, 11, 15))
    assert [line[1] for line in lines_of(bill)] == [Decimal("49.00"), Decimal("30.00")]


def test_price_in_force_at_the_period_is_used_not_a_later_one():
    product = active_product(start_date=utc(2026, 9, 1))
    monthly = ProductOfferingPrice.objects.get(
        product_offering=product.product_offering, name="Monthly fee"
    )
    # The monthly fee goes up to 40.00 from November: September and October keep 30.00.
    monthly.valid_to = utc(2026, 11, 1)
    monthly.save()
    ProductOfferingPrice.objects.create(
        product_offering=product.product_offering,
        name="Monthly fee",
        price_type="recurring",
        recurring_period="month",
        amount=Decimal("40.00"),
        valid_from=utc(2026, 11, 1),
    )

    bill_run_start(as_of=date(2026, 11, 1))

    recurring = AppliedCharge.objects.filter(charge_type="recurring").order_by("period_start")
    assert [c.tax_excluded_amount for c in recurring] == [Decimal("30.00"), Decimal("30.00")]


def test_product_not_yet_billable_is_not_billed():
    active_product(start_date=None, status=ProductStatus.PENDING_ACTIVE)
    active_product(start_date=utc(2026, 11, 2))  # its first period has not ended

    run = bill_run_start(as_of=date(2026, 11, 24))

    assert CustomerBill.objects.count() == 0
    assert (run.accounts_total, run.bills_created) == (1, 0)


def test_bills_for_customer_prefetches_lines(django_assert_num_queries):
    product = active_product(start_date=utc(2026, 9, 1))
    bill_run_start(as_of=date(2026, 11, 1))

    with django_assert_num_queries(2):
        bills = list(bills_for_customer(product.customer_id))
        assert [len(bill.lines.all()) for bill in bills] == [1, 2]
