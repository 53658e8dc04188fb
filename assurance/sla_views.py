"""The SLA report page of a customer: month by month, target against achieved availability,
outage and latency minutes, and the credits (the same rows as the API's slaReport)."""

from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import render

from assurance.api.sla import report_row
from assurance.sla import sla_products, sla_report
from crm import selectors as crm_selectors
from telco.exceptions import NotFound

CHART_WIDTH = 300


@login_required
def customer_sla_report(request, pk):
    try:
        customer = crm_selectors.customer_get(customer_id=pk)
    except NotFound:
        raise Http404 from None
    rows = []
    for figure in sla_report(customer_id=customer.pk):
        row = report_row(figure)
        # The bar: achieved availability on a scale from the lowest credit band (or 95 %) to 100.
        floor = min([float(b["availabilityBelow"]) - 1 for b in figure.sla.credit_bands] + [95.0])
        scale = CHART_WIDTH / (100 - floor)
        row["bar_width"] = round(max(float(figure.achieved_availability) - floor, 0) * scale)
        row["target_x"] = round((float(figure.sla.availability_target) - floor) * scale)
        rows.append(row)
    return render(
        request,
        "assurance/sla_report.html",
        {"customer": customer, "rows": rows, "chart_width": CHART_WIDTH},
    )


def customer_sla_link_context(request, customer) -> dict:
    """The panel on the customer 360: a link to the SLA report when the customer has an SLA."""
    products = sla_products(customer_id=customer.pk)
    return {"customer": customer, "sla_products": products}
