"""A bill's invoice as a PDF document: what TMF678 `billDocument` points to.

TMF678 names the document of a bill (an attachment reference) but no resource serving it, so the
file is served beside the API at /api/v1/billing/customerBill/{id}/pdf, to the same roles that
read bills, with the same authentication.
"""

from django.http import Http404
from django.shortcuts import get_object_or_404
from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.request import Request
from rest_framework.views import APIView

from billing import services
from billing.models import CustomerBill
from billing.views import pdf_response
from telco.api.filters import parse_pk
from telco.api.serializers import absolute_url
from telco.roles import AGENT, FINANCE, HasRole

PDF = "application/pdf"
DOCUMENT_URL_NAME = "billing-api:customerBill-pdf"


class PDFRenderer(BaseRenderer):
    """Lets a client ask for `Accept: application/pdf`; the view answers the file itself, and
    an error (an unknown bill, a missing role) is still a JSON body."""

    media_type = PDF
    format = "pdf"
    charset = None
    render_style = "binary"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        if isinstance(data, bytes):
            return data
        return JSONRenderer().render(data)


def bill_document(request: Request, bill: CustomerBill) -> dict:
    """TMF678 `billDocument` entry (an AttachmentRefOrValue by reference) of a bill's PDF."""
    href = absolute_url(request, reverse(DOCUMENT_URL_NAME, kwargs={"id": bill.pk}))
    return {
        "id": f"{bill.pk}-pdf",
        "href": href,
        "url": href,
        "name": services.invoice_download_name(bill),
        "description": f"Invoice {bill.bill_no} as a PDF document",
        "attachmentType": "invoice",
        "mimeType": PDF,
        "@type": "AttachmentRef",
        "@referredType": "Attachment",
    }


class CustomerBillPdfView(APIView):
    """A bill's invoice as PDF, rendered on the first request and stored (bills never change)."""

    permission_classes = [HasRole]
    renderer_classes = [JSONRenderer, PDFRenderer]
    read_roles = (AGENT, FINANCE)

    @extend_schema(
        operation_id="customerBill_pdf",
        summary="The bill's invoice as a PDF document (TMF678 billDocument href)",
        responses={
            (200, PDF): OpenApiResponse(OpenApiTypes.BINARY, description="The invoice (PDF)."),
            404: OpenApiResponse(description="No such bill."),
        },
    )
    def get(self, request, id: str):  # noqa: A002 - the TMF path parameter's name
        pk = parse_pk(CustomerBill, id)
        if pk is None:
            raise Http404
        return pdf_response(get_object_or_404(services.invoice_bills(), pk=pk))
