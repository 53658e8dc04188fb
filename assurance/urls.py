from django.urls import path

from assurance import views

app_name = "assurance"
urlpatterns = [
    path("", views.noc_dashboard, name="noc-dashboard"),
    path("alarms/<int:pk>/", views.alarm_detail, name="alarm-detail"),
    path("alarms/<int:pk>/acknowledge/", views.alarm_acknowledge, name="alarm-acknowledge"),
    path("alarms/<int:pk>/clear/", views.alarm_clear, name="alarm-clear"),
]
