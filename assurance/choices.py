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


# Acknowledging is a state of its own (TMF642 ackState), moved and audited like `state`.
ACK_TRANSITIONS = {
    AckState.UNACKNOWLEDGED: {AckState.ACKNOWLEDGED},
    AckState.ACKNOWLEDGED: {AckState.UNACKNOWLEDGED},
}


class Severity(models.TextChoices):
    CRITICAL = "critical"
    MAJOR = "major"
    MINOR = "minor"
    WARNING = "warning"
    INDETERMINATE = "indeterminate"
    CLEARED = "cleared"


# Most urgent first: the order of the NOC's alarm list.
SEVERITY_RANK = {
    Severity.CRITICAL: 0,
    Severity.MAJOR: 1,
    Severity.MINOR: 2,
    Severity.WARNING: 3,
    Severity.INDETERMINATE: 4,
    Severity.CLEARED: 5,
}


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


class AlarmTaskKind(models.TextChoices):
    ACK = "ackAlarms"
    CLEAR = "clearAlarms"


class IncidentState(models.TextChoices):
    """TMF656 ServiceProblem status. An incident starts `pending` (not yet confirmed: a blip that
    clears in time is `cancelled`, and nobody hears of it)."""

    PENDING = "pending"
    ACKNOWLEDGED = "acknowledged"
    IN_PROGRESS = "inProgress"
    HELD = "held"
    RESOLVED = "resolved"
    CLOSED = "closed"
    CANCELLED = "cancelled"
    REJECTED = "rejected"


INCIDENT_TRANSITIONS = {
    IncidentState.PENDING: {
        IncidentState.ACKNOWLEDGED,
        IncidentState.IN_PROGRESS,
        IncidentState.HELD,
        IncidentState.RESOLVED,
        IncidentState.CANCELLED,
        IncidentState.REJECTED,
    },
    IncidentState.ACKNOWLEDGED: {
        IncidentState.IN_PROGRESS,
        IncidentState.HELD,
        IncidentState.RESOLVED,
        IncidentState.REJECTED,
    },
    IncidentState.IN_PROGRESS: {IncidentState.HELD, IncidentState.RESOLVED},
    IncidentState.HELD: {IncidentState.IN_PROGRESS, IncidentState.RESOLVED},
    # A root that comes back before the incident is closed reopens it.
    IncidentState.RESOLVED: {IncidentState.CLOSED, IncidentState.IN_PROGRESS},
    IncidentState.CLOSED: set(),
    IncidentState.CANCELLED: set(),
    IncidentState.REJECTED: set(),
}

# Incidents still affecting the network (their impact is kept true while they live).
OPEN_INCIDENT_STATES = (
    IncidentState.PENDING,
    IncidentState.ACKNOWLEDGED,
    IncidentState.IN_PROGRESS,
    IncidentState.HELD,
)


class ServiceImpact(models.TextChoices):
    """How an incident touches a service: every path lost, or a surviving path."""

    DOWN = "down"
    DEGRADED = "degraded"


# A source that raises again a fault it cleared minutes ago (a flapping link) reopens the
# cleared alarm instead of storing another: the one move out of `cleared`, made only by the
# network feed (bulk ingest, traps), never by a PATCH. See assurance.services.ingest.
ALARM_REOPEN_TRANSITIONS = {
    AlarmState.CLEARED: {AlarmState.RAISED},
}


class IngestOutcome(models.TextChoices):
    """What the bulk ingest did with one reported alarm."""

    CREATED = "created"
    DEDUPLICATED = "deduplicated"
    REOPENED = "reopened"
    CLEARED = "cleared"
    REJECTED = "rejected"
