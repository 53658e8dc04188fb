"""The catalog's TMF620 events (see telco.events): offerings, prices and specifications."""

from catalog.api.views import (
    ProductOfferingPriceViewSet,
    ProductOfferingViewSet,
    ProductSpecificationViewSet,
)
from catalog.models import ProductOffering, ProductOfferingPrice, ProductSpecification
from telco.events.registry import EventResource, register_resource

for name, model, viewset in (
    ("productOffering", ProductOffering, ProductOfferingViewSet),
    ("productOfferingPrice", ProductOfferingPrice, ProductOfferingPriceViewSet),
    ("productSpecification", ProductSpecification, ProductSpecificationViewSet),
):
    register_resource(EventResource(name, model, viewset, state_field="lifecycle_status"))
