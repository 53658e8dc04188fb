from django.urls import include, path

from assurance.api.sla import ServiceLevelSpecificationViewSet, SlaReportView
from assurance.api.views import AckAlarmsViewSet, AlarmViewSet, ClearAlarmsViewSet
from telco.api.views import TMFRouter

app_name = "assurance-api"

router = TMFRouter()
router.register("alarm", AlarmViewSet, basename="alarm")
router.register("ackAlarms", AckAlarmsViewSet, basename="ackAlarms")
router.register("clearAlarms", ClearAlarmsViewSet, basename="clearAlarms")

# The spec's own basePath answers too; its routes carry a prefix so that reverse() and every
# href keep naming the first mount.
spec_router = TMFRouter()
spec_router.register("alarm", AlarmViewSet, basename="spec-alarm")
spec_router.register("ackAlarms", AckAlarmsViewSet, basename="spec-ackAlarms")
spec_router.register("clearAlarms", ClearAlarmsViewSet, basename="spec-clearAlarms")

urlpatterns = [
    path("tmf-api/alarmManagement/v4/", include(router.urls)),
    path("tmf-api/alarm/v4/", include(spec_router.urls)),
]

# TMF657 Service Quality Management: the SLA terms of the offerings (read-only); and the SLA
# report of a customer, month by month.
service_quality = TMFRouter()
service_quality.register(
    "serviceLevelSpecification",
    ServiceLevelSpecificationViewSet,
    basename="serviceLevelSpecification",
)
urlpatterns += [
    path("tmf-api/serviceQualityManagement/v4/", include(service_quality.urls)),
    path(
        "api/v1/assurance/customer/<int:pk>/slaReport",
        SlaReportView.as_view(),
        name="customer-sla-report",
    ),
]

# TMF656 Service Problem Management: incidents (one per fault, with root cause and impact), the
# problemAcknowledgement task, and the maintenance windows that keep planned work quiet.
from assurance.api.incident_views import (  # noqa: E402
    MaintenanceWindowViewSet,
    ProblemAcknowledgementView,
    ServiceProblemViewSet,
)

service_problem = TMFRouter()
service_problem.register("serviceProblem", ServiceProblemViewSet, basename="serviceProblem")
service_problem.register(
    "maintenanceWindow", MaintenanceWindowViewSet, basename="maintenanceWindow"
)
urlpatterns += [
    path("tmf-api/serviceProblemManagement/v4/", include(service_problem.urls)),
    path(
        "tmf-api/serviceProblemManagement/v4/problemAcknowledgement",
        ProblemAcknowledgementView.as_view(),
        name="problemAcknowledgement",
    ),
]

# KPI samples from element managers and collectors (a JSON array or CSV, one batch).
from assurance.api.kpis import KpiSampleIngestView  # noqa: E402

urlpatterns += [
    path("api/v1/assurance/kpiSample", KpiSampleIngestView.as_view(), name="kpiSample"),
]
