"""A recurring price per unit (an Enterprise VPN's fee per site) is charged once per unit the
product holds, on the bill and in the monthly charge its SLA credits are a share of; a product
that names none cannot be billed, and the bill run says why."""

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from billing.models import AppliedCharge
from billing.services import bill_run_start
from billing.services.credits import monthly_recurring_charges
from billing.tests.factories import active_product
from catalog.choices import LifecycleStatus
from catalog.tests.factories import ProductOfferingFactory, ProductOfferingPriceFactory

pytestmark = pytest.mark.django_db

START = datetime(2026, 9, 1, tzinfo=UTC)


@pytest.fixture
def vpn_offering():
    offering = ProductOfferingFactory(name="Enterprise VPN (test)")
    common = {
        "product_offering": offering,
        "valid_from": datetime(2026, 1, 1, tzinfo=UTC),
        "lifecycle_status": LifecycleStatus.LAUNCHED,
    }
    ProductOfferingPriceFactory(name="Monthly fee", amount=Decimal("400.00"), **common)
    ProductOfferingPriceFactory(
        name="Monthly fee per site", amount=Decimal("250.00"), unit_of_measure="site", **common
    )
    return offering


def vpn(offering, sites: str):
    product = active_product(start_date=START, offering=offering)
    product.characteristics = {"sites": sites, "bandwidth": "50Mbps"}
    product.save(update_fields=["characteristics"])
    return product


def test_a_fee_per_site_is_charged_once_per_site_the_product_joins(vpn_offering):
    three_sites = vpn(vpn_offering, "12, 15,19")
    one_site = vpn(vpn_offering, "7")

    run = bill_run_start(as_of=date(2026, 10, 1))  # September, a whole month

    assert (run.state, run.bills_created) == ("completed", 2)
    for product, sites in ((three_sites, 3), (one_site, 1)):
        lines = {line.name: line for line in AppliedCharge.objects.filter(product=product)}
        assert lines["Monthly fee"].tax_excluded_amount == Decimal("400.00")
        per_site = lines["Monthly fee per site"]
        assert per_site.tax_excluded_amount == Decimal("250.00") * sites
        assert per_site.quantity == sites
        assert f"{sites} x site" in per_site.description
    assert monthly_recurring_charges([three_sites.pk], at=START) == {
        three_sites.pk: (Decimal("1150.00"), "EUR")
    }


def test_a_product_naming_no_site_is_not_billed_and_the_run_says_why(vpn_offering):
    product = vpn(vpn_offering, "")

    run = bill_run_start(as_of=date(2026, 10, 1))

    assert (run.state, run.bills_created) == ("completedWithErrors", 0)
    (failure,) = run.failures.all()
    assert failure.billing_account_id == product.billing_account_id
    assert "per site" in failure.reason
    assert "names no sites" in failure.reason
