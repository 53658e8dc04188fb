"""Billing test data: customers, accounts and active products laid down as activation leaves them.

The activation workflow belongs to orders/inventory; billing only reads its result, so these
factories write the rows directly.
"""

from datetime import datetime
from decimal import Decimal

import factory

from billing.models import UsageEvent
from catalog.models import ProductOffering, ServiceSpecification
from catalog.tests.factories import five_g_premium_offering
from crm.models import BillingAccount, Customer, Party
from inventory.choices import ProductStatus, ServiceCategory, ServiceState
from inventory.models import ProductInstance, Service


class PartyFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Party

    kind = "individual"
    given_name = "Ada"
    family_name = factory.Sequence(lambda n: f"Customer{n}")


class CustomerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Customer

    party = factory.SubFactory(PartyFactory)
    name = factory.LazyAttribute(lambda o: o.party.display_name)


class BillingAccountFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = BillingAccount

    customer = factory.SubFactory(CustomerFactory)
    account_number = factory.Sequence(lambda n: f"BA-{n:06d}")
    name = factory.LazyAttribute(lambda o: f"{o.customer.name} account")
    currency = "EUR"
    bill_cycle_day = 1


def offering_5g() -> ProductOffering:
    """The shared 5G Premium offering, built once per test database transaction."""
    return ProductOffering.objects.filter(name="5G Premium").first() or five_g_premium_offering()


def active_product(
    *,
    account: BillingAccount | None = None,
    start_date: datetime,
    termination_date: datetime | None = None,
    status: str = ProductStatus.ACTIVE,
    offering: ProductOffering | None = None,
) -> ProductInstance:
    """A product with its customer-facing service, as a successful activation leaves them."""
    account = account or BillingAccountFactory()
    offering = offering or offering_5g()
    product = ProductInstance.objects.create(
        customer=account.customer,
        billing_account=account,
        product_offering=offering,
        name=f"{offering.name} for {account.customer.name}",
        status=status,
        characteristics={"bandwidth": "1Gbps"},
        start_date=start_date,
        termination_date=termination_date,
    )
    Service.objects.create(
        name=f"5G slice of {product.name}",
        category=ServiceCategory.CUSTOMER_FACING,
        service_specification=ServiceSpecification.objects.get(name="5G Slice Service"),
        product=product,
        state=ServiceState.ACTIVE if status == ProductStatus.ACTIVE else ServiceState.TERMINATED,
        start_date=start_date,
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
