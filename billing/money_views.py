"""Finance pages for money owed: bills in dunning by step, credit notes (issue, approve,
reject), and a payment's refund and reversal. Mounted with billing's portal pages."""

from decimal import Decimal, InvalidOperation

from django.contrib import messages
from django.db.models import Count, Prefetch, Sum
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path
from django.views.decorators.http import require_POST

from billing import services
from billing.choices import CreditNoteReason, CreditNoteState
from billing.models import CreditNote, CustomerBill, DunningAction, DunningCase, Payment
from billing.services.dunning import cases_with_latest_step
from telco.exceptions import DomainError
from telco.roles import ADMIN, has_role

PAGE_ROWS = 100


def dunning_list(request):
    """Bills in dunning: how many at each step, and the open cases (latest step filterable)."""
    open_cases = cases_with_latest_step(DunningCase.objects.filter(closed_at__isnull=True))
    by_step = list(
        open_cases.values("latest_position", "latest_action")
        .annotate(cases=Count("id"), owed=Sum("bill__remaining_amount"))
        .order_by("latest_position")
    )
    step = request.GET.get("step", "")
    cases = open_cases.select_related("bill", "billing_account__customer").prefetch_related(
        Prefetch("actions", queryset=DunningAction.objects.order_by("id"))
    )
    if step:
        cases = cases.filter(latest_action=step)
    context = {
        "by_step": by_step,
        "cases": list(cases.order_by("bill__payment_due_date", "id")[:PAGE_ROWS]),
        "step": step,
    }
    return render(request, "billing/dunning_list.html", context)


def credit_note_list(request):
    """Credit notes, newest first, with the form to issue one and the pending ones' buttons."""
    notes = CreditNote.objects.select_related("bill", "line", "billing_account").order_by("-id")
    context = {
        "notes": list(notes[:PAGE_ROWS]),
        "reasons": CreditNoteReason.choices,
        "pending": CreditNoteState.PENDING_APPROVAL,
    }
    return render(request, "billing/credit_note_list.html", context)


def _amount(raw: str) -> Decimal:
    try:
        return Decimal(raw.strip())
    except (InvalidOperation, AttributeError):
        raise DomainError(f"'{raw}' is not an amount.", field="amount") from None


@require_POST
def credit_note_issue(request):
    bill = CustomerBill.objects.filter(bill_no=request.POST.get("bill_no", "").strip()).first()
    line = request.POST.get("line_id", "").strip()
    try:
        if bill is None:
            raise DomainError("No bill has that number.", field="bill_no")
        note = services.credit_note_issue(
            bill_id=bill.pk,
            line_id=int(line) if line.isdigit() else None,
            amount=_amount(request.POST.get("amount", "")),
            reason=request.POST.get("reason", ""),
            description=request.POST.get("description", "")[:300],
            by=request.user.get_username(),
        )
    except DomainError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, f"Credit note {note.number} is {note.state}.")
    return redirect("finance:credit-note-list")


@require_POST
def credit_note_decide(request, pk: int, decision: str):
    decide = {"approve": services.credit_note_approve, "reject": services.credit_note_reject}
    try:
        note = decide[decision](
            credit_note_id=pk,
            by=request.user.get_username(),
            by_admin=has_role(request.user, ADMIN),
            note=request.POST.get("note", "")[:300],
        )
    except DomainError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, f"Credit note {note.number} is {note.state}.")
    return redirect("finance:credit-note-list")


def payment_adjust(request, pk: int):
    """A payment with its allocations, refunds and reversal, and the forms to refund or
    reverse it."""
    payment = get_object_or_404(
        Payment.objects.select_related("billing_account__customer").prefetch_related(
            "allocations__bill", "refunds"
        ),
        pk=pk,
    )
    return render(request, "billing/payment_adjust.html", {"payment": payment})


@require_POST
def payment_refund(request, pk: int):
    payment = get_object_or_404(Payment, pk=pk)
    try:
        refund, _ = services.refund_create(
            billing_account_id=payment.billing_account_id,
            payment_id=payment.pk,
            amount=_amount(request.POST.get("amount", "")),
            currency=payment.currency,
            reason=request.POST.get("reason", ""),
            by=request.user.get_username(),
        )
    except DomainError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, f"Refund {refund.pk} of {refund.amount.normalize()} recorded.")
    return redirect("finance:payment-adjust", pk=pk)


@require_POST
def payment_reverse(request, pk: int):
    try:
        reversal = services.payment_reverse(
            payment_id=pk, reason=request.POST.get("reason", ""), by=request.user.get_username()
        )
    except DomainError as error:
        messages.error(request, error.message)
    else:
        messages.success(
            request, f"Payment {pk} reversed: {len(reversal.reopened)} bill(s) re-opened."
        )
    return redirect("finance:payment-adjust", pk=pk)


urlpatterns = [
    path("dunning/", dunning_list, name="dunning-list"),
    path("credit-notes/", credit_note_list, name="credit-note-list"),
    path("credit-notes/issue/", credit_note_issue, name="credit-note-issue"),
    path(
        "credit-notes/<int:pk>/<str:decision>/",
        credit_note_decide,
        name="credit-note-decide",
    ),
    path("payments/<int:pk>/", payment_adjust, name="payment-adjust"),
    path("payments/<int:pk>/refund/", payment_refund, name="payment-refund"),
    path("payments/<int:pk>/reverse/", payment_reverse, name="payment-reverse"),
]
