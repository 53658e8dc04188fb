"""Assurance test data: customers' services bound to the network.

Activation belongs to orders/inventory; an alarm only reads its result, so `subscribe()` writes
the rows as a successful activation leaves them. Parties, customers and accounts come from
`crm.tests.factories`, gNBs and slices from `inventory.tests.factories`.
"""

from dataclasses import dataclass

from django.utils import timezone

from crm.models import Customer
from crm.tests.factories import BillingAccountFactory
from inventory import paths
from inventory.choices import BindingState, ServiceCategory, ServiceState
from inventory.models import ProductInstance, Resource, Service, ServiceResource
from inventory.tests.factories import CustomerFacingServiceFactory, ProductInstanceFactory


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
    product = ProductInstanceFactory(billing_account=account, start_date=now)
    cfs = CustomerFacingServiceFactory(
        product=product, name=f"5G slice service of {account.customer.name}"
    )
    holder = cfs
    if through_rfs:
        holder = Service.objects.create(
            name=f"RFS of {cfs.name}",
            category=ServiceCategory.RESOURCE_FACING,
            service_specification=cfs.service_specification,
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
    paths.service_paths_rebuild([cfs.pk])  # as the inventory services do when they bind
    return Subscription(customer=account.customer, product=product, service=cfs)
