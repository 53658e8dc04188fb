"""Orders billing places on an account's products (billing cannot import orders: it calls the
function registered at billing's ACCOUNT_ORDER_LOOKUP): suspend, resume or terminate them for
non-payment (dunning) or fraud (a bar and its lift), as TMF622 product orders like an agent's."""

from django.db.models import Model

from crm import selectors as crm_selectors
from orders.models import ProductOrder
from orders.services.product_orders import product_order_submit
from orders.services.validation import ItemRequest, PartyRequest

ITEM_FOR_CHANGE = {
    "suspend": {"action": "modify", "status": "suspended"},
    "resume": {"action": "modify", "status": "active"},
    "terminate": {"action": "delete"},
}


def account_order_place(
    *,
    billing_account_id: int,
    product_ids: list[int],
    change: str,
    reason: str,
    reference: str,
    by: str,
) -> int:
    """Order `change` of the account's `product_ids`; the order's description carries the
    reason (nonPayment..., fraud...). `reference` (the order's externalId) makes it
    idempotent: the same reference again returns the order placed before. DomainError when
    orders refuse it."""
    earlier = (
        ProductOrder.objects.filter(external_id=reference, billing_account_id=billing_account_id)
        .values_list("pk", flat=True)
        .first()
    )
    if earlier is not None:
        return earlier
    account: Model = crm_selectors.billing_account_rows().get(pk=billing_account_id)
    order = product_order_submit(
        items=[
            ItemRequest(str(index), product_id=str(product_id), **ITEM_FOR_CHANGE[change])
            for index, product_id in enumerate(product_ids, start=1)
        ],
        parties=[PartyRequest(str(account.customer_id), "Customer")],
        billing_account_id=str(billing_account_id),
        description=reason[:200],
        external_id=reference[:60],
        by=by,
    )
    return order.pk
