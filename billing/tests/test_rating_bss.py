"""Rating in depth: yearly charges, usage tiers, discounts, suspension, price changes, late usage.

Offerings are the 5G Premium one (activation 49.00, 30.00 a month, 2.00 per GB beyond 5 GB)
with a price changed or added; tax is 20%; every amount is exact.
"""

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from billing.models import AppliedCharge, CustomerBill, UsageEvent
from billing.services import bill_run_start
from billing.tests.factories import active_product, usage_event
from catalog.models import PriceTier, ProductOffering, ProductOfferingPrice
from catalog.tests.factories import five_g_premium_offering
from inventory.models import ProductStatusChange

pytestmark = pytest.mark.django_db
D = Decimal


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


def offering(offering_name: str, **changes) -> ProductOffering:
    """A 5G Premium copy named `offering_name`, its monthly fee updated with `changes`."""
    built = five_g_premium_offering(name=offering_name)
    if changes:
        ProductOfferingPrice.objects.filter(product_offering=built, name="Monthly fee").update(
            **changes
        )
    return built


def add_price(offering: ProductOffering, **fields) -> ProductOfferingPrice:
    fields = {"currency": "EUR", "valid_from": utc(2024, 1, 1), "amount": D(0), **fields}
    return ProductOfferingPrice.objects.create(product_offering=offering, **fields)


def lines(account, period_start) -> list[tuple]:
    bill = CustomerBill.objects.get(billing_account=account, period_start=period_start)
    return [
        (line.name, line.tax_excluded_amount, line.tax_amount, line.tax_included_amount)
        for line in bill.lines.order_by("id")
    ]


def test_yearly_fee_is_charged_in_advance_in_the_period_of_each_anniversary():
    yearly = offering("5G Yearly", name="Yearly fee", recurring_period="year", amount=D("300"))
    ProductOfferingPrice.objects.filter(product_offering=yearly).update(valid_from=utc(2024, 1, 1))
    product = active_product(start_date=utc(2025, 10, 16), offering=yearly)

    bill_run_start(as_of=date(2026, 11, 1))

    account = product.billing_account
    # No charge in the eleven periods between: no bill for them.
    assert list(
        CustomerBill.objects.filter(billing_account=account)
        .order_by("period_start")
        .values_list("period_start", flat=True)
    ) == [utc(2025, 10, 1), utc(2026, 10, 1)]
    assert lines(account, utc(2025, 10, 1)) == [
        ("Activation fee", D("49.00"), D("9.80"), D("58.80")),
        ("Yearly fee", D("300.00"), D("60.00"), D("360.00")),
    ]
    assert lines(account, utc(2026, 10, 1)) == [
        ("Yearly fee", D("300.00"), D("60.00"), D("360.00")),
    ]
    second_year = AppliedCharge.objects.get(
        billing_account=account, name="Yearly fee", date=utc(2026, 10, 16)
    )
    assert (second_year.period_start, second_year.period_end) == (
        utc(2026, 10, 16),
        utc(2027, 10, 16),
    )
    assert second_year.description.endswith("year from 2026-10-16 to 2027-10-16")

    bill_run_start(as_of=date(2026, 11, 24))
    assert AppliedCharge.objects.filter(name="Yearly fee").count() == 2


def test_a_contract_year_from_29_february_renews_on_28_february():
    yearly = offering("5G Leap", name="Yearly fee", recurring_period="year", amount=D("120"))
    ProductOfferingPrice.objects.filter(product_offering=yearly).update(valid_from=utc(2024, 1, 1))
    product = active_product(start_date=utc(2024, 2, 29, 12), offering=yearly)

    bill_run_start(as_of=date(2025, 3, 1))

    charges = AppliedCharge.objects.filter(product=product, name="Yearly fee").order_by("date")
    assert [(c.period_start, c.period_end) for c in charges] == [
        (utc(2024, 2, 29, 12), utc(2025, 2, 28, 12)),
        (utc(2025, 2, 28, 12), utc(2026, 2, 28, 12)),
    ]


def test_usage_beyond_the_allowance_is_rated_by_tier():
    tiered = offering("5G Tiered")
    data = ProductOfferingPrice.objects.get(product_offering=tiered, name="Data usage")
    for lower, upper, unit_amount in (("0", "10", "2.00"), ("10", "50", "1.50"), ("50", None, "1")):
        PriceTier.objects.create(
            price=data,
            lower_bound=D(lower),
            upper_bound=None if upper is None else D(upper),
            unit_amount=D(unit_amount),
        )
    product = active_product(start_date=utc(2026, 10, 1), offering=tiered)
    usage_event(product=product, usage_date=utc(2026, 10, 3), gigabytes="30")
    usage_event(product=product, usage_date=utc(2026, 10, 9), gigabytes="40.5")

    bill_run_start(as_of=date(2026, 11, 1))

    # 70.5 GB - 5 included = 65.5 GB: 10 x 2.00 + 40 x 1.50 + 15.5 x 1.00 = 95.50
    assert lines(product.billing_account, utc(2026, 10, 1)) == [
        ("Activation fee", D("49.00"), D("9.80"), D("58.80")),
        ("Monthly fee", D("30.00"), D("6.00"), D("36.00")),
        ("Data usage", D("95.50"), D("19.10"), D("114.60")),
    ]
    usage_line = AppliedCharge.objects.get(name="Data usage")
    assert usage_line.description.endswith(
        "70.5 GB used, 5 GB included, 65.5 GB charged (10 at 2, 40 at 1.5, 15.5 at 1)"
    )


def test_a_bounded_last_tier_rates_everything_above_it():
    tiered = offering("5G Two tiers")
    data = ProductOfferingPrice.objects.get(product_offering=tiered, name="Data usage")
    PriceTier.objects.create(price=data, lower_bound=0, upper_bound=2, unit_amount=D("3.00"))
    PriceTier.objects.create(price=data, lower_bound=2, upper_bound=4, unit_amount=D("0.3333"))
    product = active_product(start_date=utc(2026, 10, 1), offering=tiered)
    usage_event(product=product, usage_date=utc(2026, 10, 3), gigabytes="12.5")

    bill_run_start(as_of=date(2026, 11, 1))

    # 7.5 GB beyond: 2 x 3.00 + 5.5 x 0.3333 = 7.83315 -> 7.8332 (rating) -> 7.83
    usage_line = AppliedCharge.objects.get(name="Data usage")
    assert (usage_line.tax_excluded_amount, usage_line.tax_amount) == (D("7.83"), D("1.57"))


def test_percentage_discount_for_the_first_period_is_a_negative_line_taxed_alike():
    discounted = offering("5G Welcome")
    add_price(
        discounted,
        name="Welcome discount",
        price_type="discount",
        percentage=D("25"),
        applies_for_periods=1,
    )
    product = active_product(start_date=utc(2026, 9, 16), offering=discounted)

    bill_run_start(as_of=date(2026, 11, 1))

    account = product.billing_account
    # September: 30.00 x 15/30 days = 15.00, 25% off = -3.75
    assert lines(account, utc(2026, 9, 1)) == [
        ("Activation fee", D("49.00"), D("9.80"), D("58.80")),
        ("Monthly fee", D("15.00"), D("3.00"), D("18.00")),
        ("Welcome discount", D("-3.75"), D("-0.75"), D("-4.50")),
    ]
    # October is the second period: no discount.
    assert lines(account, utc(2026, 10, 1)) == [
        ("Monthly fee", D("30.00"), D("6.00"), D("36.00")),
    ]
    september = CustomerBill.objects.get(billing_account=account, period_start=utc(2026, 9, 1))
    assert (september.tax_excluded_amount, september.tax_included_amount) == (
        D("60.25"),
        D("72.30"),
    )
    assert september.lines.get(name="Welcome discount").charge_type == "recurring"


def test_fixed_discount_is_prorated_like_the_charge_and_never_more_than_it():
    fixed = offering("5G Fixed off")
    add_price(fixed, name="Loyalty discount", price_type="discount", amount=D("10.00"))
    big = offering("5G Big off")
    add_price(big, name="Staff discount", price_type="discount", amount=D("50.00"))
    product = active_product(start_date=utc(2026, 10, 16), offering=fixed)
    staff = active_product(start_date=utc(2026, 9, 1), offering=big)

    bill_run_start(as_of=date(2026, 11, 1))

    # 30.00 x 16/31 = 15.4839 -> 15.48; 10.00 x 16/31 = 5.1613 -> -5.16, tax -1.032 -> -1.03
    assert lines(product.billing_account, utc(2026, 10, 1)) == [
        ("Activation fee", D("49.00"), D("9.80"), D("58.80")),
        ("Monthly fee", D("15.48"), D("3.10"), D("18.58")),
        ("Loyalty discount", D("-5.16"), D("-1.03"), D("-6.19")),
    ]
    # 50.00 off a 30.00 fee takes 30.00 off, not 50.00.
    assert lines(staff.billing_account, utc(2026, 10, 1)) == [
        ("Monthly fee", D("30.00"), D("6.00"), D("36.00")),
        ("Staff discount", D("-30.00"), D("-6.00"), D("-36.00")),
    ]
    october = CustomerBill.objects.get(
        billing_account=staff.billing_account, period_start=utc(2026, 10, 1)
    )
    assert (october.tax_included_amount, october.remaining_amount) == (D("0.00"), D("0.00"))


def test_suspended_interval_is_not_charged_recurring():
    resumed = active_product(start_date=utc(2026, 9, 1))
    still = active_product(start_date=utc(2026, 9, 1), status="suspended")
    for product, moves in (
        (
            resumed,
            [
                ("active", "suspended", utc(2026, 10, 11)),
                ("suspended", "active", utc(2026, 10, 21)),
            ],
        ),
        # Suspended from 26 October, resumed only after the period: 25 days charged.
        (
            still,
            [("active", "suspended", utc(2026, 10, 26)), ("suspended", "active", utc(2026, 11, 3))],
        ),
    ):
        for from_state, to_state, at in moves:
            ProductStatusChange.objects.create(
                product=product, from_state=from_state, to_state=to_state, changed_at=at
            )

    bill_run_start(as_of=date(2026, 11, 1))

    # 30.00 x 21/31 = 20.3226 -> 20.32; 30.00 x 25/31 = 24.1935 -> 24.19
    assert lines(resumed.billing_account, utc(2026, 10, 1)) == [
        ("Monthly fee", D("20.32"), D("4.06"), D("24.38")),
    ]
    assert lines(still.billing_account, utc(2026, 10, 1)) == [
        ("Monthly fee", D("24.19"), D("4.84"), D("29.03")),
    ]
    assert AppliedCharge.objects.get(
        billing_account=resumed.billing_account, period_start=utc(2026, 10, 1)
    ).description.endswith("21 of 31 days")
    # September, before any suspension, is charged in full.
    assert lines(resumed.billing_account, utc(2026, 9, 1))[1] == (
        "Monthly fee",
        D("30.00"),
        D("6.00"),
        D("36.00"),
    )


def test_a_price_change_from_a_date_does_not_rewrite_a_billed_period():
    product = active_product(start_date=utc(2026, 9, 1))
    bill_run_start(as_of=date(2026, 10, 1))
    september = CustomerBill.objects.get()
    before = lines(product.billing_account, utc(2026, 9, 1))

    # The fee becomes 40.00 from 15 September: after September was billed.
    monthly = ProductOfferingPrice.objects.get(
        product_offering=product.product_offering, name="Monthly fee"
    )
    monthly.valid_to = utc(2026, 9, 15)
    monthly.save()
    add_price(
        product.product_offering,
        name="Monthly fee",
        price_type="recurring",
        recurring_period="month",
        amount=D("40.00"),
        valid_from=utc(2026, 9, 15),
    )
    bill_run_start(as_of=date(2026, 11, 1))

    september.refresh_from_db()
    assert lines(product.billing_account, utc(2026, 9, 1)) == before
    assert before[1] == ("Monthly fee", D("30.00"), D("6.00"), D("36.00"))
    assert september.tax_included_amount == D("94.80")
    assert lines(product.billing_account, utc(2026, 10, 1)) == [
        ("Monthly fee", D("40.00"), D("8.00"), D("48.00")),
    ]


def test_late_usage_is_charged_on_the_next_bill_against_its_own_period():
    product = active_product(start_date=utc(2026, 9, 1))
    usage_event(product=product, usage_date=utc(2026, 9, 10), gigabytes="4")
    bill_run_start(as_of=date(2026, 10, 1))
    # 3 GB more for September arrive after September was billed, with 6 GB for October.
    late = usage_event(product=product, usage_date=utc(2026, 9, 20), gigabytes="3")
    usage_event(product=product, usage_date=utc(2026, 10, 2), gigabytes="6")

    bill_run_start(as_of=date(2026, 11, 1))
    bill_run_start(as_of=date(2026, 11, 24))  # a rerun charges nothing twice

    account = product.billing_account
    assert lines(account, utc(2026, 9, 1))[2] == ("Data usage", D("0.00"), D("0.00"), D("0.00"))
    # October: 1 GB beyond its allowance x 2.00; September re-rated: 4 + 3 = 7 GB, 2 GB beyond
    # its allowance, none charged before: 4.00.
    assert lines(account, utc(2026, 10, 1)) == [
        ("Monthly fee", D("30.00"), D("6.00"), D("36.00")),
        ("Data usage", D("2.00"), D("0.40"), D("2.40")),
        ("Data usage (late usage)", D("4.00"), D("0.80"), D("4.80")),
    ]
    late.refresh_from_db()
    charge = late.applied_charge
    assert (late.status, charge.name) == ("billed", "Data usage (late usage)")
    assert (charge.period_start, charge.period_end, charge.quantity) == (
        utc(2026, 9, 1),
        utc(2026, 10, 1),
        D("2"),
    )
    assert charge.bill.period_start == utc(2026, 10, 1)
    assert not UsageEvent.objects.exclude(status="billed").exists()
