"""Dunning: an overdue bill walks the policy's steps once each (reminders as customer
notifications, suspension through a TMF622 order with reason nonPayment), payment in full
closes the case and resumes what it suspended; the finance page, the API and the 360."""

from datetime import timedelta

import pytest
from django.core import mail

from billing.models import DunningAction, DunningCase
from billing.tasks import run_dunning
from billing.tests.conftest import PINNED_AT
from billing.tests.factories import active_product
from billing.tests.money_owed import dunning_policy, sent_bill, utc
from crm.models import PartyInteraction
from inventory.models import ProductInstance
from orders.models import ProductOrder
from telco.panels import lookups_for
from telco.testing import run_at_once

pytestmark = pytest.mark.django_db

PAYMENTS = "/tmf-api/paymentManagement/v4/payment"
CASES = "/api/v1/billing/dunningCase"


@pytest.fixture
def overdue():
    """A bill of 120.00 EUR due on 20 Nov: 13 days overdue at the pinned clock (3 Dec)."""
    dunning_policy()
    product = active_product(start_date=utc(2026, 10, 1))
    return sent_bill(
        product,
        bill_no="INV-900001",
        start=utc(2026, 10, 1),
        end=utc(2026, 11, 1),
        due=utc(2026, 11, 20),
        net="100",
    )


def _steps(bill) -> list[tuple[str, str]]:
    return list(
        DunningAction.objects.filter(case__bill=bill).order_by("id").values_list("action", "state")
    )


def test_the_order_placer_is_registered_by_orders():
    assert [f.__name__ for f in lookups_for("billing.account_order")] == ["account_order_place"]


def test_steps_are_taken_in_order_once_each_and_suspend_through_an_order(
    overdue, billing_clock, finance_api
):
    answer = run_dunning()
    assert answer == {"closed": 0, "opened": 1, "steps": 1, "carriedOut": 1}
    assert _steps(overdue) == [("reminder", "done")]
    interaction = PartyInteraction.objects.get()
    assert interaction.reason == "nonPayment"
    assert interaction.subject == "Reminder: bill INV-900001 is overdue"
    assert [m.subject for m in mail.outbox] == ["Reminder: bill INV-900001 is overdue"]

    # One step a run: the second reminder (7 days) next; the suspension (14 days) not yet.
    run_dunning()
    assert run_dunning() == {"closed": 0, "opened": 0, "steps": 0, "carriedOut": 0}
    assert _steps(overdue) == [("reminder", "done"), ("secondReminder", "done")]
    assert len(mail.outbox) == 2

    billing_clock.move_to(PINNED_AT + timedelta(days=1))
    assert run_dunning()["steps"] == 1
    assert run_dunning()["steps"] == 0
    assert _steps(overdue) == [
        ("reminder", "done"),
        ("secondReminder", "done"),
        ("suspend", "done"),
    ]
    order = ProductOrder.objects.get()
    assert order.description == "nonPayment: bill INV-900001 overdue"
    assert order.state == "acknowledged"
    product = ProductInstance.objects.get()
    assert [(i.action, i.target_status, i.product_id) for i in order.items.all()] == [
        ("modify", "suspended", product.pk)
    ]
    action = DunningAction.objects.get(action="suspend")
    assert (action.order_id, action.product_ids) == (str(order.pk), [product.pk])

    body = finance_api.get(CASES, {"state": "open"}).json()
    assert [(c["bill"]["name"], c["state"]) for c in body] == [("INV-900001", "open")]
    assert [a["action"] for a in body[0]["action"]] == ["reminder", "secondReminder", "suspend"]
    assert body[0]["action"][2]["productOrderId"] == str(order.pk)

    # The order completes (the worker's part, here by hand); payment in full resumes it.
    ProductInstance.objects.filter(pk=product.pk).update(status="suspended")
    order.items.update(state="completed")
    ProductOrder.objects.filter(pk=order.pk).update(state="completed")
    answer = finance_api.post(
        PAYMENTS,
        {
            "account": {"id": str(overdue.billing_account_id)},
            "paymentMethod": {"id": "bankTransfer"},
            "totalAmount": {"unit": "EUR", "value": 120},
        },
        format="json",
    )
    assert answer.status_code == 201, answer.data
    case = DunningCase.objects.get()
    assert (case.closed_at is not None, case.close_reason) == (True, "paid")
    assert case.resume_error == ""
    resume = ProductOrder.objects.exclude(pk=order.pk).get()
    assert case.resume_order_id == str(resume.pk)
    assert [(i.action, i.target_status) for i in resume.items.all()] == [("modify", "active")]
    assert finance_api.get(CASES, {"state": "open"}).json() == []


def test_a_bill_under_the_minimum_or_not_yet_due_is_not_dunned(billing_clock):
    dunning_policy(minimum="50")
    product = active_product(start_date=utc(2026, 10, 1))
    sent_bill(
        product,
        bill_no="INV-1",
        start=utc(2026, 9, 1),
        end=utc(2026, 10, 1),
        due=utc(2026, 11, 1),
        net="10",
    )
    sent_bill(
        product,
        bill_no="INV-2",
        start=utc(2026, 10, 1),
        end=utc(2026, 11, 1),
        due=utc(2026, 12, 10),
        net="100",
    )
    assert run_dunning() == {"closed": 0, "opened": 0, "steps": 0, "carriedOut": 0}
    assert DunningCase.objects.count() == 0


def test_the_finance_page_and_the_360_show_bills_in_dunning(
    overdue, finance_client, agent_client, django_assert_max_num_queries
):
    run_dunning()
    run_dunning()
    page = finance_client.get("/finance/dunning/")
    assert page.status_code == 200
    html = page.content.decode()
    assert 'data-step="secondReminder"' in html
    assert "INV-900001" in html
    assert agent_client.get("/finance/dunning/").status_code == 403

    customer_id = overdue.billing_account.customer_id
    page = agent_client.get(f"/portal/customers/{customer_id}/")
    html = page.content.decode()
    assert 'data-dunning-bill="INV-900001"' in html
    assert "secondReminder" in html


def test_pages_query_count_does_not_grow_with_cases(
    overdue, finance_client, django_assert_max_num_queries
):
    run_dunning()
    with django_assert_max_num_queries(12):
        assert finance_client.get("/finance/dunning/").status_code == 200


def test_termination_is_a_delete_order_and_the_case_list_costs_fixed_queries(
    finance_api, django_assert_num_queries
):
    dunning_policy(steps=((1, 0, "terminate"),))
    product = active_product(start_date=utc(2026, 10, 1))
    for month in (8, 9, 10):
        sent_bill(
            product,
            bill_no=f"INV-T{month}",
            start=utc(2026, month, 1),
            end=utc(2026, month + 1, 1),
            due=utc(2026, month + 1, 20),
            net="10",
        )
    assert run_dunning()["steps"] == 3
    # One account, three cases: one order, which the three actions point to.
    orders = list(ProductOrder.objects.all())
    assert [(o.description, [i.action for i in o.items.all()]) for o in orders] == [
        ("nonPayment: bill INV-T8 overdue", ["delete"])
    ]
    assert set(DunningAction.objects.values_list("state", "order_id")) == {
        ("done", str(orders[0].pk))
    }
    with django_assert_num_queries(5):
        body = finance_api.get(CASES, {"step": "terminate"}).json()
    assert len(body) == 3


@pytest.mark.django_db(transaction=True)
def test_two_runs_at_once_take_each_step_once():
    dunning_policy(steps=((1, 0, "reminder"),))
    product = active_product(start_date=utc(2026, 10, 1))
    for month in (8, 9, 10):
        sent_bill(
            product,
            bill_no=f"INV-C{month}",
            start=utc(2026, month, 1),
            end=utc(2026, month + 1, 1),
            due=utc(2026, month + 1, 20),
            net="10",
        )
    results, errors = run_at_once(run_dunning, times=2)
    assert errors == []
    assert sum(r["steps"] for r in results) == 3
    assert sum(r["carriedOut"] for r in results) == 3
    assert DunningAction.objects.filter(state="done").count() == 3
    assert PartyInteraction.objects.count() == 3
