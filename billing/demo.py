"""The demo's usage and payments: about a month of data sessions on each new mobile product,
and after the bill run, payments on the demo accounts' bills (in full, in part, over or none).

Seeded and additive, like the rest of the demo the `seed_demo` command composes.
"""

import random
from collections.abc import Sequence
from datetime import datetime, timedelta
from decimal import Decimal

import pgtrigger
from django.db.models import F, Max, Sum

from billing import services
from billing.choices import (
    BILL_TRANSITIONS,
    PAYABLE_BILL_STATES,
    PAYMENT_TRANSITIONS,
    BillState,
    PaymentState,
)
from billing.models import (
    CustomerBill,
    CustomerBillStateChange,
    Payment,
    PaymentAllocation,
    PrepaidPlan,
    UsageEvent,
)
from catalog import selectors as catalog_selectors
from catalog.demo import PREPAID_OFFERING
from crm.demo import DEMO_ACCOUNT_PREFIX
from inventory.demo import Choice
from telco import clock
from telco.demo import rows_insert, rows_update
from telco.money import plain_decimal
from telco.states import check_transition


def usage_create(
    rng: random.Random,
    products: Sequence,
    product_services: Sequence,
    choices: Sequence[Choice],
    now: datetime,
) -> list[UsageEvent]:
    """About a month of data sessions for each mobile product, a few per day at most.

    `products`, the services realising them and what they were made of, as
    `inventory.demo.products_create` returns them.
    """
    events = []
    for product, service, (plan, _, started) in zip(
        products, product_services, choices, strict=True
    ):
        if plan.usage is None:
            continue
        rating_group = plan.usage[0]
        for session in range(rng.randint(4, 12)):
            when = now - timedelta(days=rng.uniform(0, 31))
            if when <= started:
                continue
            gigabytes = Decimal(rng.randint(20, 2500)) / 1000
            events.append(
                UsageEvent(
                    event_id=f"demo-{product.pk}-{session}",
                    service=service,
                    product=product,
                    billing_account_id=product.billing_account_id,
                    usage_date=when,
                    rating_group=rating_group,
                    volume=gigabytes * 1000,
                    unit="MB",
                    rated_volume=gigabytes,
                    usage_specification_id="data-session",
                )
            )
    return rows_insert(UsageEvent, events)


DEMO_PAYMENT_REASON = "Payment {pk} of {amount} {currency}"  # as the payment service words it


def ensure_payments(seed: int = 42) -> int:
    """Payments on the demo accounts' bills, after the bill run: most accounts pay what they
    owe, some pay part, a few pay more (account credit), some nothing (overdue).

    The demo's bills come from one bill run today; they are first dated as if each had been
    issued when its period ended, so the older ones fall due and unpaid ones are overdue.
    Each account's behaviour comes from `seed` and its account number (not its id, which
    differs from one database to the next), and accounts that already have a demo payment are
    left alone, so this is safe to repeat.

    Set-based, with the rows the payment service would leave: the payments, their allocations
    to the bills oldest first, the bills' remaining amounts and states and their history, in a
    fixed number of statements whatever the number of accounts. Returns the payments recorded.
    """
    demo_bills = CustomerBill.objects.filter(
        billing_account__account_number__startswith=DEMO_ACCOUNT_PREFIX
    )
    # Seeding dates its bills back to their periods' ends, before anyone has seen them: the
    # one writer allowed past the database's guard on a bill's date.
    with pgtrigger.ignore("billing.CustomerBill:bill_money_is_immutable"):
        demo_bills.filter(bill_date__gt=F("period_end") + timedelta(days=1)).update(
            bill_date=F("period_end"),
            payment_due_date=F("period_end") + services.PAYMENT_TERMS,
            last_update=F("period_end"),
        )
    owing = (
        demo_bills.filter(remaining_amount__gt=0)
        .exclude(billing_account__payments__reference__startswith="demo-")
        .values("billing_account_id", "billing_account__account_number", "currency")
        .annotate(owed=Sum("remaining_amount"), last_due=Max("payment_due_date"))
        .order_by("billing_account_id")
    )
    now = clock.now()
    payments = []
    for row in owing:
        account_number = row["billing_account__account_number"]
        rng = random.Random(f"{seed}-{account_number}")  # noqa: S311 (demo data)
        roll = rng.random()
        if roll < 0.15:
            continue  # pays nothing: overdue once the bills fall due
        owed = row["owed"]
        if roll < 0.30:
            amount = (owed * rng.randint(30, 80) / 100).quantize(Decimal("0.01"))
        elif roll < 0.35:
            amount = owed + rng.randint(5, 50)
        else:
            amount = owed
        if amount <= 0:
            continue
        payments.append(
            Payment(
                billing_account_id=row["billing_account_id"],
                amount=amount,
                currency=row["currency"],
                unallocated_amount=amount,
                method=rng.choice(["directDebit", "card", "bankTransfer"]),
                reference=f"demo-{row['billing_account_id']}",
                payment_date=min(now, row["last_due"] - timedelta(days=rng.randint(0, 10))),
                created_by="demo",
                state_date=now,
                created_at=now,
            )
        )
    if payments:
        _payments_allocate(payments, now)
    return len(payments)


def _payments_allocate(payments: list[Payment], now: datetime) -> None:
    """Record the new `payments` (one per account) allocated to their accounts' open bills,
    oldest first, as the payment service does: the payments (allocated when nothing is left),
    their allocations, the bills' remaining amounts and states, and the bills' history."""
    bills: dict[int, list[CustomerBill]] = {}
    for bill in (
        CustomerBill.objects.filter(
            billing_account__account_number__startswith=DEMO_ACCOUNT_PREFIX,
            state__in=PAYABLE_BILL_STATES,
            remaining_amount__gt=0,
        )
        .exclude(billing_account__payments__reference__startswith="demo-")
        .order_by("billing_account_id", "period_start", "id")
        .only("id", "billing_account_id", "remaining_amount", "state")
    ):
        bills.setdefault(bill.billing_account_id, []).append(bill)
    moves, changed = [], []  # moves: (payment, bill, amount, the bill's state before)
    for payment in payments:
        for bill in bills.get(payment.billing_account_id, []):
            if payment.unallocated_amount == 0:
                break
            amount = min(payment.unallocated_amount, bill.remaining_amount)
            payment.unallocated_amount -= amount
            bill.remaining_amount -= amount
            bill.last_update = now
            before = bill.state
            target = BillState.SETTLED if bill.remaining_amount == 0 else BillState.PARTIALLY_PAID
            if target != before:
                check_transition(BILL_TRANSITIONS, before, target, "Customer bill")
                bill.state = target
            moves.append((payment, bill, amount, before))
            changed.append(bill)
        if payment.unallocated_amount == 0:
            check_transition(PAYMENT_TRANSITIONS, payment.state, PaymentState.ALLOCATED, "Payment")
            payment.state = PaymentState.ALLOCATED
    rows_insert(Payment, payments)
    rows_insert(
        PaymentAllocation,
        [
            PaymentAllocation(payment=payment, bill_id=bill.pk, amount=amount, created_at=now)
            for payment, bill, amount, _ in moves
        ],
    )
    rows_insert(
        CustomerBillStateChange,
        [
            CustomerBillStateChange(
                bill_id=bill.pk,
                from_state=before,
                to_state=bill.state,
                changed_at=now,
                changed_by=payment.created_by,
                reason=DEMO_PAYMENT_REASON.format(
                    pk=payment.pk, amount=plain_decimal(payment.amount), currency=payment.currency
                ),
            )
            for payment, bill, _, before in moves
            if before != bill.state
        ],
    )
    rows_update(CustomerBill, changed, ["remaining_amount", "state", "last_update"])


def ensure_prepaid_plans() -> int:
    """The plan behind the demo's prepaid offering (made when missing): 20 GB, 200 minutes and
    100 SMS for 30 days, 10 EUR of opening credit, then 0.01 EUR per MB, 0.10 per minute and
    0.08 per SMS from the money; under 2 EUR the balance is low."""
    offering = catalog_selectors.offering_list().filter(name=PREPAID_OFFERING).first()
    if offering is None:
        return 0
    PrepaidPlan.objects.get_or_create(
        offering=offering,
        defaults={
            "validity_days": 30,
            "data_mb": Decimal(20 * 1024),
            "voice_minutes": Decimal(200),
            "sms": Decimal(100),
            "initial_credit": Decimal("10.00"),
            "price_per_mb": Decimal("0.01"),
            "price_per_minute": Decimal("0.10"),
            "price_per_sms": Decimal("0.08"),
            "low_balance_threshold": Decimal("2.00"),
            # The opening credit pays the first renewal; later ones need a top-up.
            "renewal_price": Decimal("10.00"),
        },
    )
    return 1
