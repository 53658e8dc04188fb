from django.db import models


class AlarmState(models.TextChoices):
    RAISED = "raised"
    UPDATED = "updated"
    CLEARED = "cleared"


ALARM_TRANSITIONS = {
    AlarmState.RAISED: {AlarmState.UPDATED, AlarmState.CLEARED},
    AlarmState.UPDATED: {AlarmState.UPDATED, AlarmState.CLEARED},
    AlarmState.CLEARED: set(),
}


class AckState(models.TextChoices):
    UNACKNOWLEDGED = "unacknowledged"
    ACKNOWLEDGED = "acknowledged"


class Severity(models.TextChoices):
    CRITICAL = "critical"
    MAJOR = "major"
    MINOR = "minor"
    WARNING = "warning"
    INDETERMINATE = "indeterminate"
    CLEARED = "cleared"


class AlarmType(models.TextChoices):
    COMMUNICATIONS = "communicationsAlarm"
    PROCESSING_ERROR = "processingErrorAlarm"
    ENVIRONMENTAL = "environmentalAlarm"
    QUALITY_OF_SERVICE = "qualityOfServiceAlarm"
    EQUIPMENT = "equipmentAlarm"
    INTEGRITY_VIOLATION = "integrityViolation"
    OPERATIONAL_VIOLATION = "operationalViolation"
    PHYSICAL_VIOLATION = "physicalViolation"
    SECURITY_SERVICE = "securityService"
    TIME_DOMAIN_VIOLATION = "timeDomainViolation"
