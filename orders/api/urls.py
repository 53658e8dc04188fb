from django.urls import include, path

from orders.api import views
from telco.api.views import TMFRouter

app_name = "orders-api"

product_order_router = TMFRouter()
product_order_router.register("productOrder", views.ProductOrderViewSet, basename="productOrder")
service_order_router = TMFRouter()
service_order_router.register("serviceOrder", views.ServiceOrderViewSet, basename="serviceOrder")

urlpatterns = [
    path("tmf-api/productOrderingManagement/v4/", include(product_order_router.urls)),
    path("tmf-api/serviceOrdering/v4/", include(service_order_router.urls)),
]
