"""Fault and performance management: alarms, incidents, maintenance windows."""

from assurance.models.alarms import Alarm, AlarmStateChange, AlarmTask
from assurance.models.incidents import Incident, IncidentService, IncidentStateChange
from assurance.models.kpis import (  # noqa: F401 - performance management
    KpiBreach,
    KpiMetric,
    KpiRollup,
    KpiSample,
    KpiSeries,
    KpiThreshold,
    KpiThresholdState,
)
from assurance.models.maintenance import MaintenanceWindow
from assurance.models.notices import IncidentNotice  # noqa: F401 - customer notices

__all__ = [
    "Alarm",
    "AlarmStateChange",
    "AlarmTask",
    "Incident",
    "IncidentService",
    "IncidentStateChange",
    "MaintenanceWindow",
]
