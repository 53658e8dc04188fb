from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from telco import views
from telco.api.clock_views import TestClockResetView, TestClockView
from telco.api.token_views import TokenView
from telco.ops import views as ops_views

urlpatterns = [
    path("", views.home, name="home"),
    path("accounts/login/", views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("admin/", admin.site.urls),
    # Operations: Prometheus scrape (NOC, admin or METRICS_TOKEN) and the load balancer's check.
    path("metrics", ops_views.metrics, name="metrics"),
    path("health", ops_views.health, name="health"),
    path("api/v1/auth/token", TokenView.as_view(), name="api-token"),
    path("api/v1/testClock", TestClockView.as_view(), name="test-clock"),
    path("api/v1/testClock/reset", TestClockResetView.as_view(), name="test-clock-reset"),
    # The audit trail (audit app): who changed what, when, from where.
    path("", include("telco.audit.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="schema"), name="api-docs"),
    path("portal/orders/", include("orders.urls_portal")),
    path("portal/", include("crm.urls")),
    path("noc/activation/", include("orders.urls_noc")),
    path("noc/inventory/", include("inventory.urls")),
    path("noc/", include("assurance.urls")),
    path("finance/", include("billing.urls_finance")),
    # The /hub of every TMF API (telco.events): before the APIs, one route for all of them.
    path("", include("telco.events.urls")),
    # TM Forum APIs, each app under its own /tmf-api/<apiName>/v4/ base paths.
    path("", include("catalog.api.urls")),
    path("", include("crm.api.urls")),
    path("", include("inventory.api.urls")),
    path("", include("billing.api.urls")),
    path("", include("orders.api.urls")),
    path("", include("assurance.api.urls")),
]
