from django.urls import path

from telco.audit.api import AuditEventsView

urlpatterns = [path("api/v1/audit", AuditEventsView.as_view(), name="audit-events")]
