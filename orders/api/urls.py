from django.urls import include, path

from orders.api import views
from telco.api.views import TMFRouter

app_name = "orders-api"

product_order_router = TMFRouter()
product_order_router.register("productOrder", views.ProductOrderViewSet, basename="productOrder")
product_order_router.register(
    "cancelProductOrder", views.CancelProductOrderViewSet, basename="cancelProductOrder"
)
service_order_router = TMFRouter()
service_order_router.register("serviceOrder", views.ServiceOrderViewSet, basename="serviceOrder")
service_order_router.register(
    "cancelServiceOrder", views.CancelServiceOrderViewSet, basename="cancelServiceOrder"
)

noc_router = TMFRouter()
noc_router.register("serviceOrder", views.ServiceOrderActionViewSet, basename="serviceOrderAction")

urlpatterns = [
    path("tmf-api/productOrderingManagement/v4/", include(product_order_router.urls)),
    path("tmf-api/serviceOrdering/v4/", include(service_order_router.urls)),
    path("api/v1/orders/", include(noc_router.urls)),
]
