"""TMF678 customerBill and appliedCustomerBillingRate: representation, filters, roles."""

from datetime import UTC, date, datetime

import pytest

from billing.models import CustomerBill
from billing.services import bill_run_start
from billing.tests.factories import active_product, usage_event

pytestmark = pytest.mark.django_db
BASE = "/tmf-api/customerBillManagement/v4"


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


@pytest.fixture
def product():
    product = active_product(start_date=utc(2026, 10, 16))
    usage_event(product=product, usage_date=utc(2026, 10, 20), gigabytes="6.25")
    bill_run_start(as_of=date(2026, 11, 1))
    return product


def test_customer_bill_representation(agent_api, product):
    bill = CustomerBill.objects.get()

    response = agent_api.get(f"{BASE}/customerBill/{bill.pk}")

    assert response.status_code == 200
    data = response.data
    assert data["href"] == f"http://testserver{BASE}/customerBill/{bill.pk}"
    assert (data["billNo"], data["state"], data["@type"]) == ("INV-000001", "new", "CustomerBill")
    assert data["billingPeriod"] == {
        "startDateTime": "2026-10-01T00:00:00+00:00",
        "endDateTime": "2026-11-01T00:00:00+00:00",
    }
    assert data["taxExcludedAmount"] == {"unit": "EUR", "value": 66.98}
    assert data["taxIncludedAmount"] == {"unit": "EUR", "value": 80.38}
    assert data["amountDue"] == data["remainingAmount"] == {"unit": "EUR", "value": 80.38}
    assert data["taxItem"] == [
        {"taxCategory": "VAT", "taxRate": 0.2, "taxAmount": {"unit": "EUR", "value": 13.4}}
    ]
    assert data["appliedPayment"] == []
    assert data["billingAccount"]["id"] == str(product.billing_account_id)
    assert data["relatedParty"][0]["id"] == str(product.customer_id)
    assert data["paymentDueDate"] > data["billDate"]


def test_applied_rates_and_filters(finance_api, product):
    bill = CustomerBill.objects.get()

    lines = finance_api.get(f"{BASE}/appliedCustomerBillingRate", {"bill.id": bill.pk})

    assert [(line["type"], line["taxExcludedAmount"]["value"]) for line in lines.data] == [
        ("oneTime", 49.0),
        ("recurring", 15.48),
        ("usage", 2.5),
    ]
    usage = finance_api.get(f"{BASE}/appliedCustomerBillingRate", {"type": "usage"}).data
    assert len(usage) == 1
    line = usage[0]
    assert line["isBilled"] is True
    assert line["bill"]["id"] == str(bill.pk)
    assert line["product"]["id"] == str(product.pk)
    assert line["billingAccount"]["id"] == str(product.billing_account_id)
    assert line["taxIncludedAmount"] == {"unit": "EUR", "value": 3.0}
    assert line["appliedTax"] == [
        {"taxCategory": "VAT", "taxRate": 0.2, "taxAmount": {"unit": "EUR", "value": 0.5}}
    ]
    assert line["periodCoverage"]["startDateTime"] == "2026-10-01T00:00:00+00:00"
    detail = finance_api.get(f"{BASE}/appliedCustomerBillingRate/{line['id']}")
    assert detail.data == line

    bills = finance_api.get(
        f"{BASE}/customerBill", {"billingAccount.id": product.billing_account_id}
    )
    assert [b["billNo"] for b in bills.data] == ["INV-000001"]
    assert finance_api.get(f"{BASE}/customerBill", {"state": "settled"}).data == []
    assert finance_api.get(f"{BASE}/customerBill", {"billingAccount.id": 0}).data == []


def test_bills_are_immutable_and_roles(agent_api, noc_api, anonymous_api, admin_api, product):
    bill = CustomerBill.objects.get()
    url = f"{BASE}/customerBill/{bill.pk}"

    patch = admin_api.patch(url, {"taxIncludedAmount": {"unit": "EUR", "value": 1}}, format="json")

    # The state may move (see test_tmf_conformance); the amounts never.
    assert patch.status_code == 400
    assert "taxIncludedAmount" in patch.data["errors"]
    bill.refresh_from_db()
    assert str(bill.tax_included_amount) == "80.3800"
    assert noc_api.get(url).status_code == 403
    assert noc_api.get(f"{BASE}/appliedCustomerBillingRate").status_code == 403
    assert anonymous_api.get(url).status_code == 401
    assert agent_api.get(f"{BASE}/customerBill/999999").status_code == 404


def test_list_query_counts_do_not_grow(agent_api, product, django_assert_num_queries):
    agent_api.get(f"{BASE}/customerBill")
    counts = {}
    for rows in ("few", "many"):
        if rows == "many":
            for day in range(2, 12):
                other = active_product(start_date=utc(2026, 9, day))
                usage_event(product=other, usage_date=utc(2026, 10, 2), gigabytes="9")
            bill_run_start(as_of=date(2026, 11, 1))
        for resource in ("customerBill", "appliedCustomerBillingRate"):
            # customerBill: its lines and the payments allocated to it are one prefetch each.
            with django_assert_num_queries(6 if resource == "customerBill" else 4) as captured:
                response = agent_api.get(f"{BASE}/{resource}")
            counts[(rows, resource)] = (len(captured.captured_queries), len(response.data))
    assert counts == {
        ("few", "customerBill"): (6, 1),
        ("few", "appliedCustomerBillingRate"): (4, 3),
        ("many", "customerBill"): (6, 21),
        ("many", "appliedCustomerBillingRate"): (4, 3 + 10 * 2 + 10 * 2),
    }
