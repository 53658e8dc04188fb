"""Billing's pages of the agent portal. crm's portal URLs mount them (they are registered at
`crm.portal_queries.PORTAL_ROUTES`), so the names stay in the portal's namespace: the invoice
is /portal/bills/<id>/, "crm:bill-detail"."""

from django.urls import path

from billing import views

urlpatterns = [
    path("bills/<int:pk>/", views.bill_detail, name="bill-detail"),
    path("bills/<int:pk>/pdf/", views.bill_pdf, name="bill-pdf"),
]
