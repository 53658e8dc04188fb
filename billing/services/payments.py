"""Payments: record a payment on an account and allocate it to the open bills, oldest first;
what no bill takes stays as credit that pays the next bills. Approved credit notes are
allocated the same way; a bill paid in full leaves dunning."""

from datetime import datetime
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.db.models import Model

from billing.choices import (
    BILL_TRANSITIONS,
    PAYABLE_BILL_STATES,
    PAYMENT_TRANSITIONS,
    BillState,
    DunningCloseReason,
    PaymentMethodType,
    PaymentState,
)
from billing.models import (
    CreditNote,
    CreditNoteAllocation,
    CustomerBill,
    CustomerBillStateChange,
    Payment,
    PaymentAllocation,
)
from billing.services.dunning import dunning_cases_close
from crm import selectors as crm_selectors
from telco import clock
from telco.exceptions import Conflict, DomainError
from telco.money import CURRENCY_EXPONENTS, plain_decimal, round_money
from telco.states import check_transition


def bill_pay_down(
    bill: CustomerBill, amount: Decimal, *, by: str, reason: str, now: datetime
) -> CustomerBillStateChange | None:
    """Take `amount` off the (locked) bill's remaining amount and move its state to match (a
    bill on hold, credited while disputed, stays on hold); the history row of the move (not
    saved), if the state changed."""
    bill.remaining_amount -= amount
    target = BillState.SETTLED if bill.remaining_amount == 0 else BillState.PARTIALLY_PAID
    if bill.state == BillState.ON_HOLD:
        target = bill.state
    return _bill_save(bill, target, by=by, reason=reason, now=now)


def bill_reopen(
    bill: CustomerBill, amount: Decimal, *, by: str, reason: str, now: datetime
) -> CustomerBillStateChange | None:
    """Owe `amount` again on the (locked) bill (a payment that paid it was reversed or
    refunded): back to sent when nothing of it is paid any more, else partiallyPaid. A bill on
    hold stays on hold. The history row of the move (not saved), if the state changed."""
    bill.remaining_amount += amount
    target = bill.state
    if bill.state != BillState.ON_HOLD:
        paid_nothing = bill.remaining_amount == bill.tax_included_amount
        target = BillState.SENT if paid_nothing else BillState.PARTIALLY_PAID
    return _bill_save(bill, target, by=by, reason=reason, now=now)


def _bill_save(bill, target, *, by, reason, now) -> CustomerBillStateChange | None:
    change = None
    if target != bill.state:
        check_transition(BILL_TRANSITIONS, bill.state, target, "Customer bill")
        change = CustomerBillStateChange(
            bill=bill,
            from_state=bill.state,
            to_state=target,
            changed_at=now,
            changed_by=by,
            reason=reason,
        )
        bill.state = target
    bill.last_update = now
    bill.save(update_fields=["remaining_amount", "state", "last_update"])
    return change


def amount_check(amount: Decimal, currency: str, *, field: str = "amount.value") -> None:
    """A positive amount of `currency` with at most its decimal places, else DomainError."""
    if amount <= 0:
        raise DomainError("The amount must be more than zero.", field=field)
    if amount != round_money(amount, currency):
        exponent = CURRENCY_EXPONENTS.get(currency, 2)
        raise DomainError(
            f"{currency} amounts have at most {exponent} decimal places.", field=field
        )


def _source_label(source: Payment | CreditNote) -> str:
    if isinstance(source, CreditNote):
        return f"Credit note {source.number} of {plain_decimal(source.amount)} {source.currency}"
    return f"Payment {source.pk} of {plain_decimal(source.amount)} {source.currency}"


def allocate(sources: list[Payment | CreditNote], bills: list[CustomerBill]) -> list[int]:
    """Allocate the sources' (payments', approved credit notes') unallocated amounts to the
    bills, both oldest first (all locked); the ids of the bills this settled."""
    now = clock.now()
    allocations, history, settled = [], [], []
    bills = [bill for bill in bills if bill.remaining_amount > 0]
    for source in sources:
        is_payment = isinstance(source, Payment)
        while source.unallocated_amount > 0 and bills:
            bill = bills[0]
            amount = min(source.unallocated_amount, bill.remaining_amount)
            if is_payment:
                allocations.append(PaymentAllocation(payment=source, bill=bill, amount=amount))
            else:
                allocations.append(
                    CreditNoteAllocation(credit_note=source, bill=bill, amount=amount)
                )
            source.unallocated_amount -= amount
            by = source.created_by if is_payment else source.decided_by
            change = bill_pay_down(bill, amount, by=by, reason=_source_label(source), now=now)
            if change is not None:
                history.append(change)
            if bill.remaining_amount == 0:
                settled.append(bill.pk)
                bills.pop(0)
        if not is_payment:
            source.save(update_fields=["unallocated_amount"])
            continue
        if source.unallocated_amount == 0 and source.state == PaymentState.RECEIVED:
            check_transition(PAYMENT_TRANSITIONS, source.state, PaymentState.ALLOCATED, "Payment")
            source.state = PaymentState.ALLOCATED
            source.state_date = now
        source.save(update_fields=["unallocated_amount", "state", "state_date"])
    PaymentAllocation.objects.bulk_create(
        a for a in allocations if isinstance(a, PaymentAllocation)
    )
    CreditNoteAllocation.objects.bulk_create(
        a for a in allocations if isinstance(a, CreditNoteAllocation)
    )
    CustomerBillStateChange.objects.bulk_create(history)
    return settled


def account_credit_sources(account: Model) -> list[Payment | CreditNote]:
    """The account's credit, locked: payments, then approved credit notes, with an unallocated
    amount, oldest first."""
    payments = (
        Payment.objects.select_for_update()
        .filter(billing_account=account, unallocated_amount__gt=0)
        .order_by("payment_date", "id")
    )
    notes = (
        CreditNote.objects.select_for_update()
        .filter(billing_account=account, unallocated_amount__gt=0)
        .order_by("decided_at", "id")
    )
    return [*payments, *notes]


def open_bills(account: Model) -> list[CustomerBill]:
    """The account's payable bills that owe something, locked, oldest first."""
    return list(
        CustomerBill.objects.select_for_update()
        .filter(billing_account=account, state__in=PAYABLE_BILL_STATES, remaining_amount__gt=0)
        .order_by("period_start", "id")
    )


def apply_account_credit(*, account: Model, bill: CustomerBill) -> None:
    """Pay a new bill from the account's credit (unallocated payments, then credit notes),
    oldest first. The caller holds the account's row lock (`billing_account_lock`)."""
    if bill.remaining_amount <= 0:
        return
    sources = account_credit_sources(account)
    if sources:
        allocate(sources, [bill])


def payment_create(
    *,
    billing_account_id: int,
    amount: Decimal,
    currency: str,
    method: str,
    reference: str = "",
    payment_date: datetime | None = None,
    description: str = "",
    authorization_code: str = "",
    created_by: str = "",
    for_bills: bool = True,
) -> tuple[Payment, bool]:
    """Record a payment and allocate it to the account's open bills, oldest first
    (`for_bills=False`: a prepaid top-up, which `billing.services.prepaid` gives the balance).

    One transaction: the account row and the open bills are locked, the bills the payment
    covers become settled (the last one partiallyPaid if the money runs out), and what is left
    stays on the payment as account credit for the next bills. The same non-blank `reference`
    on the account again returns the stored payment (created=False); with a different amount
    or currency it is refused (409), since that is a different payment under a reused reference.
    """
    if amount <= 0:
        raise DomainError("The amount must be more than zero.", field="totalAmount.value")
    maximum = Decimal(settings.PAYMENT_MAX_AMOUNT)
    if amount > maximum:
        # A bound against typing errors (an extra zero or two): larger sums are not taken here.
        raise DomainError(
            f"A payment is at most {plain_decimal(maximum)} {currency}.",
            field="totalAmount.value",
        )
    exponent = CURRENCY_EXPONENTS.get(currency, 2)
    if amount != round_money(amount, currency):
        raise DomainError(
            f"{currency} amounts have at most {exponent} decimal places.",
            field="totalAmount.value",
        )
    if method not in PaymentMethodType.values:
        raise DomainError(
            f"Payment method '{method}' is not one of {', '.join(PaymentMethodType.values)}.",
            field="paymentMethod",
        )
    with transaction.atomic():
        account = crm_selectors.billing_account_lock(account_id=billing_account_id)
        if account is None:
            raise DomainError(
                f"Billing account '{billing_account_id}' does not exist.", field="account.id"
            )
        if currency != account.currency:
            raise DomainError(
                f"Account {account.account_number} is paid in {account.currency}, not {currency}.",
                field="totalAmount.unit",
            )
        if reference:
            # The account lock serialises twins: a first one has committed by the time we read.
            earlier = Payment.objects.filter(billing_account=account, reference=reference).first()
            if earlier is not None:
                if (earlier.amount, earlier.currency) != (amount, currency):
                    raise Conflict(
                        f"Payment '{reference}' of account {account.account_number} was recorded "
                        f"with {earlier.amount.normalize()} {earlier.currency}.",
                        field="correlatorId",
                    )
                return earlier, False
        now = clock.now()
        payment = Payment.objects.create(
            billing_account=account,
            amount=amount,
            currency=currency,
            unallocated_amount=amount,
            payment_date=payment_date or now,
            method=method,
            reference=reference,
            description=description,
            authorization_code=authorization_code,
            created_by=created_by,
            state_date=now,
        )
        if not for_bills:
            return payment, True
        settled = allocate([payment], open_bills(account))
        dunning_cases_close(bill_ids=settled, reason=DunningCloseReason.PAID, by=created_by)
    return payment, True
