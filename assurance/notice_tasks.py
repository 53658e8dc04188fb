"""Celery tasks of the customers' incident notices (thin adapters of `assurance.notices`)."""

from celery import shared_task
from django.conf import settings

from assurance import notices


@shared_task(name="assurance.plan_incident_notices")
def plan_incident_notices(incident_id: int, kind: str) -> int:
    """Create the incident's notices of `kind` once and enqueue them in batches."""
    return len(notices.notices_plan(incident_id, kind))


@shared_task(bind=True, name="assurance.send_incident_notices", max_retries=None)
def send_incident_notices(self, notice_ids: list[int]) -> int:
    """Send a batch; what failed for a transient reason (SMTP, SMS gateway) is retried with
    exponential backoff, `INCIDENT_NOTICE_MAX_RETRIES` times, then marked failed."""
    retry = notices.notices_send(notice_ids)
    if not retry:
        return len(notice_ids)
    if self.request.retries >= getattr(settings, "INCIDENT_NOTICE_MAX_RETRIES", 5):
        notices.notices_give_up(retry)
        return len(notice_ids) - len(retry)
    countdown = getattr(settings, "INCIDENT_NOTICE_RETRY_SECONDS", 30.0) * 2**self.request.retries
    raise self.retry(args=[retry], countdown=countdown)


@shared_task(name="assurance.resume_incident_notices")
def resume_incident_notices() -> int:
    """The sweep: re-enqueue notices left pending (a worker killed mid-send)."""
    return notices.notices_resume()
