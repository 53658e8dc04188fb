"""TMF676 payment: create and allocate, replays, roles, bad input, bill view, query counts."""

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from billing.models import CustomerBill, Payment, PaymentAllocation
from billing.services import bill_run_start, payment_create
from billing.tests.factories import active_product
from crm.tests.factories import BillingAccountFactory

pytestmark = pytest.mark.django_db
URL = "/tmf-api/paymentManagement/v4/payment"
BILLS = "/tmf-api/customerBillManagement/v4/customerBill"


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


@pytest.fixture
def account():
    """September: 49.00 + 30.00 + 20% = 94.80; October: 30.00 + 20% = 36.00."""
    product = active_product(start_date=utc(2026, 9, 1))
    bill_run_start(as_of=date(2026, 11, 1))
    return product.billing_account


def body(account_id, value=100, unit="EUR", method="bankTransfer", **extra) -> dict:
    return {
        "account": {"id": str(account_id), "@referredType": "BillingAccount"},
        "paymentMethod": {"id": method},
        "totalAmount": {"unit": unit, "value": value},
        **extra,
    }


def test_create_allocates_oldest_first_and_shows_on_the_bills(finance_api, account):
    response = finance_api.post(URL, body(account.pk, 100, correlatorId="BANK-1"), format="json")

    assert response.status_code == 201, response.data
    data = response.data
    payment = Payment.objects.get()
    assert response["Location"] == data["href"] == f"http://testserver{URL}/{payment.pk}"
    september, october = CustomerBill.objects.order_by("period_start")
    assert (data["status"], data["correlatorId"], data["@type"]) == (
        "allocated",
        "BANK-1",
        "Payment",
    )
    assert data["account"]["id"] == str(account.pk)
    assert data["payer"]["id"] == str(account.customer_id)
    assert data["paymentMethod"]["id"] == "bankTransfer"
    assert data["totalAmount"] == {"unit": "EUR", "value": 100.0}
    assert data["unallocatedAmount"] == {"unit": "EUR", "value": 0.0}
    assert [
        (i["item"]["id"], i["item"]["name"], i["totalAmount"]) for i in data["paymentItem"]
    ] == [
        (str(september.pk), september.bill_no, {"unit": "EUR", "value": 94.8}),
        (str(october.pk), october.bill_no, {"unit": "EUR", "value": 5.2}),
    ]
    assert payment.created_by.startswith("finance")
    assert finance_api.get(f"{URL}/{payment.pk}").data == data

    bill = finance_api.get(f"{BILLS}/{october.pk}").data
    assert (bill["state"], bill["remainingAmount"]) == (
        "partiallyPaid",
        {"unit": "EUR", "value": 30.8},
    )
    assert bill["amountDue"] == {"unit": "EUR", "value": 36.0}
    assert bill["appliedPayment"] == [
        {
            "appliedAmount": {"unit": "EUR", "value": 5.2},
            "payment": {
                "id": str(payment.pk),
                "href": data["href"],
                "name": f"Payment {payment.pk}",
                "@referredType": "Payment",
            },
            "@type": "AppliedPayment",
        }
    ]
    assert finance_api.get(f"{BILLS}/{september.pk}").data["state"] == "settled"


def test_overpayment_is_kept_as_credit(finance_api, account):
    data = finance_api.post(URL, body(account.pk, "150.5"), format="json").data

    assert (data["status"], data["unallocatedAmount"]) == (
        "received",
        {"unit": "EUR", "value": 19.7},
    )
    assert set(CustomerBill.objects.values_list("state", flat=True)) == {"settled"}


def test_replays_record_the_payment_once(finance_api, account):
    first = finance_api.post(URL, body(account.pk, 50, correlatorId="BANK-9"), format="json")
    again = finance_api.post(URL, body(account.pk, 50, correlatorId="BANK-9"), format="json")
    changed = finance_api.post(URL, body(account.pk, 70, correlatorId="BANK-9"), format="json")

    assert (first.status_code, again.status_code, changed.status_code) == (201, 200, 409)
    assert again.data["id"] == first.data["id"]
    assert "correlatorId" in changed.data["errors"]

    headers = {"Idempotency-Key": "k-1"}
    keyed = finance_api.post(URL, body(account.pk, 10), format="json", headers=headers)
    replay = finance_api.post(URL, body(account.pk, 10), format="json", headers=headers)
    assert (keyed.status_code, replay.status_code) == (201, 201)
    assert replay.data["id"] == keyed.data["id"]
    # A correlator repeat sent with a key answers 200, and so does the replay of that key.
    headers = {"Idempotency-Key": "k-2"}
    same = body(account.pk, 50, correlatorId="BANK-9")
    repeat = finance_api.post(URL, same, format="json", headers=headers)
    repeat_replay = finance_api.post(URL, same, format="json", headers=headers)
    assert (repeat.status_code, repeat_replay.status_code) == (200, 200)
    assert repeat_replay.data["id"] == first.data["id"]
    assert Payment.objects.count() == 2
    assert sum(a.amount for a in PaymentAllocation.objects.all()) == Decimal("60.00")


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"account": None}, "account"),
        ({"account": {"id": "abc"}}, "account.id"),
        ({"account": {"id": "999999"}}, "account.id"),
        ({"paymentMethod": None}, "paymentMethod"),
        ({"paymentMethod": {"id": "bitcoin"}}, "paymentMethod.id"),
        ({"totalAmount": None}, "totalAmount"),
        ({"totalAmount": {"unit": "EUR", "value": "lots"}}, "totalAmount.value"),
        ({"totalAmount": {"unit": "EUR", "value": -5}}, "totalAmount.value"),
        ({"totalAmount": {"unit": "EUR", "value": 0}}, "totalAmount.value"),
        ({"totalAmount": {"unit": "EUR", "value": "1.005"}}, "totalAmount.value"),
        ({"totalAmount": {"unit": "USD", "value": 5}}, "totalAmount.unit"),
        ({"correlatorId": "x" * 81}, "correlatorId"),
    ],
)
def test_bad_input_is_400_naming_the_field_and_nothing_is_written(
    finance_api, account, payload, field
):
    data = body(account.pk, 20)
    data.update(payload)
    data = {k: v for k, v in data.items() if v is not None}

    response = finance_api.post(URL, data, format="json")

    assert response.status_code == 400, response.data
    assert field in response.data["errors"], response.data
    assert (Payment.objects.count(), PaymentAllocation.objects.count()) == (0, 0)
    assert set(CustomerBill.objects.values_list("state", flat=True)) == {"new"}


def test_roles(agent_api, noc_api, finance_api, admin_api, anonymous_api, account):
    assert agent_api.post(URL, body(account.pk, 1), format="json").status_code == 403
    assert noc_api.post(URL, body(account.pk, 1), format="json").status_code == 403
    assert anonymous_api.post(URL, body(account.pk, 1), format="json").status_code == 401
    assert Payment.objects.count() == 0
    assert finance_api.post(URL, body(account.pk, 1), format="json").status_code == 201
    assert admin_api.post(URL, body(account.pk, 1), format="json").status_code == 201
    for client in (agent_api, finance_api, admin_api):
        assert client.get(URL).status_code == 200
    assert noc_api.get(URL).status_code == 403
    assert anonymous_api.get(URL).status_code == 401


def test_list_filters_and_constant_query_count(agent_api, account, django_assert_num_queries):
    def add(count, offset):
        for n in range(count):
            payment_create(
                billing_account_id=account.pk,
                amount=Decimal("7.00"),
                currency="EUR",
                method="card",
                reference=f"R-{offset + n}",
            )

    add(2, 0)
    agent_api.get(URL)  # warm the role cache of the client's first request
    with django_assert_num_queries(5) as small:
        assert len(agent_api.get(URL).data) == 2
    add(18, 2)  # these settle September and start on October: more allocations too
    with django_assert_num_queries(len(small.captured_queries)):
        response = agent_api.get(URL)
    assert (response["X-Total-Count"], len(response.data)) == ("20", 20)

    by_reference = agent_api.get(URL, {"correlatorId": "R-3"}).data
    assert [p["correlatorId"] for p in by_reference] == ["R-3"]
    by_customer = agent_api.get(URL, {"payer.id": account.customer_id, "limit": 3})
    assert (by_customer["X-Total-Count"], by_customer["X-Result-Count"]) == ("20", "3")
    other = BillingAccountFactory()
    assert agent_api.get(URL, {"account.id": other.pk}).data == []
    # 20 x 7.00 = 140.00 against 130.80 billed: the 19th leaves 2.20 over, the 20th all 7.00.
    credit = agent_api.get(URL, {"status": "received"}).data
    assert [(p["correlatorId"], p["unallocatedAmount"]["value"]) for p in credit] == [
        ("R-18", 2.2),
        ("R-19", 7.0),
    ]
