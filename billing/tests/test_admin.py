"""The admin pages of billing load, and bills cannot be edited there."""

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from billing.models import CustomerBill
from billing.services import bill_run_start, payment_create
from billing.tests.factories import active_product, usage_event

pytestmark = pytest.mark.django_db


def test_admin_pages_load_read_only(admin_client):
    product = active_product(start_date=datetime(2026, 10, 1, tzinfo=UTC))
    usage_event(product=product, usage_date=datetime(2026, 10, 2, tzinfo=UTC), gigabytes="6")
    bill_run_start(as_of=date(2026, 11, 1))
    bill = CustomerBill.objects.get()
    payment, _ = payment_create(
        billing_account_id=bill.billing_account_id,
        amount=Decimal("10.00"),
        currency="EUR",
        method="card",
        reference="ADMIN-REF-1",
    )

    for model in (
        "customerbill",
        "appliedcharge",
        "billrun",
        "usageevent",
        "billsequence",
        "payment",
    ):
        assert admin_client.get(f"/admin/billing/{model}/").status_code == 200, model
    page = admin_client.get(f"/admin/billing/customerbill/{bill.pk}/change/")
    assert page.status_code == 200
    assert b"Data usage" in page.content
    assert b"1/1" in admin_client.get("/admin/billing/billrun/").content
    admin_client.post(f"/admin/billing/customerbill/{bill.pk}/change/", {"state": "settled"})
    bill.refresh_from_db()
    assert bill.state == "partiallyPaid"
    assert (
        b"partiallyPaid"
        in admin_client.get(f"/admin/billing/customerbill/{bill.pk}/change/").content
    )
    payment_page = admin_client.get(f"/admin/billing/payment/{payment.pk}/change/")
    assert payment_page.status_code == 200
    assert bill.bill_no.encode() in payment_page.content
