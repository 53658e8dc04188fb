from django.urls import path

from assurance import sla_views, views

app_name = "assurance"
urlpatterns = [
    path("", views.noc_dashboard, name="noc-dashboard"),
    path("alarms/<int:pk>/", views.alarm_detail, name="alarm-detail"),
    path("alarms/<int:pk>/acknowledge/", views.alarm_acknowledge, name="alarm-acknowledge"),
    path("alarms/<int:pk>/clear/", views.alarm_clear, name="alarm-clear"),
]

# The SLA report of a customer (agents, NOC, finance): month by month, target vs achieved.
urlpatterns += [
    path("customers/<int:pk>/sla/", sla_views.customer_sla_report, name="customer-sla-report"),
]
