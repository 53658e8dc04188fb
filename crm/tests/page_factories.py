"""Rows for the portal page tests.

The flows that create these rows (ordering, activation, billing, alarms) belong to other apps;
the pages only read them, so the tests lay them down as those flows would leave them. Offerings,
customers, accounts, gNBs, slices and products come from the catalog, crm and inventory test
factories; orders, bills and alarms (which have no factories elsewhere) are built here.
"""

import datetime as dt
import itertools
from decimal import Decimal

from django.utils import timezone

from assurance.models import Alarm
from billing.models import AppliedCharge, CustomerBill
from catalog.models import ProductOffering
from catalog.tests.factories import shared_five_g_offering
from crm.models import BillingAccount, Customer
from crm.tests.factories import BillingAccountFactory, CustomerFactory
from inventory.models import ProductInstance, Resource, Service, ServiceResource
from inventory.tests.factories import (
    CustomerFacingServiceFactory,
    GnbFactory,
    ProductInstanceFactory,
    SliceFactory,
)
from orders.models import ProductOrder, ProductOrderItem

_sequence = itertools.count(1)

PERIOD_START = dt.datetime(2026, 10, 1, tzinfo=dt.UTC)
PERIOD_END = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)


def make_offering(name: str = "5G Premium") -> ProductOffering:
    """The 5G offering with its product, service and resource specifications."""
    return shared_five_g_offering(name=name)


def make_customer(
    *,
    given_name: str = "Ada",
    family_name: str = "Lovelace",
    email: str = "",
    phone: str = "",
    account_number: str = "",
    currency: str = "EUR",
) -> tuple[Customer, BillingAccount]:
    """An individual customer with one billing account."""
    n = next(_sequence)
    customer = CustomerFactory(
        party__given_name=given_name,
        party__family_name=family_name,
        party__email=email or f"customer{n}@example.org",
        party__phone=phone or f"+44 7700 9{n:05d}",
        party__street="1 High Street",
        party__city="London",
        party__postcode="N1 1AA",
        name=f"{given_name} {family_name}".strip(),
    )
    account = BillingAccountFactory(
        customer=customer,
        account_number=account_number or f"BA{n:08d}",
        name=f"{customer.name} main account",
        currency=currency,
    )
    return customer, account


def make_gnb(name: str = "") -> Resource:
    """A gNB cell site resource (no site, no vendor)."""
    return GnbFactory(name=name or f"gnb-{next(_sequence)}", site=None, vendor="")


def make_active_product(
    account: BillingAccount,
    *,
    offering: ProductOffering,
    gnb: Resource,
    name: str = "5G Premium",
    bandwidth: str = "1Gbps",
) -> tuple[ProductInstance, Service]:
    """A product as a successful activation leaves it: product, CFS and bindings all active."""
    n = next(_sequence)
    product = ProductInstanceFactory(
        billing_account=account,
        product_offering=offering,
        name=name,
        characteristics={"bandwidth": bandwidth},
        start_date=timezone.now() - dt.timedelta(days=40),
    )
    service = CustomerFacingServiceFactory(
        product=product,
        name=f"5G slice service {n}",
        service_specification=offering.product_specification.service_specifications.get(),
    )
    slice_resource = SliceFactory(name=f"slice-{n}", parent=gnb)
    ServiceResource.objects.create(
        service=service, resource=gnb, capacity_mbps=1000, state="active"
    )
    ServiceResource.objects.create(
        service=service, resource=slice_resource, is_exclusive=True, state="active"
    )
    return product, service


def make_order(account: BillingAccount, *, offering: ProductOffering, **fields) -> ProductOrder:
    """A product order with one `add` item for the offering."""
    order = ProductOrder.objects.create(
        customer=account.customer, billing_account=account, **fields
    )
    ProductOrderItem.objects.create(
        order=order, item_id="1", action="add", product_offering=offering
    )
    return order


def make_bill(
    account: BillingAccount,
    product: ProductInstance,
    *,
    lines: list[tuple[str, str, Decimal]],
    state: str = "new",
    payment_due_date: dt.datetime | None = None,
    period_start: dt.datetime = PERIOD_START,
    period_end: dt.datetime = PERIOD_END,
    tax_rate: Decimal = Decimal("0.2000"),
) -> CustomerBill:
    """A bill whose totals are the sums of its lines (charge type, name, net amount)."""
    n = next(_sequence)
    nets = [net for _, _, net in lines]
    taxes = [(net * tax_rate).quantize(Decimal("0.01")) for net in nets]
    total = sum(nets, Decimal(0)) + sum(taxes, Decimal(0))
    bill = CustomerBill.objects.create(
        billing_account=account,
        bill_no=f"INV-{n:06d}",
        period_start=period_start,
        period_end=period_end,
        bill_date=period_end,
        payment_due_date=payment_due_date or period_end + dt.timedelta(days=14),
        state=state,
        currency=account.currency,
        tax_excluded_amount=sum(nets, Decimal(0)),
        tax_amount=sum(taxes, Decimal(0)),
        tax_included_amount=total,
        # Unpaid until settled: billing's balances sum what remains to pay.
        remaining_amount=Decimal(0) if state == "settled" else total,
    )
    for index, ((charge_type, name, net), tax) in enumerate(zip(lines, taxes, strict=True)):
        AppliedCharge.objects.create(
            bill=bill,
            billing_account=account,
            product=product,
            charge_type=charge_type,
            name=name,
            period_start=period_start,
            period_end=period_end,
            quantity=Decimal("3.5") if charge_type == "usage" else Decimal(1),
            unit="GB" if charge_type == "usage" else "",
            currency=account.currency,
            tax_rate=tax_rate,
            tax_excluded_amount=net,
            tax_amount=tax,
            tax_included_amount=net + tax,
            charge_key=f"{bill.bill_no}:{index}",
        )
    return bill


def make_alarm(resource: Resource, services: list[Service], **fields) -> Alarm:
    """An alarm on a resource affecting the given services."""
    fields.setdefault("perceived_severity", "major")
    fields.setdefault("state", "raised")
    alarm = Alarm.objects.create(
        source_system_id="lab-ems",
        alarmed_object_ref=resource.name,
        resource=resource,
        alarm_type="equipmentAlarm",
        probable_cause=fields.pop("probable_cause", "powerProblem"),
        specific_problem=fields.pop("specific_problem", "Rectifier failure"),
        reduction_key=f"lab-ems:{resource.name}:{next(_sequence)}",
        is_service_affecting=True,
        alarm_raised_time=timezone.now(),
        **fields,
    )
    alarm.affected_services.set(services)
    return alarm
