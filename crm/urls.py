from django.urls import path

from crm import views
from crm.portal_queries import PORTAL_ROUTES
from telco.panels import lookups_for

app_name = "crm"
urlpatterns = [
    path("", views.portal_search, name="portal-search"),
    path("search/", views.portal_search_results, name="portal-search-results"),
    path("customers/<int:pk>/", views.customer_detail, name="customer-detail"),
    path("customers/<int:pk>/products/", views.customer_products, name="customer-products"),
    path(
        "customers/<int:pk>/interactions/",
        views.interaction_create,
        name="interaction-create",
    ),
    path("customers/<int:pk>/tickets/new/", views.ticket_new, name="ticket-new"),
    path("tickets/", views.ticket_list, name="ticket-list"),
    path("tickets/<int:pk>/", views.ticket_detail, name="ticket-detail"),
    path("tickets/<int:pk>/notes/", views.ticket_note, name="ticket-note"),
    path("tickets/<int:pk>/status/", views.ticket_status, name="ticket-status"),
    # Other apps' portal pages (billing's invoice, /portal/bills/<id>/), by registration.
    *[pattern for routes in lookups_for(PORTAL_ROUTES) for pattern in routes()],
]
