"""TMF654 Prepay Balance Management (bucket, topupBalance, balanceActionHistory) and the credit
control sessions, through the API, by role; the 360 panel; notices and expiry."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core import mail

from billing.models import BalanceAction, PrepaidPlan
from billing.services import charging, prepaid_sweep, voucher_create
from billing.tests.prepaid_helpers import assert_ledger_balances, bucket, prepaid_product
from crm.models import PartyInteraction
from orders.tests.factories import five_g_world, product_order_body
from telco.testing import wait_for

pytestmark = pytest.mark.django_db

BASE = "/tmf-api/prepayBalanceManagement/v4"
SESSIONS = "/api/v1/billing/chargingSession"


def test_buckets_as_tmf654_for_agents(agent_api, anonymous_api):
    product = prepaid_product()
    prepaid_product()  # someone else's

    response = agent_api.get(f"{BASE}/bucket", {"product.id": product.pk})
    assert response.status_code == 200
    assert response["X-Total-Count"] == "4"
    by_type = {body["usageType"]: body for body in response.data}
    assert set(by_type) == {"monetary", "data", "voice", "sms"}
    data = by_type["data"]
    data_bucket = bucket(product, "data")
    assert data_bucket.valid_to == data_bucket.valid_from + timedelta(days=30)
    assert data["remainingValue"] == {"amount": 20480.0, "units": "MB"}
    assert data["reservedValue"] == {"amount": 0.0, "units": "MB"}
    assert data["status"] == "active"
    assert data["@type"] == "Bucket"
    assert data["product"][0]["id"] == str(product.pk)
    assert data["partyAccount"]["id"] == str(product.billing_account_id)
    assert data["validFor"]["endDateTime"] == (data_bucket.valid_to).isoformat()
    assert by_type["monetary"]["remainingValue"] == {"amount": 10.0, "units": "EUR"}
    detail = agent_api.get(data["href"])
    assert detail.status_code == 200
    assert detail.data["id"] == data["id"]
    assert agent_api.get(f"{BASE}/bucket/999999").status_code == 404
    fields = agent_api.get(f"{BASE}/bucket/{data['id']}/", {"fields": "remainingValue"}).data
    assert set(fields) == {"id", "href", "remainingValue"}
    assert anonymous_api.get(f"{BASE}/bucket").status_code in (401, 403)


def test_topup_by_voucher_once_by_finance_only(finance_api, agent_api):
    product = prepaid_product()
    money = bucket(product, "monetary")
    voucher = voucher_create(amount=Decimal("15.00"))
    body = {
        "bucket": {"id": str(money.pk)},
        "partyAccount": {"id": str(product.billing_account_id)},
        "usageType": "monetary",
        "voucher": voucher.code,
    }

    assert agent_api.post(f"{BASE}/topupBalance", body, format="json").status_code == 403
    response = finance_api.post(f"{BASE}/topupBalance", body, format="json")
    assert response.status_code == 201, response.data
    assert response["Location"] == response.data["href"]
    assert response.data["amount"] == {"amount": 15.0, "units": "EUR"}
    assert response.data["status"] == "completed"
    assert response.data["voucher"] == f"****{voucher.code[-4:]}"
    money.refresh_from_db()
    assert money.remaining == Decimal("25.00")

    again = finance_api.post(f"{BASE}/topupBalance", body, format="json")
    assert again.status_code == 409
    assert again.data["@type"] == "Error"
    money.refresh_from_db()
    assert money.remaining == Decimal("25.00")
    assert agent_api.get(f"{BASE}/topupBalance/{response.data['id']}").status_code == 200


def test_topup_by_payment_records_a_tmf676_payment(finance_api):
    product = prepaid_product()
    money = bucket(product, "monetary")
    response = finance_api.post(
        f"{BASE}/topupBalance",
        {
            "bucket": {"id": str(money.pk)},
            "partyAccount": {"id": str(product.billing_account_id)},
            "usageType": "monetary",
            "amount": {"amount": 20, "units": "EUR"},
            "paymentMethod": {"id": "card"},
        },
        format="json",
    )
    assert response.status_code == 201, response.data
    assert response.data["paymentMethod"]["id"] == "card"
    payment = finance_api.get(response.data["payment"]["href"]).data
    assert payment["totalAmount"] == {"unit": "EUR", "value": 20.0}
    assert payment["status"] == "allocated"
    assert payment["unallocatedAmount"] == {"unit": "EUR", "value": 0.0}
    money.refresh_from_db()
    assert money.remaining == Decimal("30.00")
    assert_ledger_balances(money.pk)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"usageType": "monetary"}, "bucket"),
        ({"bucket": {"id": "x"}}, "bucket.id"),
        ({"bucket": {"id": "BUCKET"}}, "voucher"),
        ({"bucket": {"id": "BUCKET"}, "voucher": "NOPE"}, "voucher"),
        ({"bucket": {"id": "BUCKET"}, "paymentMethod": {"id": "card"}}, "amount.amount"),
    ],
)
def test_bad_topups_are_refused_with_the_field(finance_api, body, field):
    product = prepaid_product()
    money = bucket(product, "monetary")
    if "bucket" in body and body["bucket"]["id"] == "BUCKET":
        body = {**body, "bucket": {"id": str(money.pk)}}
    response = finance_api.post(f"{BASE}/topupBalance", body, format="json")
    assert response.status_code in (400, 409), response.data
    assert field in str(response.data)
    money.refresh_from_db()
    assert money.remaining == Decimal("10.00")


def test_credit_control_over_http_by_the_network_role(noc_api, agent_api):
    product = prepaid_product()
    initial = {
        "sessionId": "gy-1",
        "product": {"id": str(product.pk)},
        "usageType": "data",
        "requestedUnits": 10,
    }
    assert agent_api.post(SESSIONS, initial, format="json").status_code == 403

    response = noc_api.post(SESSIONS, initial, format="json")
    assert response.status_code == 201, response.data
    assert response.data == {
        "sessionId": "gy-1",
        "resultCode": 2001,
        "resultCodeName": "DIAMETER_SUCCESS",
        "grantedUnits": 10.0,
        "units": "MB",
        "usageType": "data",
    }
    update = noc_api.post(
        f"{SESSIONS}/gy-1/update", {"usedUnits": 10, "requestedUnits": 10}, format="json"
    )
    assert update.status_code == 200
    assert update.data["grantedUnits"] == 10.0
    end = noc_api.post(f"{SESSIONS}/gy-1/terminate/", {"usedUnits": 4}, format="json")
    assert end.status_code == 200
    assert end.data["resultCode"] == 2001
    assert noc_api.post(f"{SESSIONS}/gy-1/update", {}, format="json").status_code == 404
    assert noc_api.post(SESSIONS, {**initial, "usageType": "fax"}, format="json").status_code == 400

    session = agent_api.get(f"{SESSIONS}/gy-1").data
    assert (session["state"], session["usedUnits"], session["requestNumber"]) == (
        "terminated",
        14.0,
        3,
    )
    assert bucket(product, "data").remaining == Decimal(20480 - 14)
    history = agent_api.get(f"{BASE}/balanceActionHistory", {"bucket.id": session["bucket"]["id"]})
    assert [(row["reason"], row["amount"]["amount"]) for row in history.data] == [
        ("release", 86.0),
        ("commit", 14.0),
        ("reserve", 100.0),
        ("topup", 20480.0),
    ]


def test_refusal_when_the_balance_cannot_cover(noc_api):
    product = prepaid_product(sms=Decimal(0), initial_credit=Decimal(0))
    response = noc_api.post(
        SESSIONS,
        {"sessionId": "gy-2", "product": {"id": str(product.pk)}, "usageType": "sms"},
        format="json",
    )
    assert response.status_code == 200
    assert (response.data["resultCode"], response.data["grantedUnits"]) == (4012, 0.0)


def test_the_360_shows_balances_and_sessions(agent_client):
    product = prepaid_product()
    charging.credit_control_initial(
        session_id="gy-360", product_id=product.pk, usage_type="voice", requested_units=1
    )
    page = agent_client.get(f"/portal/customers/{product.customer_id}/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "Prepaid balances" in html
    assert "20480 MB" in html
    assert 'data-session="gy-360"' in html


def test_low_balance_and_expiry_notices_and_expiry(settings):
    settings.PREPAID_EXPIRY_NOTICE_DAYS = 3
    product = prepaid_product(
        initial_credit=Decimal("1.50"), data_mb=Decimal(0), voice_minutes=Decimal(0), sms=Decimal(0)
    )
    money = bucket(product, "monetary")
    product.customer.party.email = "ada@example.org"
    product.customer.party.save()

    assert prepaid_sweep()["notified"] == 1  # 1.50 EUR is under the 2 EUR threshold
    assert prepaid_sweep()["notified"] == 0  # once
    assert [message.subject for message in mail.outbox] == ["Your prepaid balance is running low"]
    assert (
        PartyInteraction.objects.filter(customer=product.customer, reason="Prepaid balance").count()
        == 1
    )

    later = money.valid_to - timedelta(days=2)
    assert prepaid_sweep(now=later)["notified"] == 1
    assert mail.outbox[-1].subject == "Your prepaid balance expires soon"
    result = prepaid_sweep(now=money.valid_to + timedelta(seconds=1))
    assert result["expired"] == 1
    money.refresh_from_db()
    assert (money.status, money.remaining) == ("expired", Decimal(0))
    assert BalanceAction.objects.get(bucket=money, kind="expire").amount == Decimal("1.50")
    assert_ledger_balances(money.pk)


def test_ordering_the_prepaid_offering_provisions_its_balance(celery_worker, agent_api):
    offering, account, _ = five_g_world()
    PrepaidPlan.objects.create(offering=offering, data_mb=Decimal(1024), initial_credit=Decimal(5))
    response = agent_api.post(
        "/tmf-api/productOrderingManagement/v4/productOrder",
        product_order_body(offering_id=offering.pk, party_id=account.customer_id),
        format="json",
    )
    assert response.status_code == 201, response.data

    def completed():
        body = agent_api.get(response.data["href"]).data
        return body if body["state"] in ("completed", "failed") else None

    order = wait_for(completed, timeout=30)
    assert order["state"] == "completed"
    product_id = order["productOrderItem"][0]["product"]["id"]
    buckets = agent_api.get(f"{BASE}/bucket", {"product.id": product_id}).data
    assert {(b["usageType"], b["remainingValue"]["amount"]) for b in buckets} == {
        ("monetary", 5.0),
        ("data", 1024.0),
    }


def test_the_demo_catalog_sells_a_prepaid_plan():
    from billing import demo as billing_demo
    from catalog import demo as catalog_demo

    offerings = catalog_demo.ensure_catalog()
    assert billing_demo.ensure_prepaid_plans() == 1
    plan = PrepaidPlan.objects.get(offering__name="5G Prepaid 20 GB")
    assert (plan.data_mb, plan.voice_minutes, plan.sms, plan.validity_days) == (20480, 200, 100, 30)
    assert plan.offering.lifecycle_status == "launched"
    assert not plan.offering.prices.exists()  # nothing on a bill: it is paid from the balance
    assert "5G Prepaid 20 GB" not in offerings  # the generated customers hold postpaid plans


def test_lists_and_the_360_panel_cost_the_same_queries_whatever_the_rows(
    agent_api, finance_user, django_assert_num_queries
):
    from billing.prepaid_panels import prepaid_context

    product = prepaid_product()
    charging.credit_control_initial(
        session_id="q-1", product_id=product.pk, usage_type="sms", requested_units=1
    )

    def counts() -> list[int]:
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        found = []
        for path in ("bucket", "balanceActionHistory", "topupBalance", "adjustBalance"):
            with CaptureQueriesContext(connection) as captured:
                assert agent_api.get(f"{BASE}/{path}").status_code == 200
            found.append(len(captured))
        with CaptureQueriesContext(connection) as captured:
            prepaid_context(None, product.customer)
        found.append(len(captured))
        return found

    before = counts()
    for number in range(3):
        other = prepaid_product(plan=product.product_offering.prepaid_plan)
        charging.credit_control_initial(
            session_id=f"q-{number}-x", product_id=other.pk, usage_type="sms", requested_units=1
        )
        voucher = voucher_create(amount=Decimal(5))
        from billing.services import topup_balance_create
        from billing.services.prepaid import balance_adjust

        topup_balance_create(bucket_id=bucket(other, "monetary").pk, voucher=voucher.code)
        balance_adjust(bucket_id=bucket(other, "data").pk, amount=Decimal(100), reason="Goodwill")
    assert counts() == before
