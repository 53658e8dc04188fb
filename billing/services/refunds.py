"""Refunds (TMF676 refund) of a payment or of account credit, and reversals of payments that
never arrived (a bounced direct debit). Money taken back from bills re-opens them (sent, or
partiallyPaid, through the bills' transition table) and puts them back into dunning; money
taken back from a prepaid top-up comes off its balance."""

from decimal import Decimal

from django.db import transaction
from django.db.models import Model, Sum

from billing.choices import PAYMENT_TRANSITIONS, PaymentState
from billing.models import (
    CustomerBill,
    CustomerBillStateChange,
    Payment,
    PaymentAllocation,
    PaymentReversal,
    Refund,
)
from billing.services.dunning import dunning_cases_open
from billing.services.payments import account_credit_sources, amount_check, bill_reopen
from billing.services.prepaid import topup_take_back
from crm import selectors as crm_selectors
from telco import clock
from telco.exceptions import Conflict, DomainError, NotFound
from telco.money import plain_decimal
from telco.states import check_transition

FINAL_PAYMENT_STATES = (PaymentState.REFUNDED, PaymentState.REVERSED)


def _payment_move(payment: Payment, target: str) -> None:
    if payment.state != target:
        check_transition(PAYMENT_TRANSITIONS, payment.state, target, "Payment")
        payment.state, payment.state_date = target, clock.now()
    payment.save(update_fields=["unallocated_amount", "state", "state_date"])


def _take_back(
    payment: Payment, amount: Decimal, *, by: str, label: str
) -> list[dict[str, str | int]]:
    """Take `amount` back from the bills the (locked) payment paid, newest allocation first:
    allocations shrink or go, the bills owe it again. What was re-opened, {bill, amount}."""
    now = clock.now()
    reopened, history = [], []
    allocations = list(
        PaymentAllocation.objects.filter(payment=payment).order_by("-bill__period_start", "-id")
    )
    bills = {
        bill.pk: bill
        for bill in CustomerBill.objects.select_for_update().filter(
            pk__in=[a.bill_id for a in allocations]
        )
    }
    for allocation in allocations:
        if amount <= 0:
            break
        part = min(amount, allocation.amount)
        amount -= part
        bill = bills[allocation.bill_id]
        change = bill_reopen(bill, part, by=by, reason=label, now=now)
        if change is not None:
            history.append(change)
        if part == allocation.amount:
            allocation.delete()
        else:
            allocation.amount -= part
            allocation.save(update_fields=["amount"])
        reopened.append({"bill": bill.pk, "billNo": bill.bill_no, "amount": str(part)})
    CustomerBillStateChange.objects.bulk_create(history)
    return reopened


def refund_create(
    *,
    billing_account_id: int,
    amount: Decimal,
    currency: str,
    reason: str,
    payment_id: int | None = None,
    reference: str = "",
    by: str = "",
) -> tuple[Refund, bool]:
    """Pay `amount` back: of one payment (its unallocated part first, then taken back from the
    bills it paid, newest first, which owe it again), or of the account's credit (unallocated
    payments, then credit notes, oldest first). The same non-blank `reference` again returns
    the stored refund (created=False); with another amount it is refused (409)."""
    amount_check(amount, currency)
    if not reason.strip():
        raise DomainError("Say why the money is refunded.", field="reason")
    with transaction.atomic():
        account = crm_selectors.billing_account_lock(account_id=billing_account_id)
        if account is None:
            raise DomainError(
                f"Billing account '{billing_account_id}' does not exist.", field="account.id"
            )
        if currency != account.currency:
            raise DomainError(
                f"Account {account.account_number} is paid in {account.currency}.",
                field="amount.unit",
            )
        if reference:
            earlier = Refund.objects.filter(billing_account=account, reference=reference).first()
            if earlier is not None:
                if earlier.amount != amount:
                    raise Conflict(
                        f"Refund '{reference}' was recorded with {plain_decimal(earlier.amount)}"
                        f" {earlier.currency}.",
                        field="correlatorId",
                    )
                return earlier, False
        label = f"Refund of {plain_decimal(amount)} {currency}: {reason}"
        if payment_id is not None:
            reopened = _refund_payment(account, payment_id, amount, by=by, label=label)
        else:
            reopened = _refund_credit(account, amount)
        refund = Refund.objects.create(
            billing_account=account,
            payment_id=payment_id,
            amount=amount,
            currency=currency,
            reason=reason[:300],
            reference=reference,
            reopened=reopened,
            created_by=by,
        )
        dunning_cases_open(bill_ids=[row["bill"] for row in reopened])
    return refund, True


def _refund_payment(
    account: Model, payment_id: int, amount: Decimal, *, by: str, label: str
) -> list[dict]:
    payment = Payment.objects.select_for_update().filter(pk=payment_id).first()
    if payment is None or payment.billing_account_id != account.pk:
        raise DomainError(
            f"Payment '{payment_id}' is not a payment of account {account.account_number}.",
            field="payment.id",
        )
    if payment.state in FINAL_PAYMENT_STATES:
        raise DomainError(f"Payment {payment.pk} is {payment.state}.", field="payment.id")
    refunded = payment.refunds.aggregate(total=Sum("amount"))["total"] or Decimal(0)
    left = payment.amount - refunded
    if amount > left:
        raise DomainError(
            f"At most {plain_decimal(left)} {payment.currency} of payment {payment.pk} is left "
            "to refund.",
            field="amount.value",
        )
    # A prepaid top-up's payment paid a balance, not bills: the balance gives it back.
    topup_take_back(payment=payment, amount=amount, reason=label, is_refund=True, by=by)
    from_credit = min(amount, payment.unallocated_amount)
    payment.unallocated_amount -= from_credit
    reopened = _take_back(payment, amount - from_credit, by=by, label=label)
    if amount == left:
        target = PaymentState.REFUNDED
    elif payment.unallocated_amount == 0:
        target = PaymentState.ALLOCATED
    else:
        target = payment.state
    _payment_move(payment, target)
    return reopened


def _refund_credit(account: Model, amount: Decimal) -> list[dict]:
    sources = account_credit_sources(account)
    credit = sum((source.unallocated_amount for source in sources), Decimal(0))
    if amount > credit:
        raise DomainError(
            f"Account {account.account_number} has {plain_decimal(credit)} {account.currency} "
            "of credit to refund.",
            field="amount.value",
        )
    for source in sources:
        part = min(amount, source.unallocated_amount)
        if part <= 0:
            break
        amount -= part
        source.unallocated_amount -= part
        if isinstance(source, Payment):
            target = PaymentState.ALLOCATED if not source.unallocated_amount else source.state
            _payment_move(source, target)
        else:
            source.save(update_fields=["unallocated_amount"])
    return []


def payment_reverse(*, payment_id: int, reason: str, by: str = "") -> PaymentReversal:
    """Reverse a payment that never arrived (a bounced direct debit): every bill it paid owes
    that part again (sent or partiallyPaid), its credit is gone, the bills overdue go back into
    dunning. Once per payment; a payment refunded in part cannot bounce."""
    if not reason.strip():
        raise DomainError("Say why the payment is reversed.", field="reason")
    account_id = (
        Payment.objects.filter(pk=payment_id).values_list("billing_account_id", flat=True).first()
    )
    if account_id is None:
        raise NotFound(f"Payment '{payment_id}' does not exist.")
    with transaction.atomic():
        crm_selectors.billing_account_lock(account_id=account_id)
        payment = Payment.objects.select_for_update().get(pk=payment_id)
        if payment.state in FINAL_PAYMENT_STATES:
            raise Conflict(f"Payment {payment.pk} is already {payment.state}.", field="payment.id")
        if payment.refunds.exists():
            raise DomainError(
                f"Payment {payment.pk} was refunded in part: it cannot be reversed.",
                field="payment.id",
            )
        label = f"Payment {payment.pk} reversed: {reason}"
        allocated = payment.amount - payment.unallocated_amount
        reopened = _take_back(payment, allocated, by=by, label=label)
        topup_take_back(
            payment=payment, amount=payment.amount, reason=label, is_refund=False, by=by
        )
        payment.unallocated_amount = Decimal(0)
        _payment_move(payment, PaymentState.REVERSED)
        reversal = PaymentReversal.objects.create(
            payment=payment, reason=reason[:300], reopened=reopened, created_by=by
        )
        dunning_cases_open(bill_ids=[row["bill"] for row in reopened])
    return reversal
