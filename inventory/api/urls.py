from django.urls import include, path

from inventory.api import views
from inventory.api.qualification import (
    CheckServiceQualificationViewSet,
    QueryServiceQualificationViewSet,
)
from telco.api.views import TMFRouter

app_name = "inventory-api"

product_router = TMFRouter()
product_router.register("product", views.ProductViewSet, basename="product")
service_router = TMFRouter()
service_router.register("service", views.ServiceViewSet, basename="service")
resource_router = TMFRouter()
resource_router.register("resource", views.ResourceViewSet, basename="resource")
qualification_router = TMFRouter()
qualification_router.register(
    "checkServiceQualification",
    CheckServiceQualificationViewSet,
    basename="checkServiceQualification",
)
qualification_router.register(
    "queryServiceQualification",
    QueryServiceQualificationViewSet,
    basename="queryServiceQualification",
)

urlpatterns = [
    path("tmf-api/productInventory/v4/", include(product_router.urls)),
    path("tmf-api/serviceInventory/v4/", include(service_router.urls)),
    path("tmf-api/resourceInventoryManagement/v4/", include(resource_router.urls)),
    path("tmf-api/serviceQualificationManagement/v4/", include(qualification_router.urls)),
    path(
        "api/v1/inventory/import/<str:kind>",
        views.NetworkImportView.as_view(),
        name="network-import",
    ),
]
