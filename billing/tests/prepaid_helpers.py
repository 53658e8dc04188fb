"""Prepaid test data: a prepaid offering with its plan, and an activated product holding the
plan's balances (as the activation hook leaves them)."""

from decimal import Decimal

from django.db.models import Q, Sum

from billing.models import BalanceAction, PrepaidBucket, PrepaidPlan
from billing.services import prepaid_provision
from billing.tests.factories import active_product
from catalog.tests.factories import ProductOfferingFactory
from crm.tests.factories import BillingAccountFactory
from inventory.models import ProductInstance
from telco import clock


def prepaid_plan(**fields) -> PrepaidPlan:
    """A launched prepaid offering and its plan (20 GB, 200 min, 100 SMS, 10 EUR credit)."""
    offering = ProductOfferingFactory(lifecycle_status="launched")
    values = {
        "validity_days": 30,
        "data_mb": Decimal(20480),
        "voice_minutes": Decimal(200),
        "sms": Decimal(100),
        "initial_credit": Decimal("10.00"),
        "price_per_mb": Decimal("0.01"),
        "price_per_minute": Decimal("0.10"),
        "price_per_sms": Decimal("0.08"),
        "low_balance_threshold": Decimal("2.00"),
        **fields,
    }
    return PrepaidPlan.objects.create(offering=offering, **values)


def prepaid_product(plan: PrepaidPlan | None = None, **plan_fields) -> ProductInstance:
    """An active product of a prepaid plan, its balances provisioned."""
    plan = plan or prepaid_plan(**plan_fields)
    product = active_product(
        account=BillingAccountFactory(), start_date=clock.now(), offering=plan.offering
    )
    prepaid_provision(product=product)
    return product


def bucket(product: ProductInstance, usage_type: str) -> PrepaidBucket:
    return PrepaidBucket.objects.get(product=product, usage_type=usage_type)


def ledger_totals(bucket_id: int) -> dict[str, Decimal]:
    """The bucket's ledger summed by kind (0 for a kind with no row)."""
    return BalanceAction.objects.filter(bucket_id=bucket_id).aggregate(
        **{
            kind: Sum("amount", filter=Q(kind=kind), default=Decimal(0))
            for kind in (
                "topup",
                "reserve",
                "commit",
                "release",
                "expire",
                "credit",
                "debit",
                "renew",
                "transferOut",
                "transferIn",
            )
        }
    )


def assert_ledger_balances(bucket_id: int) -> dict[str, Decimal]:
    """The ledger adds up to the bucket, to the cent: remaining = topups + credits - reserves +
    releases - expiries - debits - renewals + transfers in - transfers out; reserved = reserves
    - commits - releases."""
    stored = PrepaidBucket.objects.get(pk=bucket_id)
    totals = ledger_totals(bucket_id)
    assert stored.remaining == (
        totals["topup"]
        + totals["credit"]
        - totals["reserve"]
        + totals["release"]
        - totals["expire"]
        - totals["debit"]
        - totals["renew"]
        + totals["transferIn"]
        - totals["transferOut"]
    )
    assert stored.reserved == totals["reserve"] - totals["commit"] - totals["release"]
    return totals
