"""Acceptance rules of a product order beyond the catalog: eligibility and account standing."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from billing.models import CustomerBill
from orders.models import ProductOrder
from orders.tests.factories import five_g_world, product_order_body
from orders.tests.test_product_actions import active_product

ORDERS = "/tmf-api/productOrderingManagement/v4/productOrder"


def _bill(account, amount: str, *, due_in_days: int, state="sent", number="B1") -> CustomerBill:
    now = timezone.now()
    return CustomerBill.objects.create(
        billing_account=account,
        bill_no=number,
        period_start=now - timedelta(days=60 + due_in_days),
        period_end=now - timedelta(days=30),
        payment_due_date=now + timedelta(days=due_in_days),
        state=state,
        currency="EUR",
        tax_excluded_amount=Decimal(amount),
        tax_amount=Decimal("0"),
        tax_included_amount=Decimal(amount),
        remaining_amount=Decimal(amount) if state != "settled" else Decimal("0"),
    )


def _refused(agent_api, body) -> dict:
    response = agent_api.post(ORDERS, body, format="json")
    assert response.status_code == 400, response.data
    assert ProductOrder.objects.count() == 0
    return response.data["errors"]


@pytest.mark.django_db
def test_offering_not_sold_to_the_customers_segment_is_refused(agent_api):
    offering, account, _ = five_g_world()
    offering.market_segments = ["enterprise"]
    offering.save()

    errors = _refused(
        agent_api, product_order_body(offering_id=offering.pk, party_id=account.customer_id)
    )

    assert errors == {
        "productOrderItem[0].productOffering.id": [
            "Product offering '5G Premium' is not sold to consumer customers."
        ]
    }


@pytest.mark.django_db
def test_suspended_account_cannot_order(agent_api):
    offering, account, _ = five_g_world()
    account.state = "suspended"
    account.save()

    errors = _refused(
        agent_api, product_order_body(offering_id=offering.pk, party_id=account.customer_id)
    )

    assert errors == {
        "billingAccount.id": [
            f"Billing account {account.account_number} is suspended: it cannot order."
        ]
    }


@pytest.mark.django_db
def test_overdue_account_cannot_order_until_paid(agent_api):
    offering, account, _ = five_g_world()
    bill = _bill(account, "61.50", due_in_days=-3)
    body = product_order_body(offering_id=offering.pk, party_id=account.customer_id)

    errors = _refused(agent_api, body)

    assert errors == {
        "billingAccount.id": [
            f"Billing account {account.account_number} has 61.50 EUR overdue: it must be paid "
            "before ordering."
        ]
    }
    bill.state = "settled"
    bill.remaining_amount = Decimal("0")
    bill.save()
    assert agent_api.post(ORDERS, body, format="json").status_code == 201


@pytest.mark.django_db
def test_credit_limit_counts_balance_and_new_monthly_charges(agent_api):
    offering, account, _ = five_g_world()
    account.credit_limit = Decimal("100")
    account.save()
    _bill(account, "75.00", due_in_days=10)  # unpaid, not yet due
    body = product_order_body(offering_id=offering.pk, party_id=account.customer_id)

    errors = _refused(agent_api, body)

    assert errors == {
        "billingAccount.id": [
            "Credit limit exceeded: balance 75.00 plus 30.00 a month is over the limit of "
            "100.00 EUR."
        ]
    }
    account.credit_limit = Decimal("105")
    account.save()
    assert agent_api.post(ORDERS, body, format="json").status_code == 201


@pytest.mark.django_db
def test_standing_is_not_checked_for_suspend_resume_and_terminate(agent_api):
    offering, account, _ = five_g_world()
    product = active_product(offering, account)
    _bill(account, "61.50", due_in_days=-3)
    # Dunning suspends an overdue account's products through the normal order flow.
    body = {
        "productOrderItem": [
            {
                "id": "1",
                "action": "modify",
                "product": {"id": str(product.pk), "status": "suspended"},
            }
        ],
        "relatedParty": [{"id": str(account.customer_id), "@referredType": "Customer"}],
    }

    response = agent_api.post(ORDERS, body, format="json")

    assert response.status_code == 201, response.data
