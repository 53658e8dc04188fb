"""Writes of fault management (alarms: raise, update, acknowledge, comment, clear, tasks) and
the network's bulk feed (ingest: many alarms at once, flapping)."""

from assurance.services.alarms import (
    KEY_ATTRIBUTES,
    PATTERN_ATTRIBUTES,
    UPDATABLE_ATTRIBUTES,
    UPSERT_SQL,
    alarm_acknowledge,
    alarm_clear,
    alarm_comment,
    alarm_patch,
    alarm_raise,
    alarm_task_acknowledge,
    alarm_task_clear,
    alarm_unacknowledge,
    alarm_update,
    alarms_correlate,
    alarms_matching,
    reduction_key,
)
from assurance.services.ingest import (
    AlarmReport,
    IngestResult,
    alarms_ingest,
    alarms_record_impact,
)

__all__ = [
    "KEY_ATTRIBUTES",
    "PATTERN_ATTRIBUTES",
    "UPDATABLE_ATTRIBUTES",
    "UPSERT_SQL",
    "AlarmReport",
    "IngestResult",
    "alarm_acknowledge",
    "alarm_clear",
    "alarm_comment",
    "alarm_patch",
    "alarm_raise",
    "alarm_task_acknowledge",
    "alarm_task_clear",
    "alarm_unacknowledge",
    "alarm_update",
    "alarms_correlate",
    "alarms_ingest",
    "alarms_matching",
    "alarms_record_impact",
    "reduction_key",
]
