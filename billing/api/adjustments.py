"""Money owed, on the API: credit notes (TMF678 has no such resource: /api/v1/billing/creditNote,
shaped like a customerBill of category creditNote), TMF676 refund, payment reversals and
dunning cases (/api/v1/billing/...)."""

from django.db.models import Prefetch
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.decorators import action
from rest_framework.response import Response

from billing import services
from billing.api.serializers import account_ref, customer_party
from billing.choices import CreditNoteReason
from billing.models import (
    CreditNote,
    CreditNoteAllocation,
    DunningAction,
    DunningCase,
    PaymentReversal,
    Refund,
)
from billing.services.dunning import cases_with_latest_step
from telco.api.serializers import MoneySerializer, RefSerializer, TMFSerializer, reference
from telco.api.views import TMFCreateMixin, TMFViewSet
from telco.ids import parse_id
from telco.money import as_tmf_money
from telco.roles import ADMIN, AGENT, FINANCE, has_role

BILL_URL = "billing-api:customerBill-detail"


def _bill_ref(request, bill) -> dict:
    return reference(request, bill, BILL_URL, "CustomerBill", bill.bill_no)


def _id(value: dict, field: str) -> int:
    pk = parse_id(value["id"])
    if pk is None:
        raise serializers.ValidationError({field: [f"'{value['id']}' is not an id."]})
    return pk


class CreditNoteSerializer(TMFSerializer):
    """A credit note: `bill` (and optionally `appliedCustomerBillingRate`, one of its lines),
    `amount` (tax included), `reason`; `state` pendingApproval above the approval limit, else
    approved. Read as a customerBill of category creditNote: amounts are negative."""

    tmf_type = "CreditNote"
    url_name = "billing-api:creditNote-detail"

    bill = RefSerializer(write_only=True)
    appliedCustomerBillingRate = RefSerializer(write_only=True, required=False)
    amount = MoneySerializer(write_only=True)
    reason = serializers.ChoiceField(choices=CreditNoteReason.choices)
    description = serializers.CharField(required=False, allow_blank=True, max_length=300)

    class Meta:
        model = CreditNote
        fields = ["bill", "appliedCustomerBillingRate", "amount", "reason", "description"]

    def validate(self, attrs):
        amount = attrs.pop("amount")
        attrs["bill_id"] = _id(attrs.pop("bill"), "bill.id")
        line = attrs.pop("appliedCustomerBillingRate", None)
        attrs["line_id"] = _id(line, "appliedCustomerBillingRate.id") if line else None
        attrs["amount"] = amount["value"]
        attrs["currency"] = amount["unit"]
        return attrs

    def to_representation(self, note):
        body = super().to_representation(note)
        request, currency = self.request, note.currency
        net = note.amount - note.tax_amount
        body.update(
            billNo=note.number,
            category="creditNote",
            state=note.state,
            billingAccount=account_ref(request, note.billing_account),
            relatedParty=customer_party(request, note.billing_account),
            bill=_bill_ref(request, note.bill),
            appliedCustomerBillingRate=reference(
                request,
                note.line,
                "billing-api:appliedCustomerBillingRate-detail",
                "AppliedCustomerBillingRate",
                note.line.name if note.line else None,
            ),
            amountDue=as_tmf_money(-note.amount, currency),
            taxIncludedAmount=as_tmf_money(-note.amount, currency),
            taxExcludedAmount=as_tmf_money(-net, currency),
            taxAmount=as_tmf_money(-note.tax_amount, currency),
            unallocatedAmount=as_tmf_money(note.unallocated_amount, currency),
            createdBy=note.created_by,
            billDate=note.created_at.isoformat(),
            decidedBy=note.decided_by,
            decisionDate=note.decided_at.isoformat() if note.decided_at else None,
            decisionNote=note.decision_note,
            allocation=[
                {"amount": as_tmf_money(a.amount, currency), "bill": _bill_ref(request, a.bill)}
                for a in note.allocations.all()
            ],
        )
        return body


class DecisionSerializer(serializers.Serializer):
    note = serializers.CharField(required=False, allow_blank=True, max_length=300)


class CreditNoteViewSet(TMFCreateMixin, TMFViewSet):
    """Credit notes: finance issues; another finance user (or an admin) approves or rejects
    one above the approval limit (POST .../{id}/approve, .../{id}/reject)."""

    serializer_class = CreditNoteSerializer
    read_roles = (AGENT, FINANCE)
    write_roles = (FINANCE,)
    filter_attributes = {
        "state": "state",
        "reason": "reason",
        "bill.id": "bill_id",
        "billingAccount.id": "billing_account_id",
    }

    def get_queryset(self):
        allocations = CreditNoteAllocation.objects.select_related("bill").order_by("id")
        return (
            CreditNote.objects.select_related("bill", "line", "billing_account__customer")
            .prefetch_related(Prefetch("allocations", queryset=allocations))
            .order_by("id")
        )

    def perform_tmf_create(self, serializer):
        return services.credit_note_issue(
            **serializer.validated_data, by=self.request.user.get_username()
        )

    def _decide(self, request, decide):
        note = self.get_object()
        decision = DecisionSerializer(data=request.data)
        decision.is_valid(raise_exception=True)
        decide(
            credit_note_id=note.pk,
            by=request.user.get_username(),
            by_admin=has_role(request.user, ADMIN),
            note=decision.validated_data.get("note", ""),
        )
        return Response(self.get_serializer(self.get_queryset().get(pk=note.pk)).data)

    @extend_schema(request=DecisionSerializer, responses=CreditNoteSerializer)
    @action(detail=True, methods=["post"])
    def approve(self, request, pk=None):
        return self._decide(request, services.credit_note_approve)

    @extend_schema(request=DecisionSerializer, responses=CreditNoteSerializer)
    @action(detail=True, methods=["post"])
    def reject(self, request, pk=None):
        return self._decide(request, services.credit_note_reject)


class RefundSerializer(TMFSerializer):
    """TMF676 Refund. Input: account.id, amount, reason (TMF: `description` too), optional
    payment.id (refund of that payment; without: of the account's credit), correlatorId."""

    tmf_type = "Refund"
    url_name = "billing-api:refund-detail"

    account = RefSerializer(write_only=True)
    payment = RefSerializer(write_only=True, required=False)
    amount = MoneySerializer(write_only=True)
    reason = serializers.CharField(max_length=300)
    correlatorId = serializers.CharField(
        source="reference", required=False, allow_blank=True, max_length=80
    )

    class Meta:
        model = Refund
        fields = ["account", "payment", "amount", "reason", "correlatorId"]

    def validate(self, attrs):
        amount = attrs.pop("amount")
        attrs["billing_account_id"] = _id(attrs.pop("account"), "account.id")
        payment = attrs.pop("payment", None)
        attrs["payment_id"] = _id(payment, "payment.id") if payment else None
        attrs["amount"], attrs["currency"] = amount["value"], amount["unit"]
        return attrs

    def to_representation(self, refund):
        body = super().to_representation(refund)
        request, currency = self.request, refund.currency
        body.update(
            name=f"Refund {refund.pk}",
            refundDate=refund.refund_date.isoformat(),
            status="done",
            account=account_ref(request, refund.billing_account),
            amount=as_tmf_money(refund.amount, currency),
            totalAmount=as_tmf_money(refund.amount, currency),
            payment=reference(request, refund.payment, "billing-api:payment-detail", "Payment"),
            description=refund.reason,
            reopenedBill=refund.reopened,
            createdBy=refund.created_by,
        )
        return body


class RefundViewSet(TMFCreateMixin, TMFViewSet):
    """Refunds: the same correlatorId on the same account again answers 200."""

    serializer_class = RefundSerializer
    read_roles = (AGENT, FINANCE)
    write_roles = (FINANCE,)
    filter_attributes = {"account.id": "billing_account_id", "payment.id": "payment_id"}

    def get_queryset(self):
        return Refund.objects.select_related("billing_account", "payment").order_by("id")

    def perform_tmf_create(self, serializer):
        refund, self.created = services.refund_create(
            **serializer.validated_data, by=self.request.user.get_username()
        )
        return refund


class PaymentReversalSerializer(TMFSerializer):
    """A bounced payment: `payment.id` and `reason`; answers the bills re-opened."""

    tmf_type = "PaymentReversal"
    url_name = "billing-api:paymentReversal-detail"

    payment = RefSerializer(write_only=True)
    reason = serializers.CharField(max_length=300)

    class Meta:
        model = PaymentReversal
        fields = ["payment", "reason"]

    def validate(self, attrs):
        attrs["payment_id"] = _id(attrs.pop("payment"), "payment.id")
        return attrs

    def to_representation(self, reversal):
        body = super().to_representation(reversal)
        body.update(
            payment=reference(
                self.request, reversal.payment, "billing-api:payment-detail", "Payment"
            ),
            reversalDate=reversal.reversed_at.isoformat(),
            reopenedBill=reversal.reopened,
            createdBy=reversal.created_by,
        )
        return body


class PaymentReversalViewSet(TMFCreateMixin, TMFViewSet):
    serializer_class = PaymentReversalSerializer
    read_roles = (AGENT, FINANCE)
    write_roles = (FINANCE,)
    filter_attributes = {"payment.id": "payment_id"}

    def get_queryset(self):
        return PaymentReversal.objects.select_related("payment").order_by("id")

    def perform_tmf_create(self, serializer):
        return services.payment_reverse(
            **serializer.validated_data, by=self.request.user.get_username()
        )


class DunningCaseSerializer(TMFSerializer):
    tmf_type = "DunningCase"
    url_name = "billing-api:dunningCase-detail"

    class Meta:
        model = DunningCase
        fields = []

    def to_representation(self, case):
        body = super().to_representation(case)
        bill = case.bill
        body.update(
            bill=_bill_ref(self.request, bill),
            billingAccount=account_ref(self.request, case.billing_account),
            policy=case.policy.name,
            step=case.latest_action,
            state="open" if case.is_open else "closed",
            closeReason=case.close_reason,
            remainingAmount=as_tmf_money(bill.remaining_amount, bill.currency),
            referenceDate=case.reference_date.isoformat(),
            openedAt=case.opened_at.isoformat(),
            closedAt=case.closed_at.isoformat() if case.closed_at else None,
            resumeOrderId=case.resume_order_id,
            resumeError=case.resume_error,
            action=[
                {
                    "action": a.action,
                    "state": a.state,
                    "date": a.created_at.isoformat(),
                    "detail": a.detail,
                    "productOrderId": a.order_id,
                }
                for a in case.actions.all()
            ],
        )
        return body


def _filter_open(queryset, raw: str):
    if raw not in ("open", "closed"):
        raise serializers.ValidationError({"state": ["Must be open or closed."]})
    return queryset.filter(closed_at__isnull=raw == "open")


def _filter_step(queryset, raw: str):
    return queryset.filter(latest_action__in=[value.strip() for value in raw.split(",")])


class DunningCaseViewSet(TMFViewSet):
    """Bills in dunning (read only): ?state=open|closed, ?step=reminder|suspend|..."""

    serializer_class = DunningCaseSerializer
    read_roles = (AGENT, FINANCE)
    filter_attributes = {
        "state": _filter_open,
        "step": _filter_step,
        "bill.id": "bill_id",
        "billingAccount.id": "billing_account_id",
    }

    def get_queryset(self):
        return (
            cases_with_latest_step(DunningCase.objects.all())
            .select_related("bill", "billing_account", "policy")
            .prefetch_related(Prefetch("actions", queryset=DunningAction.objects.order_by("id")))
            .order_by("id")
        )
