"""PDF invoices: what they say (read back from the PDF), where they are linked, who may fetch
them, and that each bill is rendered once."""

import io
import re
from datetime import UTC, date, datetime

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import storages
from pypdf import PdfReader

from billing.models import CustomerBill
from billing.services import bill_run_start, invoice_pdf
from billing.services.invoices import invoice_file_name
from billing.tests.factories import active_product, usage_event
from crm.tests.factories import BillingAccountFactory, CustomerFactory, IndividualFactory

pytestmark = pytest.mark.django_db
TMF = "/tmf-api/customerBillManagement/v4"


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


def pdf_text(content: bytes) -> str:
    """The PDF's text, whitespace folded (PDF text extraction breaks lines where it likes)."""
    reader = PdfReader(io.BytesIO(content))
    return re.sub(r"\s+", " ", " ".join(page.extract_text() for page in reader.pages))


@pytest.fixture
def bill(settings):
    settings.INVOICE_OPERATOR_NAME = "Northwind Telecom plc"
    settings.INVOICE_OPERATOR_ADDRESS = ["7 Harbour Road", "Bristol BS1 4QA"]
    settings.INVOICE_PAYMENT_IBAN = "GB29 NWBK 6016 1331 9268 19"
    settings.INVOICE_PAYMENT_REFERENCE = "{bill_no}/{account_number}"
    party = IndividualFactory(
        given_name="Grace", family_name="Hopper", street="12 Arlington Road", city="Leeds"
    )
    account = BillingAccountFactory(
        customer=CustomerFactory(party=party, name="Grace Hopper"), account_number="TA55500011"
    )
    product = active_product(account=account, start_date=utc(2026, 10, 16))
    usage_event(product=product, usage_date=utc(2026, 10, 20), gigabytes="6.25")
    bill_run_start(as_of=date(2026, 11, 1))
    return CustomerBill.objects.get()


def test_the_pdf_names_operator_customer_period_lines_tax_totals_and_how_to_pay(bill):
    text = pdf_text(invoice_pdf(bill=bill))

    expected = [
        "Invoice INV-000001",
        # The operator, from the settings.
        "Northwind Telecom plc",
        "7 Harbour Road",
        "Bristol BS1 4QA",
        # The customer and account, the period.
        "Grace Hopper",
        "12 Arlington Road",
        "TA55500011",
        "1 Oct 2026 – 1 Nov 2026",
        # The lines (activation, prorated month, usage beyond the allowance) with their tax.
        "Activation fee 5G Premium",
        "1 49.00 EUR 20% 9.80 EUR 58.80 EUR",
        "15.48 EUR 20% 3.10 EUR 18.58 EUR",
        "1.25 GB 2.50 EUR 20% 0.50 EUR 3.00 EUR",
        # Tax and totals.
        "Tax 20% on 66.98 EUR 13.40 EUR",
        "Total excluding tax 66.98 EUR",
        "Total due 80.38 EUR",
        # How to pay.
        "GB29 NWBK 6016 1331 9268 19",
        "INV-000001/TA55500011",
    ]
    assert [phrase for phrase in expected if phrase not in text] == []


def test_each_bill_is_rendered_once_then_served_from_storage(bill, django_assert_num_queries):
    storage = storages["invoices"]
    assert not storage.exists(invoice_file_name(bill))

    first = invoice_pdf(bill=bill)

    assert storage.exists(invoice_file_name(bill))
    # The stored file is what is served: no query, no rendering (its bytes are the same).
    with django_assert_num_queries(0):
        again = invoice_pdf(bill=bill)
    assert again == first
    assert first.startswith(b"%PDF-")


def test_a_stored_file_still_being_written_is_not_served(bill):
    storages["invoices"].save(invoice_file_name(bill), ContentFile(b"%PDF-1.7\n1 0 obj"))

    text = pdf_text(invoice_pdf(bill=bill))

    assert "Total due 80.38 EUR" in text


def test_the_portal_invoice_page_links_the_pdf_download(bill, agent_client):
    page = agent_client.get(f"/portal/bills/{bill.pk}/").content.decode()
    assert f'href="/portal/bills/{bill.pk}/pdf/"' in page
    assert "Download PDF" in page

    response = agent_client.get(f"/portal/bills/{bill.pk}/pdf/")

    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == 'attachment; filename="INV-000001.pdf"'
    assert "Total due 80.38 EUR" in pdf_text(response.content)


def test_portal_pdf_is_for_portal_roles(bill, noc_client, client, finance_client):
    assert finance_client.get(f"/portal/bills/{bill.pk}/pdf/").status_code == 200
    assert noc_client.get(f"/portal/bills/{bill.pk}/pdf/").status_code == 403
    assert client.get(f"/portal/bills/{bill.pk}/pdf/").status_code == 302  # to the login page
    assert finance_client.get(f"/portal/bills/{bill.pk + 1}/pdf/").status_code == 404
    assert finance_client.get(f"/portal/bills/{10**30}/pdf/").status_code == 404


def test_tmf678_bill_document_links_the_pdf(bill, agent_api, noc_api, anonymous_api):
    body = agent_api.get(f"{TMF}/customerBill/{bill.pk}").json()

    href = f"http://testserver/api/v1/billing/customerBill/{bill.pk}/pdf"
    assert body["billDocument"] == [
        {
            "id": f"{bill.pk}-pdf",
            "href": href,
            "url": href,
            "name": "INV-000001.pdf",
            "description": "Invoice INV-000001 as a PDF document",
            "attachmentType": "invoice",
            "mimeType": "application/pdf",
            "@type": "AttachmentRef",
            "@referredType": "Attachment",
        }
    ]
    response = agent_api.get(href)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert "Grace Hopper" in pdf_text(response.content)
    # The same roles as the bill: the NOC and strangers get no invoice; an unknown id is 404.
    assert noc_api.get(href).status_code == 403
    assert anonymous_api.get(href).status_code in (401, 403)
    missing = agent_api.get(f"/api/v1/billing/customerBill/{bill.pk + 1}/pdf")
    assert missing.status_code == 404
    assert agent_api.get("/api/v1/billing/customerBill/9" + "9" * 30 + "/pdf").status_code == 404
