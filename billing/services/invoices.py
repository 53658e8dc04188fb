"""Invoices as PDF documents (WeasyPrint): the operator, the customer and account, the period,
the lines with their tax, the totals and how to pay.

A bill never changes once issued, so its PDF is rendered on the first request and kept in the
"invoices" storage (settings.STORAGES) under the bill's id; later requests read the file.
"""

from collections import defaultdict
from decimal import Decimal

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import storages
from django.db.models import QuerySet
from django.template.loader import render_to_string

from billing.models import AppliedCharge, CustomerBill
from crm.choices import PaymentMethod

# Part of each file's name: a new layout (template) is rendered again rather than served stale.
INVOICE_LAYOUT = "1"
STORAGE_ALIAS = "invoices"
# The last line of every complete PDF file.
PDF_END = b"%%EOF"


def invoice_bills() -> QuerySet[CustomerBill]:
    """Bills with what an invoice names: account, customer and the customer's party."""
    return CustomerBill.objects.select_related("billing_account__customer__party")


def invoice_file_name(bill: CustomerBill) -> str:
    """Where the bill's PDF is kept: under its id (the number is there for people)."""
    return f"{bill.pk}/{bill.bill_no}-layout{INVOICE_LAYOUT}.pdf"


def invoice_download_name(bill: CustomerBill) -> str:
    """The file name a browser saves the PDF as."""
    return f"{bill.bill_no}.pdf"


def payment_reference(bill: CustomerBill) -> str:
    """The reference the customer quotes when paying (settings.INVOICE_PAYMENT_REFERENCE)."""
    return settings.INVOICE_PAYMENT_REFERENCE.format(
        bill_no=bill.bill_no, account_number=bill.billing_account.account_number
    )


def _tax_summary(lines: list[AppliedCharge]) -> list[dict]:
    """Net and tax per tax rate, lowest rate first."""
    by_rate: dict[Decimal, dict] = defaultdict(lambda: {"net": Decimal(0), "tax": Decimal(0)})
    for line in lines:
        by_rate[line.tax_rate]["net"] += line.tax_excluded_amount
        by_rate[line.tax_rate]["tax"] += line.tax_amount
    return [{"rate": rate, **amounts} for rate, amounts in sorted(by_rate.items())]


def invoice_context(bill: CustomerBill) -> dict:
    """What the invoice template shows (one query for the lines with their products)."""
    lines = list(
        AppliedCharge.objects.filter(bill=bill)
        .select_related("product")
        .order_by("period_start", "pk")
    )
    account = bill.billing_account
    return {
        "bill": bill,
        "account": account,
        "customer": account.customer,
        "party": account.customer.party,
        "lines": lines,
        "taxes": _tax_summary(lines),
        "operator": {
            "name": settings.INVOICE_OPERATOR_NAME,
            "address": settings.INVOICE_OPERATOR_ADDRESS,
            "vat_id": settings.INVOICE_OPERATOR_VAT_ID,
        },
        "payment": {
            "method": account.get_payment_method_display(),
            "is_direct_debit": account.payment_method == PaymentMethod.DIRECT_DEBIT,
            "iban": settings.INVOICE_PAYMENT_IBAN,
            "bic": settings.INVOICE_PAYMENT_BIC,
            "reference": payment_reference(bill),
        },
    }


def invoice_render(*, bill: CustomerBill) -> bytes:
    """The bill's invoice as PDF bytes, rendered now (no cache)."""
    # Imported here: WeasyPrint loads Pango when imported, which only PDF work needs.
    from weasyprint import HTML

    html = render_to_string("billing/invoice_pdf.html", invoice_context(bill))
    return HTML(string=html).write_pdf()


def invoice_pdf(*, bill: CustomerBill) -> bytes:
    """The bill's invoice as PDF bytes: the stored rendering, or rendered and stored now."""
    storage = storages[STORAGE_ALIAS]
    name = invoice_file_name(bill)
    if storage.exists(name):
        with storage.open(name, "rb") as stored:
            pdf = stored.read()
        # A file another request is still writing is incomplete: render this one afresh.
        if pdf.rstrip().endswith(PDF_END):
            return pdf
        return invoice_render(bill=bill)
    pdf = invoice_render(bill=bill)
    saved = storage.save(name, ContentFile(pdf))
    if saved != name:
        # Another request stored the same bill's PDF meanwhile (the storage picked a free name
        # for this copy): keep one.
        storage.delete(saved)
    return pdf
