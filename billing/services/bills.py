"""Bills: an account's ended periods rated into numbered bills (with their lines, taxed and
rounded, and paid from the account's credit), and the states finance moves a bill through."""

import logging
from datetime import date, datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, Model

from billing.choices import BILL_TRANSITIONS, CLIENT_SETTABLE_BILL_STATES, UsageStatus
from billing.models import (
    AppliedCharge,
    BillRun,
    BillSequence,
    CustomerBill,
    CustomerBillStateChange,
    UsageEvent,
)
from billing.services.payments import apply_account_credit
from billing.services.periods import BILLABLE_STATUSES, account_periods
from billing.services.rating import rate_account_period
from crm import selectors as crm_selectors
from inventory import selectors as inventory_selectors
from telco import clock
from telco.exceptions import DomainError
from telco.money import round_money
from telco.states import transition

logger = logging.getLogger(__name__)

BILL_SEQUENCE = "INV"
PAYMENT_TERMS = timedelta(days=14)


def reserve_bill_numbers(count: int) -> list[str]:
    """The next `count` numbers of the series, in order: the sequence row is bumped once for
    them all and stays locked until the caller commits, so numbers are gap-free and never
    shared."""
    BillSequence.objects.get_or_create(name=BILL_SEQUENCE)
    sequence = BillSequence.objects.select_for_update().get(name=BILL_SEQUENCE)
    first = sequence.last_value + 1
    sequence.last_value += count
    sequence.save(update_fields=["last_value"])
    return [f"{BILL_SEQUENCE}-{value:06d}" for value in range(first, first + count)]


def _billed_within(account: Model, start: datetime, end: datetime) -> bool:
    """Whether a bill of the account covers any part of [start, end)."""
    return CustomerBill.objects.filter(
        billing_account=account, period_start__lt=end, period_end__gt=start
    ).exists()


def _bill_period(
    *,
    account: Model,
    products: list[Model],
    start: datetime,
    end: datetime,
    bill_run: BillRun | None,
) -> CustomerBill | None:
    """One bill for one account-period, in one transaction; None if nothing to charge."""
    tax_rate = Decimal(settings.BILLING_TAX_RATE)
    try:
        with transaction.atomic():
            # The account row lock orders this bill with payments being recorded on the account
            # (`payment_create` takes it too), so credit and open bills never miss each other.
            crm_selectors.billing_account_lock(account_id=account.pk)
            lines = rate_account_period(account=account, products=products, start=start, end=end)
            if not lines:
                return None
            # Numbering locks the sequence row, which serialises bill creation: once we hold
            # it, a bill a concurrent run made for this period is committed and visible.
            (bill_no,) = reserve_bill_numbers(1)
            if _billed_within(account, start, end):
                transaction.set_rollback(True)
                return None
            bill_date = clock.now()
            charges = []
            for line in lines:
                net = round_money(line.amount, account.currency)
                tax = round_money(net * tax_rate, account.currency)
                covered_from, covered_until = line.coverage or (start, end)
                charges.append(
                    AppliedCharge(
                        billing_account=account,
                        product=line.product,
                        charge_type=line.charge_type,
                        name=line.name,
                        description=line.description,
                        period_start=covered_from,
                        period_end=covered_until,
                        quantity=line.quantity,
                        unit=line.unit,
                        currency=account.currency,
                        tax_rate=tax_rate,
                        tax_excluded_amount=net,
                        tax_amount=tax,
                        tax_included_amount=net + tax,
                        charge_key=line.charge_key,
                        date=line.date,
                    )
                )
            net_total = sum((c.tax_excluded_amount for c in charges), Decimal(0))
            tax_total = sum((c.tax_amount for c in charges), Decimal(0))
            bill = CustomerBill.objects.create(
                billing_account=account,
                bill_no=bill_no,
                period_start=start,
                period_end=end,
                bill_date=bill_date,
                payment_due_date=bill_date + PAYMENT_TERMS,
                currency=account.currency,
                tax_excluded_amount=net_total,
                tax_amount=tax_total,
                tax_included_amount=net_total + tax_total,
                remaining_amount=max(net_total + tax_total, Decimal(0)),
                bill_run=bill_run,
                last_update=bill_date,
            )
            for charge in charges:
                charge.bill = bill
            AppliedCharge.objects.bulk_create(charges)
            for line, charge in zip(lines, charges, strict=True):
                if line.usage_ids:
                    UsageEvent.objects.filter(pk__in=line.usage_ids).update(
                        status=UsageStatus.BILLED, applied_charge=charge
                    )
            apply_account_credit(account=account, bill=bill)
            if bill_run is not None:
                BillRun.objects.filter(pk=bill_run.pk).update(bills_created=F("bills_created") + 1)
            return bill
    except IntegrityError:
        # A concurrent run charged the same thing first (bill or charge_key unique): nothing
        # of ours was written, and the charge exists exactly once. Any other refusal by the
        # database is a real error and must not pass for a duplicate.
        if not _billed_within(account, start, end):
            raise
        logger.info("Account %s period %s already billed concurrently", account.pk, start)
        return None


def account_bill(
    *, account: Model, as_of: date, bill_run: BillRun | None = None
) -> list[CustomerBill]:
    """Bill every period of the account that ended on or before `as_of` and has no bill yet
    (the periods are `account_periods`: after a change of cycle day, a transition first)."""
    products = list(
        inventory_selectors.started_products().filter(
            billing_account=account, status__in=BILLABLE_STATUSES
        )
    )
    if not products:
        return []
    periods = account_periods(
        bill_cycle_day=account.bill_cycle_day,
        since=min(p.start_date for p in products),
        billed=list(
            CustomerBill.objects.filter(billing_account=account).values_list(
                "period_start", "period_end"
            )
        ),
        as_of=as_of,
    )
    bills = []
    for start, end in periods:
        bill = _bill_period(
            account=account, products=products, start=start, end=end, bill_run=bill_run
        )
        if bill is not None:
            bills.append(bill)
    return bills


def customer_bill_set_state(*, bill: CustomerBill, state: str, by: str = "") -> CustomerBill:
    """Move a bill to `state` as finance decides (validated, sent, onHold), through
    BILL_TRANSITIONS with a history row; the same state again changes nothing.

    partiallyPaid and settled follow from payments and new is the start: a client may not set
    them (DomainError); a move the table does not allow is an InvalidTransition (409).
    """
    if state not in CLIENT_SETTABLE_BILL_STATES:
        raise DomainError(
            f"A bill's state cannot be set to '{state}': one of "
            f"{', '.join(CLIENT_SETTABLE_BILL_STATES)} (the others follow from payments).",
            field="state",
        )
    if bill.state == state:
        return bill
    return transition(
        bill,
        state,
        transitions=BILL_TRANSITIONS,
        history=CustomerBillStateChange,
        history_fk="bill",
        by=by,
    )
