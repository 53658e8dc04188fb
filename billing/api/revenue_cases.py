"""Revenue-assurance and fraud cases on the API, /api/revenue-assurance/v1/case: list (?kind,
?state, ?owner, ?origin=fraud|reconciliation), one case with its history, PATCH its state (with
a note) or owner, POST .../{id}/note and POST .../{id}/action {"action": "startBilling" |
"removeOrphanConfig" | "rerateDay" | "bar" | "lift"}. Finance, risk and admin users."""

from django.db import transaction
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.decorators import action
from rest_framework.response import Response

from billing import revenue_selectors
from billing.api.serializers import account_ref, product_ref
from billing.choices import FRAUD_CASE_KINDS, CaseState
from billing.models import CaseEvent, RevenueCase
from billing.services import cases
from billing.services.case_commands import CASE_ACTIONS, case_act
from telco.api.serializers import TMFSerializer, reference
from telco.api.views import TMFPatchMixin, TMFRouter, TMFViewSet
from telco.roles import FINANCE, RISK

FRAUD, RECONCILIATION = "fraud", "reconciliation"


def _iso(moment) -> str | None:
    return moment.isoformat() if moment else None


def event_body(event: CaseEvent) -> dict:
    return {
        "id": str(event.pk),
        "type": event.type,
        "date": event.at.isoformat(),
        "by": event.by,
        "fromState": event.from_state or None,
        "toState": event.to_state or None,
        "text": event.text,
        "reconciliationRunId": str(event.run_id) if event.run_id else None,
    }


class RevenueCaseSerializer(TMFSerializer):
    """A case: its class (`kind`), what it concerns, revenue at risk a month, state, owner; on
    its own (not in lists) its history (`event`). PATCH takes `state` (with `note`, needed to
    accept) and `owner` (a username, or null)."""

    tmf_type = "RevenueCase"
    url_name = "billing-api:revenueCase-detail"

    state = serializers.ChoiceField(choices=CaseState.choices, required=False)
    note = serializers.CharField(required=False, allow_blank=True, max_length=2000, write_only=True)
    owner = serializers.SlugRelatedField(
        slug_field="username",
        queryset=revenue_selectors.case_owners(),
        required=False,
        allow_null=True,
    )

    class Meta:
        model = RevenueCase
        fields = ["state", "note", "owner"]

    def validate(self, attrs):
        if "note" in attrs and "state" not in attrs:
            raise serializers.ValidationError({"note": ["A note goes with a new state."]})
        return attrs

    def to_representation(self, case):
        body = super().to_representation(case)
        request = self.request
        account = case.billing_account
        body.update(
            kind=case.kind,
            origin=FRAUD if case.kind in FRAUD_CASE_KINDS else RECONCILIATION,
            summary=case.summary,
            billingAccount=account_ref(request, account) if account else None,
            relatedParty=[
                {
                    "id": str(account.customer_id),
                    "name": account.customer.name,
                    "role": "customer",
                    "@referredType": "Customer",
                }
            ]
            if account
            else [],
            product=product_ref(request, case.product) if case.product else None,
            service=reference(
                request, case.service, "inventory-api:service-detail", "Service", None
            )
            if case.service
            else None,
            element=case.element or None,
            serviceRef=case.service_ref or None,
            usageDate=case.day.isoformat() if case.day else None,
            ratingGroup=case.rating_group or None,
            amountAtRisk=self.money(case.amount_at_risk, case.currency),
            score=case.score,
            evidence=case.evidence,
            owner=case.owner.get_username() if case.owner else None,
            firstSeen=_iso(case.first_seen),
            lastSeen=_iso(case.last_seen),
            closedAt=_iso(case.closed_at),
            reconciliationRunId=str(case.last_run_id) if case.last_run_id else None,
            action=[code for code, each in CASE_ACTIONS.items() if case.kind in each.kinds],
        )
        if self.context.get("with_events"):
            body["event"] = [event_body(event) for event in case.events.all()]
        return body


class CaseNoteSerializer(serializers.Serializer):
    text = serializers.CharField(max_length=2000)


class CaseActionSerializer(serializers.Serializer):
    action = serializers.ChoiceField(choices=sorted(CASE_ACTIONS))


class RevenueCaseViewSet(TMFPatchMixin, TMFViewSet):
    """Revenue-assurance and fraud cases: read, move, assign, note, act."""

    serializer_class = RevenueCaseSerializer
    read_roles = (FINANCE, RISK)
    write_roles = (FINANCE, RISK)
    patchable_fields = ("state", "note", "owner")
    filter_attributes = {
        "kind": "kind",
        "state": "state",
        "owner": "owner__username",
        "origin": lambda queryset, raw: _filter_origin(queryset, raw),
        "billingAccount.id": "billing_account_id",
        "product.id": "product_id",
        "service.id": "service_id",
        "element": "element",
    }

    def get_queryset(self):
        if self.action == "list":
            return revenue_selectors.case_list()
        return revenue_selectors.case_with_events()

    def get_serializer_context(self):
        return {**super().get_serializer_context(), "with_events": self.action != "list"}

    def perform_tmf_patch(self, case, serializer):
        data = serializer.validated_data
        by = self.request.user.get_username()
        # Owner and state together, or neither.
        with transaction.atomic():
            if "owner" in data:
                case = cases.case_assign(case, data["owner"], by=by)
            if "state" in data and data["state"] != case.state:
                case = cases.case_set_state(case, data["state"], by=by, note=data.get("note", ""))
        return case

    @extend_schema(request=CaseNoteSerializer, responses={201: dict})
    @action(detail=True, methods=["post"])
    def note(self, request, pk=None):
        """Add a note to the case's history: 201 with the event."""
        case = self.get_object()
        incoming = CaseNoteSerializer(data=request.data)
        incoming.is_valid(raise_exception=True)
        event = cases.case_note(case, incoming.validated_data["text"], by=request.user.username)
        return Response(event_body(event), status=status.HTTP_201_CREATED)

    @extend_schema(request=CaseActionSerializer, responses={200: RevenueCaseSerializer})
    @action(detail=True, methods=["post"], url_path="action")
    def take_action(self, request, pk=None):
        """Take an action the case's kind offers (its service checks it applies now): 200 with
        the case as it is after it."""
        case = self.get_object()
        incoming = CaseActionSerializer(data=request.data)
        incoming.is_valid(raise_exception=True)
        case_act(case, incoming.validated_data["action"], by=request.user.get_username())
        case = self.get_queryset().get(pk=case.pk)
        return Response(self.get_serializer(case).data)


def _filter_origin(queryset, raw: str):
    if raw not in (FRAUD, RECONCILIATION):
        raise serializers.ValidationError({"origin": ["Must be fraud or reconciliation."]})
    if raw == FRAUD:
        return queryset.filter(kind__in=FRAUD_CASE_KINDS)
    return queryset.exclude(kind__in=FRAUD_CASE_KINDS)


case_router = TMFRouter()
case_router.register("case", RevenueCaseViewSet, basename="revenueCase")
