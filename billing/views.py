"""Billing's portal pages: the invoice (header, lines and totals, printable) and its PDF."""

from django.db.models import Prefetch
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, render

from billing import services
from billing.models import AppliedCharge, CustomerBill
from telco.ids import parse_id


def bill_with_lines(pk: int) -> CustomerBill:
    """A bill with its account, customer and lines (each with its product)."""
    lines = AppliedCharge.objects.select_related("product").order_by("period_start", "pk")
    return get_object_or_404(
        CustomerBill.objects.select_related("billing_account__customer__party").prefetch_related(
            Prefetch("lines", queryset=lines)
        ),
        pk=pk,
    )


def bill_detail(request, pk: int):
    """The invoice: header, lines and totals, printable."""
    bill = bill_with_lines(pk)
    account = bill.billing_account
    context = {"bill": bill, "account": account, "customer": account.customer}
    return render(request, "billing/bill_detail.html", context)


def pdf_response(bill: CustomerBill, *, inline: bool = False) -> HttpResponse:
    """The bill's PDF invoice as a download (or shown in the browser when `inline`)."""
    disposition = "inline" if inline else "attachment"
    return HttpResponse(
        services.invoice_pdf(bill=bill),
        content_type="application/pdf",
        headers={
            "Content-Disposition": (
                f'{disposition}; filename="{services.invoice_download_name(bill)}"'
            ),
            # Private: an invoice is personal data, kept by no shared cache.
            "Cache-Control": "private, max-age=3600",
        },
    )


def bill_pdf(request, pk: int):
    """The invoice as a PDF file: rendered on the first download, then served as stored."""
    if parse_id(pk) is None:  # beyond bigint: no bill has it
        raise Http404
    return pdf_response(get_object_or_404(services.invoice_bills(), pk=pk))
