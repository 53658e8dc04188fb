"""The hub of every TMF API: one route for all base paths (the API is looked up by name)."""

from django.urls import re_path

from telco.events.hub import HubDetailView, HubView

urlpatterns = [
    re_path(r"^tmf-api/(?P<api>[A-Za-z0-9]+)/v4/hub/?$", HubView.as_view(), name="hub"),
    re_path(
        r"^tmf-api/(?P<api>[A-Za-z0-9]+)/v4/hub/(?P<pk>[^/]+)/?$",
        HubDetailView.as_view(),
        name="hub-detail",
    ),
]
