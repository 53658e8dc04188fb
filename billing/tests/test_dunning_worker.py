"""Dunning on the real worker: the daily task suspends an overdue account's product through a
TMF622 order the worker carries out on the (lab) network, and payment in full resumes it."""

from datetime import timedelta

from billing.models import DunningCase
from billing.tasks import run_dunning
from billing.tests.money_owed import dunning_policy, sent_bill
from inventory.models import ProductInstance
from orders import services as order_services
from orders.models import ProductOrder
from orders.services import ItemRequest, PartyRequest
from orders.tests.factories import five_g_world
from telco import clock
from telco.testing import wait_for

PAYMENTS = "/tmf-api/paymentManagement/v4/payment"


def _completed(order_id: int) -> bool:
    return ProductOrder.objects.get(pk=order_id).state == "completed"


def test_suspension_and_resume_go_through_orders_on_the_worker(celery_worker, finance_api):
    offering, account, _ = five_g_world()
    order = order_services.product_order_submit(
        items=[ItemRequest("1", "add", str(offering.pk), {"bandwidth": "500Mbps"})],
        parties=[PartyRequest(str(account.customer_id), "Customer")],
    )
    wait_for(lambda: _completed(order.pk), timeout=60)
    product = ProductInstance.objects.get(product_order_id=str(order.pk))
    dunning_policy(steps=((1, 0, "suspend"),))
    now = clock.now()
    sent_bill(
        product,
        bill_no="INV-W1",
        start=now - timedelta(days=40),
        end=now - timedelta(days=10),
        due=now - timedelta(days=2),
        net="100",
    )

    run_dunning.delay()

    suspend = wait_for(lambda: ProductOrder.objects.exclude(pk=order.pk).first(), timeout=60)
    assert suspend.description == "nonPayment: bill INV-W1 overdue"
    wait_for(lambda: _completed(suspend.pk), timeout=60)
    assert ProductInstance.objects.get(pk=product.pk).status == "suspended"

    paid = finance_api.post(
        PAYMENTS,
        {
            "account": {"id": str(account.pk)},
            "paymentMethod": {"id": "card"},
            "totalAmount": {"unit": "EUR", "value": 120},
        },
        format="json",
    )
    assert paid.status_code == 201, paid.data
    resume = ProductOrder.objects.exclude(pk__in=[order.pk, suspend.pk]).get()
    wait_for(lambda: _completed(resume.pk), timeout=60)
    assert ProductInstance.objects.get(pk=product.pk).status == "active"
    assert DunningCase.objects.get().close_reason == "paid"
    # Another run the same day finds nothing to do: each step once.
    assert run_dunning() == {"closed": 0, "opened": 0, "steps": 0, "carriedOut": 0}
