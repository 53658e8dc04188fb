from django.urls import path

from orders.views import noc

app_name = "orders_noc"
urlpatterns = [
    path("", noc.activation_queue, name="queue"),
    path("table/", noc.activation_queue_table, name="queue-table"),
    path("<int:pk>/", noc.service_order_detail, name="order-detail"),
    path("<int:pk>/retry/", noc.service_order_retry, name="order-retry"),
    path("<int:pk>/fail/", noc.service_order_fail, name="order-fail"),
]
