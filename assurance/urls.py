from django.urls import path

from assurance import sla_views, views

app_name = "assurance"
urlpatterns = [
    path("", views.noc_dashboard, name="noc-dashboard"),
    path("live/incidents/", views.noc_incidents_block, name="noc-incidents-block"),
    path("live/alarms/", views.noc_alarms_block, name="noc-alarms-block"),
    path("incidents/<int:pk>/", views.incident_detail, name="incident-detail"),
    path(
        "incidents/<int:pk>/acknowledge/",
        views.incident_acknowledge,
        name="incident-acknowledge",
    ),
    path("incidents/<int:pk>/assign/", views.incident_assign, name="incident-assign"),
    path("incidents/<int:pk>/comment/", views.incident_comment, name="incident-comment"),
    path("incidents/<int:pk>/eta/", views.incident_set_eta, name="incident-set-eta"),
    path("alarms/<int:pk>/", views.alarm_detail, name="alarm-detail"),
    path("alarms/<int:pk>/acknowledge/", views.alarm_acknowledge, name="alarm-acknowledge"),
    path("alarms/<int:pk>/clear/", views.alarm_clear, name="alarm-clear"),
]

# The SLA report of a customer (agents, NOC, finance): month by month, target vs achieved.
urlpatterns += [
    path("customers/<int:pk>/sla/", sla_views.customer_sla_report, name="customer-sla-report"),
]
