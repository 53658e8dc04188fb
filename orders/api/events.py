"""The orders' TMF622 and TMF641 events (see telco.events): every change of an order's row."""

from orders.api.views import CancelProductOrderViewSet, ProductOrderViewSet, ServiceOrderViewSet
from orders.models import CancelProductOrder, ProductOrder, ServiceOrder
from telco.events.registry import EventResource, register_resource

register_resource(EventResource("productOrder", ProductOrder, ProductOrderViewSet))
register_resource(
    EventResource("cancelProductOrder", CancelProductOrder, CancelProductOrderViewSet)
)
register_resource(EventResource("serviceOrder", ServiceOrder, ServiceOrderViewSet))
