"""Billing's TMF678, TMF676 and TMF635 events (see telco.events): bills, payments, usage.

Usage arrives in batches of set-based SQL; with no usage listener, its trigger writes nothing."""

from billing.api.views import CustomerBillViewSet, PaymentViewSet, UsageViewSet
from billing.models import CustomerBill, Payment, UsageEvent
from telco.events.registry import EventResource, register_resource

register_resource(EventResource("customerBill", CustomerBill, CustomerBillViewSet))
register_resource(EventResource("payment", Payment, PaymentViewSet))
register_resource(EventResource("usage", UsageEvent, UsageViewSet, state_field="status"))
