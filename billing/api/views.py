"""TMF635 Usage, TMF678 Customer Bill, and bill runs (/api/v1/billing/billRun)."""

from rest_framework import mixins, status
from rest_framework.response import Response

from billing import selectors, services
from billing.api.serializers import (
    AppliedCustomerBillingRateSerializer,
    BillRunSerializer,
    CustomerBillSerializer,
    PaymentSerializer,
    UsageSerializer,
)
from telco import clock
from telco.api.views import TMFCreateMixin, TMFViewSet
from telco.roles import AGENT, FINANCE, NOC


class UsageViewSet(TMFCreateMixin, TMFViewSet):
    """Usage from network mediation; the same eventId again answers 200 with the stored usage."""

    serializer_class = UsageSerializer
    read_roles = (AGENT, NOC, FINANCE)
    write_roles = (NOC,)
    filter_attributes = {
        "status": "status",
        "usageType": "usage_type",
        "usageDate": "usage_date",
        "usageSpecification.id": "usage_specification_id",
        "relatedParty.id": "billing_account__customer_id",
        "billingAccount.id": "billing_account_id",
        "product.id": "product_id",
    }

    def get_queryset(self):
        return selectors.usage_list()

    def perform_tmf_create(self, serializer):
        usage, self.created = services.usage_ingest(**serializer.validated_data)
        return usage


class CustomerBillViewSet(TMFViewSet):
    """Bills are immutable: read only."""

    serializer_class = CustomerBillSerializer
    read_roles = (AGENT, FINANCE)
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


class AppliedCustomerBillingRateViewSet(TMFViewSet):
    serializer_class = AppliedCustomerBillingRateSerializer
    read_roles = (AGENT, FINANCE)
    filter_attributes = {
        "type": "charge_type",
        "date": "date",
        "bill.id": "bill_id",
        "billingAccount.id": "billing_account_id",
        "product.id": "product_id",
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
