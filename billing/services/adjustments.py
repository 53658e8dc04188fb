"""Credit notes: finance credits a bill or one of its lines (the bill stays as issued). Up to
settings.CREDIT_NOTE_APPROVAL_LIMIT a credit note is approved as it is issued; above, another
finance user (or an admin) approves it. Approved, it pays down the bill like a payment, what
is left pays the account's other open bills and then stays as account credit; a bill that no
longer owes leaves dunning."""

from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.db.models import Sum

from billing.choices import (
    CREDIT_NOTE_TRANSITIONS,
    PAYABLE_BILL_STATES,
    BillState,
    CreditNoteReason,
    CreditNoteState,
    DunningCloseReason,
)
from billing.models import AppliedCharge, BillSequence, CreditNote, CustomerBill
from billing.services.dunning import dunning_cases_close
from billing.services.payments import allocate, amount_check, open_bills
from crm import selectors as crm_selectors
from telco import clock
from telco.exceptions import DomainError, Forbidden, NotFound
from telco.money import plain_decimal, round_money
from telco.states import check_transition

CREDIT_NOTE_SEQUENCE = "CN"


def _next_number() -> str:
    BillSequence.objects.get_or_create(name=CREDIT_NOTE_SEQUENCE)
    sequence = BillSequence.objects.select_for_update().get(name=CREDIT_NOTE_SEQUENCE)
    sequence.last_value += 1
    sequence.save(update_fields=["last_value"])
    return f"{CREDIT_NOTE_SEQUENCE}-{sequence.last_value:06d}"


def approval_limit() -> Decimal:
    return Decimal(str(settings.CREDIT_NOTE_APPROVAL_LIMIT))


def credit_note_issue(
    *,
    bill_id: int,
    amount: Decimal,
    reason: str,
    by: str,
    line_id: int | None = None,
    description: str = "",
    currency: str | None = None,
) -> CreditNote:
    """Issue a credit note of `amount` (tax included) against a bill or one of its lines.

    It can credit at most what the bill (line) charged less the credit notes already issued on
    it (pending or approved). At or under the approval limit it is approved at once.
    """
    if reason not in CreditNoteReason.values:
        raise DomainError(
            f"Reason '{reason}' is not one of {', '.join(CreditNoteReason.values)}.",
            field="reason",
        )
    if amount <= 0:
        raise DomainError("The amount must be more than zero.", field="amount.value")
    bill = CustomerBill.objects.filter(pk=bill_id).only("billing_account_id").first()
    if bill is None:
        raise DomainError(f"Customer bill '{bill_id}' does not exist.", field="bill.id")
    with transaction.atomic():
        crm_selectors.billing_account_lock(account_id=bill.billing_account_id)
        bill = CustomerBill.objects.select_for_update().get(pk=bill_id)
        if currency is not None and currency != bill.currency:
            raise DomainError(
                f"Bill {bill.bill_no} is in {bill.currency}, not {currency}.", field="amount.unit"
            )
        amount_check(amount, bill.currency)
        line = None
        credited = CreditNote.objects.filter(bill=bill).exclude(state=CreditNoteState.REJECTED)
        if line_id is not None:
            line = AppliedCharge.objects.filter(pk=line_id, bill=bill).first()
            if line is None:
                raise DomainError(
                    f"Line '{line_id}' is not a line of bill {bill.bill_no}.", field="line.id"
                )
            total, credited = line.tax_included_amount, credited.filter(line=line)
            rate = line.tax_rate
            tax = round_money(amount * rate / (1 + rate), bill.currency)
        else:
            total = bill.tax_included_amount
            share = bill.tax_amount / total if total else Decimal(0)
            tax = round_money(amount * share, bill.currency)
        already = credited.aggregate(total=Sum("amount"))["total"] or Decimal(0)
        if amount > total - already:
            what = f"line {line.pk}" if line else f"bill {bill.bill_no}"
            raise DomainError(
                f"At most {plain_decimal(total - already)} {bill.currency} of {what} is left "
                "to credit.",
                field="amount.value",
            )
        note = CreditNote.objects.create(
            billing_account_id=bill.billing_account_id,
            bill=bill,
            line=line,
            number=_next_number(),
            reason=reason,
            description=description,
            currency=bill.currency,
            amount=amount,
            tax_amount=tax,
            created_by=by,
        )
        if amount <= approval_limit():
            _approve(note, by=by, note_text="Within the approval limit.")
    return note


def credit_note_approve(
    *, credit_note_id: int, by: str, by_admin: bool = False, note: str = ""
) -> CreditNote:
    """Approve a pending credit note: by another finance user than its issuer, or an admin."""
    with transaction.atomic():
        credit_note = _locked(credit_note_id)
        if credit_note.created_by == by and not by_admin:
            raise Forbidden(
                f"Credit note {credit_note.number} was issued by you: another finance user "
                "or an admin approves it."
            )
        check_transition(
            CREDIT_NOTE_TRANSITIONS, credit_note.state, CreditNoteState.APPROVED, "Credit note"
        )
        _approve(credit_note, by=by, note_text=note)
    return credit_note


def credit_note_reject(
    *, credit_note_id: int, by: str, by_admin: bool = False, note: str = ""
) -> CreditNote:
    """Reject a pending credit note (its issuer may withdraw it too); it credits nothing."""
    with transaction.atomic():
        credit_note = _locked(credit_note_id)
        check_transition(
            CREDIT_NOTE_TRANSITIONS, credit_note.state, CreditNoteState.REJECTED, "Credit note"
        )
        credit_note.state = CreditNoteState.REJECTED
        credit_note.decided_by, credit_note.decided_at = by, clock.now()
        credit_note.decision_note = note[:300]
        credit_note.save(update_fields=["state", "decided_by", "decided_at", "decision_note"])
    return credit_note


def _locked(credit_note_id: int) -> CreditNote:
    account_id = (
        CreditNote.objects.filter(pk=credit_note_id)
        .values_list("billing_account_id", flat=True)
        .first()
    )
    if account_id is None:
        raise NotFound(f"Credit note '{credit_note_id}' does not exist.")
    crm_selectors.billing_account_lock(account_id=account_id)
    return CreditNote.objects.select_for_update().get(pk=credit_note_id)


def _approve(credit_note: CreditNote, *, by: str, note_text: str) -> None:
    """Approve and allocate: its own bill first (if payable), then the account's other open
    bills, oldest first; the rest stays as account credit. The account row is locked."""
    credit_note.state = CreditNoteState.APPROVED
    credit_note.decided_by, credit_note.decided_at = by, clock.now()
    credit_note.decision_note = note_text[:300]
    credit_note.unallocated_amount = credit_note.amount
    credit_note.save(
        update_fields=["state", "decided_by", "decided_at", "decision_note", "unallocated_amount"]
    )
    others = [b for b in open_bills(credit_note.billing_account) if b.pk != credit_note.bill_id]
    own = CustomerBill.objects.select_for_update().get(pk=credit_note.bill_id)
    # Its own bill first, even on hold (a dispute settled by the credit note).
    creditable = (*PAYABLE_BILL_STATES, BillState.ON_HOLD)
    bills = [own, *others] if own.state in creditable else others
    settled = allocate([credit_note], bills)
    dunning_cases_close(
        bill_ids=[*settled, credit_note.bill_id], reason=DunningCloseReason.CREDITED, by=by
    )
