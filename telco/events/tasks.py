"""Celery tasks of the event hub: thin adapters over telco.events.delivery and services."""

from celery import shared_task
from django.core.cache import cache

from telco.events import delivery, services

KICK_KEY = "events:kick"


@shared_task(name="telco.events_deliver", ignore_result=True)
def deliver_events(listener_id: int | None = None) -> int:
    """Deliver what is due: one listener (a retry after its backoff) or every active one."""
    if not delivery.is_enabled():
        return 0
    due = delivery.due_listener_ids()
    if listener_id is not None:
        due = [each for each in due if each == listener_id]
    return sum(delivery.deliver_listener(each) for each in due)


@shared_task(name="telco.events_prune", ignore_result=True)
def prune_events() -> int:
    return services.outbox_prune()


def kick() -> None:
    """After a commit that wrote: one delivery per debounce period, run at its end, so it sees
    every commit of the period (a commit after it adds the key again)."""
    from django.conf import settings

    debounce = settings.EVENT_KICK_DEBOUNCE_SECONDS
    if cache.add(KICK_KEY, 1, timeout=debounce):
        deliver_events.apply_async(countdown=debounce)
