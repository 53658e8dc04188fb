"""Celery tasks of the incident lifecycle: confirm one incident when due, and the beat sweep."""

from celery import shared_task

from assurance import correlation


@shared_task(name="assurance.incident_confirm")
def incident_confirm_task(incident_id: int) -> bool:
    """Confirm the incident if still due (a countdown of INCIDENT_CONFIRMATION_SECONDS)."""
    return correlation.incident_confirm(incident_id)


@shared_task(name="assurance.incidents_confirm_due")
def incidents_confirm_due_task() -> int:
    """Confirm every incident whose confirmation is due (the beat safety net)."""
    return len(correlation.incidents_confirm_due())
