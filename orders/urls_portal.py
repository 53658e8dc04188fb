from django.urls import path

from orders.views import portal

app_name = "orders_portal"
urlpatterns = [
    path("new/", portal.order_new, name="order-new"),
    path("new/offering/", portal.offering_configuration, name="offering-configuration"),
    path("new/feasibility/", portal.order_feasibility, name="order-feasibility"),
    path("<int:pk>/", portal.order_detail, name="order-detail"),
    path("<int:pk>/progress/", portal.order_progress, name="order-progress"),
    path("products/<int:pk>/<slug:action>/", portal.product_action, name="product-action"),
]
