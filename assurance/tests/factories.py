"""Assurance test data: a small network with customers' services bound to it.

Activation belongs to orders/inventory; an alarm only reads its result, so these factories write
the rows as a successful activation leaves them.
"""

from dataclasses import dataclass

import factory
from django.utils import timezone

from catalog.models import ProductOffering, ProductSpecification, ServiceSpecification
from crm.models import BillingAccount, Customer, Party
from inventory.choices import (
    BindingState,
    ProductStatus,
    ResourceCategory,
    ServiceCategory,
    ServiceState,
)
from inventory.models import ProductInstance, Region, Resource, Service, ServiceResource, Site


class PartyFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Party

    kind = "individual"
    given_name = "Ada"
    family_name = factory.Sequence(lambda n: f"Lovelace{n}")


class CustomerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Customer

    party = factory.SubFactory(PartyFactory)
    name = factory.LazyAttribute(lambda o: o.party.display_name)


class BillingAccountFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = BillingAccount

    customer = factory.SubFactory(CustomerFactory)
    account_number = factory.Sequence(lambda n: f"AS-{n:06d}")
    name = factory.LazyAttribute(lambda o: f"{o.customer.name} account")


class SiteFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Site

    region = factory.LazyFunction(lambda: Region.objects.get_or_create(name="North")[0])
    name = factory.Sequence(lambda n: f"SITE-{n:03d}")


class GnbFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Resource

    name = factory.Sequence(lambda n: f"gnb-{n:03d}")
    resource_kind = "gnb"
    category = ResourceCategory.PHYSICAL
    site = factory.SubFactory(SiteFactory)
    capacity_mbps = 10000


class SliceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Resource

    name = factory.Sequence(lambda n: f"slice-{n:03d}")
    resource_kind = "slice"
    category = ResourceCategory.LOGICAL
    parent = factory.SubFactory(GnbFactory)
    site = factory.LazyAttribute(lambda o: o.parent.site)


def offering() -> ProductOffering:
    """The 5G offering (one per test), with the service specification its services use."""
    existing = ProductOffering.objects.filter(name="5G Premium").first()
    if existing:
        return existing
    specification = ProductSpecification.objects.create(name="5G Connectivity")
    return ProductOffering.objects.create(
        name="5G Premium", product_specification=specification, lifecycle_status="launched"
    )


def slice_service_specification() -> ServiceSpecification:
    return ServiceSpecification.objects.get_or_create(name="5G Slice Service")[0]


@dataclass
class Subscription:
    customer: Customer
    product: ProductInstance
    service: Service


def subscribe(
    *resources: Resource,
    customer: Customer | None = None,
    binding_state: str = BindingState.ACTIVE,
    through_rfs: bool = False,
) -> Subscription:
    """An active product whose CFS holds `resources` (directly, or through an RFS child)."""
    account = BillingAccountFactory(customer=customer) if customer else BillingAccountFactory()
    now = timezone.now()
    product = ProductInstance.objects.create(
        customer=account.customer,
        billing_account=account,
        product_offering=offering(),
        name=f"5G Premium for {account.customer.name}",
        status=ProductStatus.ACTIVE,
        start_date=now,
    )
    cfs = Service.objects.create(
        name=f"5G slice service of {account.customer.name}",
        category=ServiceCategory.CUSTOMER_FACING,
        service_specification=slice_service_specification(),
        product=product,
        state=ServiceState.ACTIVE,
        start_date=now,
    )
    holder = cfs
    if through_rfs:
        holder = Service.objects.create(
            name=f"RFS of {cfs.name}",
            category=ServiceCategory.RESOURCE_FACING,
            service_specification=slice_service_specification(),
            parent=cfs,
            state=ServiceState.ACTIVE,
            start_date=now,
        )
    for resource in resources:
        ServiceResource.objects.create(
            service=holder,
            resource=resource,
            is_exclusive=resource.resource_kind == "slice",
            state=binding_state,
        )
    return Subscription(customer=account.customer, product=product, service=cfs)
