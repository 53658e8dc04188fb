"""What prepaid adds to the customer 360 (telco.panels): the balances of the customer's prepaid
products and their latest charging sessions."""

from billing.models import ChargingSession, PrepaidBucket
from telco.panels import Panel, register

RECENT_SESSIONS = 10


def prepaid_context(request, customer) -> dict:
    """Two queries whatever the number of products and sessions."""
    buckets = list(
        PrepaidBucket.objects.filter(product__customer_id=customer.pk)
        .select_related("product")
        .order_by("product_id", "usage_type")
    )
    sessions = []
    if buckets:
        sessions = list(
            ChargingSession.objects.filter(product__customer_id=customer.pk)
            .select_related("product", "bucket")
            .order_by("-created_at", "-pk")[:RECENT_SESSIONS]
        )
    return {"buckets": buckets, "sessions": sessions}


def register_prepaid_panels() -> None:
    """Called by `BillingConfig.ready()`."""
    register(
        "crm.customer",
        Panel(
            name="billing.prepaid",
            title="Prepaid balances",
            template="billing/panels/customer_prepaid.html",
            context=prepaid_context,
            order=15,
        ),
    )
