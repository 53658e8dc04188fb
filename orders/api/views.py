"""TMF622 product ordering, TMF641 service ordering, and the NOC's retry / fail actions."""

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from orders import selectors, services
from orders.api.serializers import (
    CancelProductOrderInput,
    CancelProductOrderSerializer,
    CancelServiceOrderInput,
    CancelServiceOrderSerializer,
    ProductOrderInput,
    ProductOrderSerializer,
    ServiceOrderInput,
    ServiceOrderSerializer,
)
from telco.api.views import TMFCreateMixin, TMFViewSet
from telco.roles import AGENT, FINANCE, NOC


class InputOutputMixin:
    """POST bodies are parsed by `input_serializer_class`; answers use `serializer_class`."""

    input_serializer_class = None

    def get_serializer(self, *args, **kwargs):
        if self.action == "create" and "data" in kwargs:
            return self.input_serializer_class(data=kwargs["data"])
        return super().get_serializer(*args, **kwargs)


class ProductOrderViewSet(InputOutputMixin, TMFCreateMixin, TMFViewSet):
    """TMF622 `/productOrder`: agents capture orders; NOC and finance follow them."""

    queryset = selectors.product_order_list()
    serializer_class = ProductOrderSerializer
    input_serializer_class = ProductOrderInput
    read_roles = (AGENT, NOC, FINANCE)
    write_roles = (AGENT,)
    filter_attributes = {
        "state": "state",
        "orderDate": "order_date",
        "completionDate": "completion_date",
        "externalId": "external_id",
        "relatedParty.id": "customer_id",
        "billingAccount.id": "billing_account_id",
        "productOrderItem.state": "items__state",
    }

    def perform_tmf_create(self, serializer):
        return services.product_order_submit(
            **serializer.to_service_arguments(), by=self.request.user.get_username()
        )


class ServiceOrderViewSet(InputOutputMixin, TMFCreateMixin, TMFViewSet):
    """TMF641 `/serviceOrder`: the NOC and other systems order services from the network."""

    queryset = selectors.service_order_list()
    serializer_class = ServiceOrderSerializer
    input_serializer_class = ServiceOrderInput
    read_roles = (NOC, AGENT)
    write_roles = (NOC,)
    filter_attributes = {
        "state": "state",
        "orderDate": "order_date",
        "completionDate": "completion_date",
        "externalId": "external_id",
        "serviceOrderItem.state": "items__state",
    }

    def perform_tmf_create(self, serializer):
        return services.service_order_submit(**serializer.to_service_arguments())


class CancelProductOrderViewSet(InputOutputMixin, TMFCreateMixin, TMFViewSet):
    """TMF622 `/cancelProductOrder`: agents withdraw orders; a refusal is a terminated task."""

    queryset = selectors.cancel_product_order_list()
    serializer_class = CancelProductOrderSerializer
    input_serializer_class = CancelProductOrderInput
    read_roles = (AGENT, NOC, FINANCE)
    write_roles = (AGENT,)
    filter_attributes = {"state": "state", "productOrder.id": "order_id"}

    def perform_tmf_create(self, serializer):
        return services.product_order_cancel(
            **serializer.to_service_arguments(), by=self.request.user.get_username()
        )


class CancelServiceOrderViewSet(InputOutputMixin, TMFCreateMixin, TMFViewSet):
    """TMF641 `/cancelServiceOrder`: the NOC withdraws service orders it sent directly."""

    queryset = selectors.cancel_service_order_list()
    serializer_class = CancelServiceOrderSerializer
    input_serializer_class = CancelServiceOrderInput
    read_roles = (NOC, AGENT)
    write_roles = (NOC,)
    filter_attributes = {"state": "state", "serviceOrder.id": "order_id"}

    def perform_tmf_create(self, serializer):
        return services.service_order_cancel(
            **serializer.to_service_arguments(), by=self.request.user.get_username()
        )


class FailInput(serializers.Serializer):
    reason = serializers.CharField(max_length=500)


class ServiceOrderActionViewSet(viewsets.GenericViewSet):
    """`/api/v1/orders/serviceOrder/{id}/retry|fail`: the NOC acts on held or stalled orders.

    Both answer 200 with the TMF641 ServiceOrder; 404 for an unknown order; 409 when the order
    is neither held nor stalled. NOC and admin only.
    """

    queryset = selectors.service_order_list()
    serializer_class = ServiceOrderSerializer
    read_roles = (NOC,)
    write_roles = (NOC,)
    lookup_value_regex = "[0-9]+"

    def _answer(self, order):
        order = selectors.service_order_list().get(pk=order.pk)
        return Response(self.get_serializer(order).data)

    @extend_schema(request=None, responses=ServiceOrderSerializer)
    @action(detail=True, methods=["post"])
    def retry(self, request, pk=None):
        order = services.service_order_retry(
            service_order_id=int(pk), by=request.user.get_username()
        )
        return self._answer(order)

    @extend_schema(request=FailInput, responses=ServiceOrderSerializer)
    @action(detail=True, methods=["post"])
    def fail(self, request, pk=None):
        body = FailInput(data=request.data)
        body.is_valid(raise_exception=True)
        order = services.service_order_fail(
            service_order_id=int(pk),
            by=request.user.get_username(),
            reason=body.validated_data["reason"],
        )
        return self._answer(order)
