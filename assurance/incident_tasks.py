"""Celery tasks of the incident lifecycle: confirm one incident when due, and the beat sweep."""

from celery import shared_task
from django.conf import settings

from assurance import correlation


@shared_task(name="assurance.incident_confirm")
def incident_confirm_task(incident_id: int) -> bool:
    """Confirm the incident when due (a countdown of INCIDENT_CONFIRMATION_SECONDS); run a
    little early (clocks differ), it comes back when it is due."""
    if correlation.incident_confirm(incident_id):
        return True
    remaining = correlation.confirmation_remaining(incident_id)
    if remaining is not None and remaining > 0 and not settings.CELERY_TASK_ALWAYS_EAGER:
        incident_confirm_task.apply_async((incident_id,), countdown=remaining + 0.05)
    return False


@shared_task(name="assurance.incidents_confirm_due")
def incidents_confirm_due_task() -> int:
    """Confirm every incident whose confirmation is due (the beat safety net)."""
    return len(correlation.incidents_confirm_due())


@shared_task(name="assurance.open_incidents_impact_refresh")
def open_incidents_impact_refresh_task() -> int:
    """Keep open incidents' impact true after topology changes (beat)."""
    from assurance.impact import open_incidents_impact_refresh

    return open_incidents_impact_refresh()
