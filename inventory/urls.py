from django.urls import path

from inventory import views

app_name = "inventory"
urlpatterns = [
    path("", views.inventory_index, name="index"),
    path("sites/<int:pk>/", views.site_detail, name="site-detail"),
    path("equipment/<int:pk>/", views.equipment_detail, name="equipment-detail"),
    path("links/<int:pk>/", views.link_detail, name="link-detail"),
    path("cables/<int:pk>/", views.cable_detail, name="cable-detail"),
    path("services/<int:pk>/", views.service_detail, name="service-detail"),
    path("services/<int:pk>/config/", views.service_element_config, name="service-config"),
    path("impact/", views.resource_impact, name="impact"),
    path("impact/<int:pk>/", views.resource_impact, name="resource-impact"),
]
