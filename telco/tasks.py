"""The kernel's Celery tasks (found by `app.autodiscover_tasks()`)."""

from telco.events.tasks import deliver_events, prune_events

__all__ = ["deliver_events", "prune_events"]
