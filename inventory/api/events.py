"""Inventory's TMF637, TMF638 and TMF639 events (see telco.events)."""

from inventory.api.views import ProductViewSet, ResourceViewSet, ServiceViewSet
from inventory.models import ProductInstance, Resource, Service
from telco.events.registry import EventResource, register_resource

register_resource(EventResource("product", ProductInstance, ProductViewSet, state_field="status"))
register_resource(EventResource("service", Service, ServiceViewSet))
# A resource has no state of its own in this inventory: every update is an attribute change.
register_resource(EventResource("resource", Resource, ResourceViewSet, state_field=None))
