"""SLA terms and the SLA report over the API.

Terms: TMF657 Service Quality Management `serviceLevelSpecification`, read-only (the terms are
edited in the admin). One specification per offering; its objectives (availability, outage
minutes, latency) are TMF657 ServiceLevelObjective objects inlined as `serviceLevelObjective`
(the spec only carries references, and they have no life of their own here), each with its
credit as a `serviceLevelObjectiveConsequence`; the offering is a `relatedEntity` and the whole
credit table is `creditTable` (extensions, `@type` ServiceLevelSpecification).

Report: `/api/v1/assurance/customer/{id}/slaReport`, month by month per SLA product.
"""

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from assurance.api.schema import SlaReportAnswer
from assurance.sla import REPORT_MONTHS, sla_report
from catalog import selectors as catalog_selectors
from crm import selectors as crm_selectors
from telco.api.serializers import href_for
from telco.api.views import TMFViewSet
from telco.exceptions import DomainError
from telco.money import as_tmf_money
from telco.roles import AGENT, FINANCE, NOC, HasRole

OFFERING_URL = "catalog-api:productOffering-detail"
MONTH = {"@type": "TimePeriod", "duration": "P1M"}


def objective(name: str, comparator: str, target, *, credit=None, tolerance=None) -> dict:
    body = {
        "name": name,
        "conformanceComparator": comparator,
        "conformanceTarget": str(target),
        "conformancePeriod": MONTH,
        "serviceLevelObjectiveParameter": {"name": name},
        "serviceLevelObjectiveConsequence": [],
        "@type": "ServiceLevelObjective",
    }
    if tolerance is not None:
        body["toleranceTarget"] = str(tolerance)
    if credit:
        body["serviceLevelObjectiveConsequence"].append(
            {
                "name": "credit",
                "prescribedAction": f"credit {credit}% of the monthly recurring charge",
                "@type": "ServiceLevelSpecConsequence",
            }
        )
    return body


class ServiceLevelSpecificationSerializer(serializers.Serializer):
    """A ServiceLevelAgreement (catalog) as a TMF657 ServiceLevelSpecification."""

    tmf_type = "ServiceLevelSpecification"
    url_name = "assurance-api:serviceLevelSpecification-detail"

    def to_representation(self, sla):
        bands = [
            {"availabilityBelow": str(b["availabilityBelow"]), "creditPercent": str(credit)}
            for b in sla.credit_bands
            for credit in (b["creditPercent"],)
        ]
        objectives = [
            objective(
                "availability",
                ">=",
                sla.availability_target,
                credit=bands[0]["creditPercent"] if bands else None,
            )
        ]
        if sla.max_outage_minutes is not None:
            objectives.append(
                objective(
                    "outageMinutes", "<=", sla.max_outage_minutes, credit=sla.outage_credit_percent
                )
            )
        if sla.latency_target_ms is not None:
            objectives.append(
                objective(
                    "latencyMs",
                    "<=",
                    sla.latency_target_ms,
                    credit=sla.latency_credit_percent,
                    tolerance=f"{sla.latency_allowance_minutes} minutes",
                )
            )
        request = self.context.get("request")
        return {
            "id": str(sla.pk),
            "href": href_for(request, self.url_name, sla.pk),
            "name": sla.name,
            "description": sla.description,
            "validFor": {"startDateTime": sla.valid_from.isoformat()},
            "lastUpdate": sla.last_update.isoformat(),
            "serviceLevelObjective": objectives,
            "creditTable": bands,
            "relatedEntity": [
                {
                    "id": str(sla.offering_id),
                    "href": href_for(
                        request, "catalog-api:productOffering-detail", sla.offering_id
                    ),
                    "name": sla.offering.name,
                    "role": "productOffering",
                    "@referredType": "ProductOffering",
                }
            ],
            "@type": self.tmf_type,
        }


class ServiceLevelSpecificationViewSet(TMFViewSet):
    """`/serviceLevelSpecification`: the SLA terms of the offerings, read-only."""

    serializer_class = ServiceLevelSpecificationSerializer
    read_roles = (AGENT, NOC, FINANCE)
    filter_attributes = {"name": "name", "relatedEntity.id": "offering_id"}

    def get_queryset(self):
        return catalog_selectors.slas()


def _decimal(value) -> str:
    return format(value.normalize(), "f") if value is not None else None


def report_row(row) -> dict:
    """One product-month of the SLA report, as the API and the page show it."""
    credit = row.credit
    return {
        "product": {"id": str(row.product.pk), "name": row.product.name},
        "serviceLevelSpecification": {"id": str(row.sla.pk), "name": row.sla.name},
        "periodStart": row.period_start.isoformat(),
        "periodEnd": row.period_end.isoformat(),
        "isComplete": row.is_complete,
        "availabilityTarget": _decimal(row.sla.availability_target),
        "achievedAvailability": _decimal(row.achieved_availability),
        "outageMinutes": _decimal(row.outage.outage_minutes),
        "downMinutes": _decimal(row.outage.down_minutes.quantize(row.outage.outage_minutes)),
        "degradedMinutes": _decimal(
            row.outage.degraded_minutes.quantize(row.outage.outage_minutes)
        ),
        "latencyTargetMs": row.sla.latency_target_ms,
        "latencyMinutes": _decimal(row.outage.latency_minutes),
        "isBreached": row.is_breached,
        "incident": [{"id": str(i)} for i in sorted(row.outage.incident_ids)],
        "credit": None
        if credit is None
        else {
            "creditPercent": _decimal(credit.credit_percent),
            "amount": as_tmf_money(credit.amount, credit.currency),
            "billNo": credit.billed_bill_no,
        },
    }


@extend_schema(
    parameters=[OpenApiParameter("months", int, description="How many months (1 to 36).")],
    responses=SlaReportAnswer,
)
class SlaReportView(APIView):
    """`GET /api/v1/assurance/customer/{id}/slaReport?months=N`: the customer's SLA products
    month by month (newest first), target against achieved, and the credits."""

    permission_classes = [HasRole]
    read_roles = (AGENT, NOC, FINANCE)

    def get(self, request, pk):
        raw = request.query_params.get("months", str(REPORT_MONTHS))
        if not raw.isdigit() or not 1 <= int(raw) <= 36:
            raise DomainError("months is a whole number from 1 to 36.", field="months")
        customer = crm_selectors.customer_get(customer_id=pk)
        rows = sla_report(customer_id=customer.pk, months=int(raw))
        return Response(
            {"customer": {"id": str(customer.pk), "name": customer.name}, "month": [
                report_row(row) for row in rows
            ]}
        )  # fmt: skip
