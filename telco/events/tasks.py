"""Celery tasks of the event hub: thin adapters over telco.events.delivery and services."""

import time

from celery import shared_task

from telco.events import delivery, services

# Until when this process has a delivery scheduled (monotonic seconds).
_scheduled = {"until": 0.0}


@shared_task(name="telco.events_deliver", ignore_result=True)
def deliver_events(listener_id: int | None = None) -> int:
    """Deliver what is due: one listener (a retry after its backoff) or every active one."""
    if not delivery.is_enabled():
        return 0
    if listener_id is not None:
        # A retry comes at the end of its own backoff (the timer may fire a hair early): due.
        return delivery.deliver_listener(listener_id)
    due = delivery.due_listener_ids()
    if len(due) > 1:
        # One task per listener: with several workers, a slow listener delays no other.
        for each in due:
            deliver_events.delay(listener_id=each)
        return 0
    return sum(delivery.deliver_listener(each) for each in due)


@shared_task(name="telco.events_prune", ignore_result=True)
def prune_events() -> int:
    return services.outbox_prune() if delivery.is_enabled() else 0


def kick() -> None:
    """After a commit that wrote: one delivery per debounce period and process, run at the
    period's end, so it sees every commit of the period; no round trip to Redis for the others."""
    from django.conf import settings

    now = time.monotonic()
    if now < _scheduled["until"]:
        return
    debounce = settings.EVENT_KICK_DEBOUNCE_SECONDS
    _scheduled["until"] = now + debounce
    deliver_events.apply_async(countdown=debounce)
