"""TMF635 Usage, TMF678 Customer Bill, and bill runs (/api/v1/billing/billRun)."""

from django.http import Http404
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status
from rest_framework.exceptions import ValidationError
from rest_framework.generics import GenericAPIView
from rest_framework.response import Response

from billing import selectors, services
from billing.api import usage_batch
from billing.api.schema import AppliedCustomerBillingRateAnswer, CustomerBillAnswer
from billing.api.serializers import (
    AppliedCustomerBillingRateSerializer,
    BillRunSerializer,
    CustomerBillOnDemandSerializer,
    CustomerBillSerializer,
    PaymentSerializer,
    UsageSerializer,
    UsageSpecificationSerializer,
)
from telco import clock
from telco.api.parsers import TMFJSONParser
from telco.api.views import TMFCreateMixin, TMFDeleteMixin, TMFPatchMixin, TMFViewSet
from telco.roles import AGENT, FINANCE, NOC


class UsageViewSet(TMFCreateMixin, TMFViewSet):
    """Usage from network mediation, stored always (`status` received or rejected, with the
    reason); the same eventId again answers 200 with the stored usage. A JSON array (or NDJSON)
    is a batch: see billing.api.usage_batch."""

    serializer_class = UsageSerializer
    parser_classes = [TMFJSONParser, usage_batch.NDJSONParser]
    # The network's feed: its own rate budget (settings.API_THROTTLE_RATES["ingest"]).
    throttle_scope = "ingest"
    read_roles = (AGENT, NOC, FINANCE)
    write_roles = (NOC,)
    filter_attributes = {
        "status": "status",
        "usageType": "usage_type",
        "usageDate": "usage_date",
        "usageSpecification.id": "usage_specification",
        "rejectionReason": "rejection_reason",
        "relatedParty.id": "billing_account__customer_id",
        "billingAccount.id": "billing_account_id",
        "product.id": "product_id",
    }

    def get_queryset(self):
        return selectors.usage_list()

    def perform_tmf_create(self, serializer):
        usage, self.created = services.usage_ingest(**serializer.validated_data)
        return usage

    def create(self, request, *args, **kwargs):
        return usage_batch.too_large(request) or super().create(request, *args, **kwargs)

    def _create(self, request):
        if isinstance(request.data, list):
            return usage_batch.batch_response(request, request.data)
        return super()._create(request)


class UsageSpecificationViewSet(TMFCreateMixin, TMFPatchMixin, TMFDeleteMixin, TMFViewSet):
    """What kinds of usage records there are; ids are slugs (`data-session`), not numbers."""

    serializer_class = UsageSpecificationSerializer
    read_roles = (AGENT, NOC, FINANCE)
    write_roles = (FINANCE,)
    patchable_fields = (
        "name",
        "description",
        "version",
        "lifecycleStatus",
        "validFor",
        "specCharacteristic",
    )
    filter_attributes = {
        "id": "id",
        "name": "name",
        "lifecycleStatus": "lifecycle_status",
        "version": "version",
    }

    def get_queryset(self):
        return selectors.usage_specification_list()

    def get_object(self):
        # Slug ids, not the integers the base expects; a NUL byte can name no row.
        if "\x00" in str(self.kwargs.get(self.lookup_field, "")):
            raise Http404
        return GenericAPIView.get_object(self)

    def perform_tmf_create(self, serializer):
        return services.usage_specification_create(**serializer.validated_data)

    def perform_tmf_patch(self, instance, serializer):
        return services.usage_specification_update(
            specification=instance, **serializer.validated_data
        )

    def perform_tmf_delete(self, instance):
        services.usage_specification_delete(specification=instance)


@extend_schema(responses=CustomerBillAnswer)
class CustomerBillViewSet(TMFPatchMixin, TMFViewSet):
    """Bills' amounts are immutable; finance moves their state (validated, sent, onHold)."""

    serializer_class = CustomerBillSerializer
    read_roles = (AGENT, FINANCE)
    write_roles = (FINANCE,)
    patchable_fields = ("state",)
    filter_attributes = {
        "billNo": "bill_no",
        "state": "state",
        "billDate": "bill_date",
        "paymentDueDate": "payment_due_date",
        "billingAccount.id": "billing_account_id",
        "relatedParty.id": "billing_account__customer_id",
        "billingPeriod.startDateTime": "period_start",
    }

    def get_queryset(self):
        return selectors.bill_list_with_payments()

    def perform_tmf_patch(self, instance, serializer):
        if "state" not in serializer.validated_data:
            return instance
        return services.customer_bill_set_state(
            bill=instance,
            state=serializer.validated_data["state"],
            by=self.request.user.get_username(),
        )


class CustomerBillOnDemandViewSet(TMFCreateMixin, TMFViewSet):
    """Bill an account now: 201 inProgress; a worker bills its ended periods, then the request
    is done (with the bill), rejected (nothing to bill) or terminatedWithError."""

    serializer_class = CustomerBillOnDemandSerializer
    read_roles = (AGENT, FINANCE)
    write_roles = (FINANCE,)
    filter_attributes = {
        "state": "state",
        "billingAccount.id": "billing_account_id",
        "customerBill.id": "customer_bill_id",
        "lastUpdate": "last_update",
    }

    def get_queryset(self):
        return selectors.bill_on_demand_list()

    def perform_tmf_create(self, serializer):
        return services.bill_on_demand_create(
            **serializer.validated_data, created_by=self.request.user.get_username()
        )


def _filter_is_billed(queryset, raw: str):
    """`?isBilled=true|false`: lines on a bill, or not (every line today is on an issued bill;
    rated usage not billed yet is no line)."""
    values = {value.strip().lower() for value in raw.split(",")}
    if not values or not values <= {"true", "false"}:
        raise ValidationError({"isBilled": ["Must be true or false."]})
    if values == {"true", "false"}:
        return queryset
    return queryset.filter(bill__isnull=values == {"false"})


@extend_schema(responses=AppliedCustomerBillingRateAnswer)
class AppliedCustomerBillingRateViewSet(TMFViewSet):
    serializer_class = AppliedCustomerBillingRateSerializer
    read_roles = (AGENT, FINANCE)
    filter_attributes = {
        "type": "charge_type",
        "date": "date",
        "bill.id": "bill_id",
        "billingAccount.id": "billing_account_id",
        "product.id": "product_id",
        "isBilled": _filter_is_billed,
    }

    def get_queryset(self):
        return selectors.applied_charge_list()


class BillRunViewSet(mixins.CreateModelMixin, TMFViewSet):
    """Bill runs with their progress; POST starts one on a Celery worker (202)."""

    serializer_class = BillRunSerializer
    read_roles = (FINANCE,)
    write_roles = (FINANCE,)
    filter_attributes = {"state": "state", "asOf": "as_of"}

    def get_queryset(self):
        return selectors.bill_run_list()

    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        bill_run = services.bill_run_enqueue(
            as_of=data.get("as_of") or clock.now().date(),
            billing_account_id=data.get("billing_account_id"),
        )
        body = self.get_serializer(bill_run).data
        location = request.build_absolute_uri(f"{request.path.rstrip('/')}/{bill_run.pk}")
        return Response(body, status=status.HTTP_202_ACCEPTED, headers={"Location": location})


class PaymentViewSet(TMFCreateMixin, TMFViewSet):
    """Payments, allocated to the account's bills oldest first; the rest is account credit.

    The same correlatorId on the same account again answers 200 with the stored payment.
    """

    serializer_class = PaymentSerializer
    read_roles = (AGENT, FINANCE)
    write_roles = (FINANCE,)
    filter_attributes = {
        "status": "state",
        "paymentDate": "payment_date",
        "correlatorId": "reference",
        "account.id": "billing_account_id",
        "payer.id": "billing_account__customer_id",
        "paymentMethod.id": "method",
    }

    def get_queryset(self):
        return selectors.payment_list()

    def perform_tmf_create(self, serializer):
        payment, self.created = services.payment_create(
            **serializer.validated_data, created_by=self.request.user.get_username()
        )
        return payment
