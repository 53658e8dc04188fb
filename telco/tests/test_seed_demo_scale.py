"""`seed_demo` grows: a larger --customers adds exactly the missing customers and what they hold,
the same --customers again adds nothing, and the number and SIM pools cover every 5G service
(growing by blocks when the demo outgrows them)."""

from datetime import UTC, datetime
from io import StringIO

import pytest
import time_machine
from django.apps import apps
from django.core.management import call_command

from catalog.choices import ResourceKind
from crm.demo import DEMO_ACCOUNT_PREFIX
from crm.models import BillingAccount, Customer
from inventory import demo_network, selectors
from inventory.models import ProductInstance, Resource, Service, ServiceResource

pytestmark = pytest.mark.django_db

# Clear of a 15-minute boundary, so the demo's last day of KPIs is the same span on each run.
PINNED = datetime(2026, 11, 20, 9, 1, tzinfo=UTC)


# What a run of the bill run records of itself, even when it has nothing to bill.
RUN_RECORDS = {"billing.BillRun", "billing.BillRunChunk"}


def _rows() -> dict[str, int]:
    return {
        model._meta.label: model._default_manager.count()
        for model in apps.get_models()
        if model._meta.label not in RUN_RECORDS
    }


def _seed(customers: int, *options: str) -> None:
    call_command("seed_demo", "--customers", str(customers), *options, stdout=StringIO())


@time_machine.travel(PINNED, tick=True)
def test_a_larger_demo_adds_the_difference_and_the_same_adds_nothing():
    _seed(6, "--skip-bill-run")
    before = _rows()
    _seed(10)
    grown = _rows()
    for model in (Customer, BillingAccount, ProductInstance):
        assert grown[model._meta.label] - before[model._meta.label] == 4
    assert sorted(
        BillingAccount.objects.filter(account_number__startswith=DEMO_ACCOUNT_PREFIX)
        .order_by("-account_number")
        .values_list("account_number", flat=True)[:4]
    ) == [f"{DEMO_ACCOUNT_PREFIX}{n:08d}" for n in range(7, 11)]
    assert Service.objects.filter(parent__isnull=True, product__isnull=False).count() == 10

    _seed(10)
    assert _rows() == grown

    # Every live 5G service holds one number and one SIM; headroom is left for new orders.
    mobile = set(
        Service.objects.filter(
            product__isnull=False,
            service_specification__resource_specifications__resource_kind=ResourceKind.GNB,
        ).values_list("pk", flat=True)
    )
    assert mobile
    for kind in (ResourceKind.MSISDN, ResourceKind.SIM):
        held = list(
            ServiceResource.objects.filter(resource__resource_kind=kind).values_list(
                "service_id", flat=True
            )
        )
        assert sorted(held) == sorted(mobile)
        assert selectors.pool_free_members(kind).count() >= demo_network.POOL_HEADROOM


def test_pools_grow_by_blocks_to_what_the_demo_needs():
    demo_network.ensure_pools()
    free = selectors.pool_free_members(ResourceKind.SIM).count()  # the first stock: 2,000

    assert demo_network.ensure_pool_capacity(free + 1) == 1  # a SIM block; numbers suffice
    block = Resource.objects.get(name="SIM-STOCK-DEMO-001")
    assert block.children.count() == demo_network.POOL_BLOCK
    assert selectors.pool_free_members(ResourceKind.SIM).count() == free + demo_network.POOL_BLOCK
    # Deterministic and additive: enough is enough, and a block is made once.
    assert demo_network.ensure_pool_capacity(free + 1) == 0
    name, arguments = demo_network.pool_block(ResourceKind.MSISDN, 2)
    assert (name, arguments["first"]) == ("MSISDN-DEMO-002", "447401010000")
