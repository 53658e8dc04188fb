"""Billing's portal pages: the invoice (header, lines and totals, printable)."""

from django.db.models import Prefetch
from django.shortcuts import get_object_or_404, render

from billing.models import AppliedCharge, CustomerBill
from crm.views import portal_view


def bill_with_lines(pk: int) -> CustomerBill:
    """A bill with its account, customer and lines (each with its product)."""
    lines = AppliedCharge.objects.select_related("product").order_by("period_start", "pk")
    return get_object_or_404(
        CustomerBill.objects.select_related("billing_account__customer__party").prefetch_related(
            Prefetch("lines", queryset=lines)
        ),
        pk=pk,
    )


@portal_view
def bill_detail(request, pk: int):
    """The invoice: header, lines and totals, printable."""
    bill = bill_with_lines(pk)
    account = bill.billing_account
    context = {"bill": bill, "account": account, "customer": account.customer}
    return render(request, "billing/bill_detail.html", context)
