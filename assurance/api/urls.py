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
