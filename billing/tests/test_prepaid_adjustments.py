"""TMF654 adjustBalance: finance credits or debits a prepaid balance, and a refunded or
reversed top-up payment comes off the balance it paid (the customer cannot keep both)."""

from decimal import Decimal

import pytest

from billing.models import AdjustBalance, BalanceAction, Payment
from billing.services import charging
from billing.tests.prepaid_helpers import assert_ledger_balances, bucket, prepaid_product

pytestmark = pytest.mark.django_db

BASE = "/tmf-api/prepayBalanceManagement/v4"
REFUNDS = "/tmf-api/paymentManagement/v4/refund"
REVERSALS = "/api/v1/billing/paymentReversal"


def _adjust_body(target, amount, **extra) -> dict:
    return {
        "bucket": {"id": str(target.pk)},
        "usageType": target.usage_type,
        "amount": {"amount": amount, "units": target.units},
        "reason": "Goodwill after incident 42",
        **extra,
    }


def test_finance_credits_and_debits_a_balance_and_agents_read_it(finance_api, agent_api):
    product = prepaid_product()
    data = bucket(product, "data")

    denied = agent_api.post(f"{BASE}/adjustBalance", _adjust_body(data, 1024), format="json")
    assert denied.status_code == 403
    credit = finance_api.post(f"{BASE}/adjustBalance", _adjust_body(data, 1024), format="json")
    assert credit.status_code == 201, credit.data
    assert credit["Location"] == credit.data["href"]
    assert credit.data["amount"] == {"amount": 1024.0, "units": "MB"}
    assert credit.data["status"] == "completed"
    assert credit.data["@type"] == "AdjustBalance"
    assert credit.data["reason"] == "Goodwill after incident 42"
    debit = finance_api.post(
        f"{BASE}/adjustBalance",
        _adjust_body(data, -24, reason="Correction"),
        format="json",
    )
    assert debit.status_code == 201, debit.data
    data.refresh_from_db()
    assert data.remaining == Decimal(20480 + 1024 - 24)
    totals = assert_ledger_balances(data.pk)
    assert (totals["credit"], totals["debit"]) == (Decimal(1024), Decimal(24))

    listed = agent_api.get(f"{BASE}/adjustBalance", {"bucket.id": data.pk})
    assert listed.status_code == 200
    assert [row["amount"]["amount"] for row in listed.data] == [-24.0, 1024.0]
    history = agent_api.get(f"{BASE}/balanceActionHistory", {"bucket.id": data.pk}).data
    assert [row["reason"] for row in history[:2]] == ["debit", "credit"]
    assert history[1]["description"] == "credit: Goodwill after incident 42"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"amount": {"amount": 0, "units": "EUR"}}, "amount"),
        ({"amount": {"amount": -10.01, "units": "EUR"}}, "amount.amount"),
        ({"amount": {"amount": 1.001, "units": "EUR"}}, "amount.amount"),
        ({"amount": {"amount": 1, "units": "MB"}}, "amount.units"),
        ({"usageType": "data"}, "usageType"),
        ({"bucket": {"id": "x"}}, "bucket.id"),
        ({"bucket": {"id": "999999"}}, "bucket.id"),
        ({"reason": " "}, "reason"),
        ({"partyAccount": {"id": "999999"}}, "partyAccount.id"),
    ],
)
def test_bad_adjustments_are_refused_with_the_field_and_change_nothing(finance_api, change, field):
    product = prepaid_product()
    money = bucket(product, "monetary")  # holds 10.00 EUR
    body = {**_adjust_body(money, 1), **change}
    response = finance_api.post(f"{BASE}/adjustBalance", body, format="json")
    assert response.status_code == 400, response.data
    assert field in str(response.data)
    money.refresh_from_db()
    assert money.remaining == Decimal("10.00")
    assert not AdjustBalance.objects.exists()
    assert not BalanceAction.objects.filter(kind__in=["credit", "debit"]).exists()


def _topup_by_card(finance_api, money, amount) -> Payment:
    response = finance_api.post(
        f"{BASE}/topupBalance",
        {
            "bucket": {"id": str(money.pk)},
            "usageType": "monetary",
            "amount": {"amount": amount, "units": "EUR"},
            "paymentMethod": {"id": "card"},
        },
        format="json",
    )
    assert response.status_code == 201, response.data
    return Payment.objects.get(pk=response.data["payment"]["id"])


def _spend(product, euros) -> None:
    """Spend money out of bundle: SMS at the plan's price once the SMS allowance is gone."""
    units = Decimal(euros) / product.product_offering.prepaid_plan.price_per_sms
    charging.credit_control_initial(
        session_id=f"spend-{product.pk}",
        product_id=product.pk,
        usage_type="sms",
        requested_units=units,
    )
    charging.credit_control_terminate(session_id=f"spend-{product.pk}", used_units=units)


def test_a_refunded_top_up_comes_off_the_balance_and_never_more_than_it_holds(finance_api):
    product = prepaid_product(sms=0)
    money = bucket(product, "monetary")  # 10.00 opening credit
    payment = _topup_by_card(finance_api, money, 20)
    money.refresh_from_db()
    assert money.remaining == Decimal("30.00")

    def refund(value):
        return finance_api.post(
            REFUNDS,
            {
                "account": {"id": str(product.billing_account_id)},
                "payment": {"id": str(payment.pk)},
                "amount": {"unit": "EUR", "value": value},
                "reason": "Customer changed their mind",
            },
            format="json",
        )

    answer = refund(5)
    assert answer.status_code == 201, answer.data
    money.refresh_from_db()
    assert money.remaining == Decimal("25.00")
    adjustment = AdjustBalance.objects.get(payment=payment)
    assert (adjustment.amount, adjustment.unrecovered) == (Decimal("-5"), Decimal(0))

    _spend(product, "22")  # 3.00 left on the balance, 15.00 of the payment not refunded
    money.refresh_from_db()
    assert money.remaining == Decimal("3.00")
    too_much = refund(15)
    assert too_much.status_code == 400
    assert "amount.value" in str(too_much.data)
    assert "holds 3" in str(too_much.data)
    money.refresh_from_db()
    payment.refresh_from_db()
    assert money.remaining == Decimal("3.00")
    assert payment.refunds.count() == 1
    assert refund(3).status_code == 201
    money.refresh_from_db()
    assert money.remaining == 0
    assert_ledger_balances(money.pk)


def test_a_reversed_top_up_takes_back_what_is_left_and_records_the_rest(finance_api, agent_api):
    product = prepaid_product(sms=0)
    money = bucket(product, "monetary")
    payment = _topup_by_card(finance_api, money, 20)
    _spend(product, "26")  # 4.00 left of 30.00

    answer = finance_api.post(
        REVERSALS, {"payment": {"id": str(payment.pk)}, "reason": "Chargeback"}, format="json"
    )
    assert answer.status_code == 201, answer.data
    money.refresh_from_db()
    payment.refresh_from_db()
    assert money.remaining == 0
    assert payment.state == "reversed"
    listed = agent_api.get(f"{BASE}/adjustBalance", {"bucket.id": money.pk}).data
    assert len(listed) == 1
    assert listed[0]["amount"] == {"amount": -20.0, "units": "EUR"}
    assert listed[0]["unrecoveredAmount"] == {"amount": 16.0, "units": "EUR"}
    assert listed[0]["payment"]["id"] == str(payment.pk)
    totals = assert_ledger_balances(money.pk)
    assert totals["debit"] == Decimal("4.00")
