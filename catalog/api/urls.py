from django.urls import include, path

from catalog.api import views
from telco.api.views import TMFRouter

app_name = "catalog-api"

product_catalog = TMFRouter()
product_catalog.register(
    "productSpecification", views.ProductSpecificationViewSet, basename="productSpecification"
)
product_catalog.register(
    "productOffering", views.ProductOfferingViewSet, basename="productOffering"
)
product_catalog.register(
    "productOfferingPrice", views.ProductOfferingPriceViewSet, basename="productOfferingPrice"
)
product_catalog.register("category", views.CategoryViewSet, basename="category")
product_catalog.register("catalog", views.CatalogViewSet, basename="catalog")

service_catalog = TMFRouter()
service_catalog.register(
    "serviceSpecification", views.ServiceSpecificationViewSet, basename="serviceSpecification"
)

resource_catalog = TMFRouter()
resource_catalog.register(
    "resourceSpecification", views.ResourceSpecificationViewSet, basename="resourceSpecification"
)

urlpatterns = [
    path("tmf-api/productCatalogManagement/v4/", include(product_catalog.urls)),
    path("tmf-api/serviceCatalogManagement/v4/", include(service_catalog.urls)),
    path("tmf-api/resourceCatalogManagement/v4/", include(resource_catalog.urls)),
]
