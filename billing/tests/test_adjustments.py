"""Credit notes (issued, approved by another finance user above the limit, the bill left as
issued, balance and dunning following), refunds (of a payment, of credit) and reversals (a
bounced payment re-opens its bills and puts them back into dunning), through the API and the
finance pages."""

from decimal import Decimal

import pytest

from billing.models import DunningCase, Payment
from billing.selectors import account_standing
from billing.tasks import run_dunning
from billing.tests.factories import active_product
from billing.tests.money_owed import dunning_policy, sent_bill, utc

pytestmark = pytest.mark.django_db

NOTES = "/api/v1/billing/creditNote"
PAYMENTS = "/tmf-api/paymentManagement/v4/payment"
REFUNDS = "/tmf-api/paymentManagement/v4/refund"
REVERSALS = "/api/v1/billing/paymentReversal"


@pytest.fixture
def bills():
    """October 120.00 (due 20 Nov, overdue) and November 60.00 (due 20 Dec) on one account."""
    dunning_policy()
    product = active_product(start_date=utc(2026, 10, 1))
    october = sent_bill(
        product,
        bill_no="INV-1",
        start=utc(2026, 10, 1),
        end=utc(2026, 11, 1),
        due=utc(2026, 11, 20),
        net="100",
    )
    november = sent_bill(
        product,
        bill_no="INV-2",
        start=utc(2026, 11, 1),
        end=utc(2026, 12, 1),
        due=utc(2026, 12, 20),
        net="50",
    )
    return october, november


@pytest.fixture
def second_finance_api(roles):
    from django.contrib.auth.models import User
    from rest_framework.test import APIClient

    user = User.objects.create_user("finance2", password="x")
    user.groups.add(roles["finance"])
    client = APIClient()
    client.force_authenticate(user)
    return client


def _note(bill, value, **extra) -> dict:
    return {
        "bill": {"id": str(bill.pk)},
        "amount": {"unit": "EUR", "value": value},
        "reason": "goodwill",
        **extra,
    }


def _pay(api, account_id, value) -> dict:
    body = {
        "account": {"id": str(account_id)},
        "paymentMethod": {"id": "directDebit"},
        "totalAmount": {"unit": "EUR", "value": value},
    }
    answer = api.post(PAYMENTS, body, format="json")
    assert answer.status_code == 201, answer.data
    return answer.json()


def test_a_small_credit_note_is_approved_at_once_and_pays_down_the_bill(bills, finance_api):
    october, _ = bills
    answer = finance_api.post(NOTES, _note(october, 30, description="Late install"), format="json")

    assert answer.status_code == 201, answer.data
    body = answer.json()
    assert (body["billNo"], body["state"], body["category"]) == (
        "CN-000001",
        "approved",
        "creditNote",
    )
    assert body["taxIncludedAmount"] == {"unit": "EUR", "value": -30.0}
    assert body["taxAmount"] == {"unit": "EUR", "value": -5.0}
    assert body["allocation"][0]["amount"] == {"unit": "EUR", "value": 30.0}
    october.refresh_from_db()
    # The bill stays as issued; only what it still owes moves.
    assert (october.tax_included_amount, october.remaining_amount, october.state) == (
        Decimal("120.0000"),
        Decimal("90.0000"),
        "partiallyPaid",
    )
    assert account_standing(october.billing_account) == (Decimal("150.0000"), Decimal("90.0000"))


def test_above_the_limit_another_finance_user_approves_and_the_bill_leaves_dunning(
    bills, finance_api, second_finance_api
):
    october, november = bills
    run_dunning()
    assert DunningCase.objects.filter(closed_at__isnull=True).count() == 1
    note = finance_api.post(NOTES, _note(october, 120), format="json").json()
    assert note["state"] == "pendingApproval"
    october.refresh_from_db()
    assert october.remaining_amount == Decimal("120")

    refused = finance_api.post(f"{NOTES}/{note['id']}/approve", {}, format="json")
    assert refused.status_code == 403
    too_much = finance_api.post(NOTES, _note(october, "0.01"), format="json")
    assert too_much.status_code == 400
    assert "At most 0 EUR of bill INV-1" in str(too_much.json())

    answer = second_finance_api.post(f"{NOTES}/{note['id']}/approve", {"note": "ok"}, format="json")
    assert answer.status_code == 200, answer.data
    assert (answer.json()["state"], answer.json()["decidedBy"]) == ("approved", "finance2")
    october.refresh_from_db()
    november.refresh_from_db()
    assert (october.state, october.remaining_amount) == ("settled", Decimal("0"))
    assert (october.tax_included_amount, november.remaining_amount) == (120, 60)
    case = DunningCase.objects.get()
    assert (case.closed_at is not None, case.close_reason) == (True, "credited")


def test_a_line_credit_is_capped_by_the_line_and_reject_credits_nothing(
    bills, finance_api, admin_api
):
    october, _ = bills
    line = october.lines.get()
    answer = finance_api.post(
        NOTES, _note(october, 121, appliedCustomerBillingRate={"id": str(line.pk)}), format="json"
    )
    assert answer.status_code == 400
    note = finance_api.post(
        NOTES, _note(october, 60, appliedCustomerBillingRate={"id": str(line.pk)}), format="json"
    ).json()
    assert note["appliedCustomerBillingRate"]["id"] == str(line.pk)
    answer = admin_api.post(f"{NOTES}/{note['id']}/reject", {}, format="json")
    assert answer.json()["state"] == "rejected"
    october.refresh_from_db()
    assert october.remaining_amount == Decimal("120")
    assert admin_api.post(f"{NOTES}/{note['id']}/approve", {}, format="json").status_code == 409


def test_a_bounced_direct_debit_reopens_its_bills_and_dunning_restarts(bills, finance_api):
    october, november = bills
    run_dunning()
    payment = _pay(finance_api, october.billing_account_id, 180)
    october.refresh_from_db()
    assert october.state == "settled"
    assert DunningCase.objects.get().close_reason == "paid"

    answer = finance_api.post(
        REVERSALS, {"payment": {"id": payment["id"]}, "reason": "Returned: AC04"}, format="json"
    )
    assert answer.status_code == 201, answer.data
    assert [(r["billNo"], r["amount"]) for r in answer.json()["reopenedBill"]] == [
        ("INV-2", "60.0000"),
        ("INV-1", "120.0000"),
    ]
    october.refresh_from_db()
    november.refresh_from_db()
    assert (october.state, october.remaining_amount) == ("sent", Decimal("120"))
    assert (november.state, november.remaining_amount) == ("sent", Decimal("60"))
    assert Payment.objects.get().state == "reversed"
    assert list(october.history.values_list("from_state", "to_state")) == [
        ("sent", "settled"),
        ("settled", "sent"),
    ]
    # The overdue bill is in dunning again, a new case counting from today.
    cases = list(DunningCase.objects.order_by("id").values_list("bill__bill_no", "close_reason"))
    assert cases == [("INV-1", "paid"), ("INV-1", "")]
    again = finance_api.post(
        REVERSALS, {"payment": {"id": payment["id"]}, "reason": "twice"}, format="json"
    )
    assert again.status_code == 409


def test_refunds_of_credit_and_of_a_payment(bills, finance_api):
    october, november = bills
    payment = _pay(finance_api, october.billing_account_id, 200)  # 20.00 left as credit
    account_id = str(october.billing_account_id)
    too_much = finance_api.post(
        REFUNDS,
        {"account": {"id": account_id}, "amount": {"unit": "EUR", "value": 25}, "reason": "x"},
        format="json",
    )
    assert too_much.status_code == 400
    answer = finance_api.post(
        REFUNDS,
        {
            "account": {"id": account_id},
            "amount": {"unit": "EUR", "value": 20},
            "reason": "Overpaid",
            "correlatorId": "R-1",
        },
        format="json",
    )
    assert answer.status_code == 201, answer.data
    assert answer.json()["reopenedBill"] == []
    assert Payment.objects.get().unallocated_amount == 0
    # Of the payment: 30.00 more comes back from the newest bill it paid (November).
    answer = finance_api.post(
        REFUNDS,
        {
            "account": {"id": account_id},
            "payment": {"id": payment["id"]},
            "amount": {"unit": "EUR", "value": 30},
            "reason": "Cancelled option",
        },
        format="json",
    )
    assert answer.status_code == 201, answer.data
    november.refresh_from_db()
    assert (november.state, november.remaining_amount) == ("partiallyPaid", Decimal("30"))
    assert account_standing(november.billing_account)[0] == Decimal("30")
    repeat = finance_api.post(
        REFUNDS,
        {
            "account": {"id": account_id},
            "amount": {"unit": "EUR", "value": 20},
            "reason": "Overpaid",
            "correlatorId": "R-1",
        },
        format="json",
    )
    assert repeat.status_code == 200


def test_finance_pages_issue_approve_refund_and_reverse(
    bills, finance_client, admin_role_client, agent_client
):
    october, _ = bills
    assert agent_client.get("/finance/credit-notes/").status_code == 403
    answer = finance_client.post(
        "/finance/credit-notes/issue/",
        {"bill_no": "INV-1", "amount": "70", "reason": "billingError", "description": "Wrong plan"},
    )
    assert answer.status_code == 302
    page = finance_client.get("/finance/credit-notes/").content.decode()
    assert 'data-credit-note="CN-000001"' in page
    assert "pendingApproval" in page
    admin_role_client.post(
        "/finance/credit-notes/1/approve/".replace("1", str(october.credit_notes.get().pk))
    )
    october.refresh_from_db()
    assert october.remaining_amount == Decimal("50")

    payment = Payment.objects.create(
        billing_account=october.billing_account,
        amount=Decimal("10"),
        unallocated_amount=Decimal("10"),
        method="directDebit",
    )
    page = finance_client.get(f"/finance/payments/{payment.pk}/")
    assert page.status_code == 200
    customer_page = finance_client.get(f"/portal/customers/{october.billing_account.customer_id}/")
    assert f'href="/finance/payments/{payment.pk}/"' in customer_page.content.decode()
    finance_client.post(f"/finance/payments/{payment.pk}/refund/", {"amount": "4", "reason": "r"})
    payment.refresh_from_db()
    assert payment.unallocated_amount == Decimal("6")
    finance_client.post(f"/finance/payments/{payment.pk}/reverse/", {"reason": "bounced"})
    payment.refresh_from_db()
    assert payment.state == "received"  # refunded in part: it cannot bounce
    page = finance_client.get(f"/finance/payments/{payment.pk}/").content.decode()
    assert "cannot be reversed" in page


def test_a_credit_note_on_a_disputed_bill_credits_it_and_leaves_it_on_hold(bills, finance_api):
    october, november = bills
    url = f"/tmf-api/customerBillManagement/v4/customerBill/{october.pk}"
    answer = finance_api.patch(url, {"state": "onHold"}, format="json")
    assert answer.status_code == 200, answer.data
    note = finance_api.post(NOTES, _note(october, 20, reason="dispute"), format="json").json()
    assert note["state"] == "approved"
    october.refresh_from_db()
    november.refresh_from_db()
    assert (october.state, october.remaining_amount) == ("onHold", Decimal("100"))
    assert november.remaining_amount == Decimal("60")
