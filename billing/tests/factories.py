"""Billing test data: active products laid down as activation leaves them, and usage events.

The activation workflow belongs to orders/inventory; billing only reads its result, so these
helpers write the rows with the inventory factories (accounts come from `crm.tests.factories`).
"""

from datetime import datetime
from decimal import Decimal

from billing.models import UsageEvent
from catalog.models import ProductOffering
from catalog.tests.factories import shared_five_g_offering
from crm.models import BillingAccount
from crm.tests.factories import BillingAccountFactory
from inventory.choices import ProductStatus, ServiceState
from inventory.models import ProductInstance
from inventory.tests.factories import CustomerFacingServiceFactory, ProductInstanceFactory


def active_product(
    *,
    account: BillingAccount | None = None,
    start_date: datetime,
    termination_date: datetime | None = None,
    status: str = ProductStatus.ACTIVE,
    offering: ProductOffering | None = None,
) -> ProductInstance:
    """A product with its customer-facing service, as a successful activation leaves them."""
    product = ProductInstanceFactory(
        billing_account=account or BillingAccountFactory(),
        product_offering=offering or shared_five_g_offering(),
        status=status,
        characteristics={"bandwidth": "1Gbps"},
        start_date=start_date,
        termination_date=termination_date,
    )
    CustomerFacingServiceFactory(
        product=product,
        state=ServiceState.ACTIVE if status == ProductStatus.ACTIVE else ServiceState.TERMINATED,
    )
    return product


def usage_event(
    *, product: ProductInstance, usage_date: datetime, gigabytes: str, event_id: str = ""
) -> UsageEvent:
    """A stored usage event (as ingest leaves it) of `gigabytes` GB of rating group DATA."""
    volume = Decimal(gigabytes)
    return UsageEvent.objects.create(
        event_id=event_id or f"evt-{UsageEvent.objects.count() + 1}-{product.pk}",
        service=product.services.first(),
        product=product,
        billing_account=product.billing_account,
        usage_date=usage_date,
        rating_group="DATA_5G_PREMIUM",
        volume=volume,
        unit="GB",
        rated_volume=volume,
    )
