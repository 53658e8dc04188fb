"""Registering, removing and resuming listeners; pruning the outbox."""

from datetime import timedelta
from urllib.parse import parse_qsl, urlsplit

from django.conf import settings
from django.db import transaction
from django.db.models import Min

from telco import clock
from telco.events.models import EventKind, EventListener, ListenerState, OutboxEvent
from telco.events.registry import TmfApi, event_type
from telco.exceptions import DomainError, NotFound


def parse_query(api: TmfApi, query: str) -> tuple[list[str], list[str]]:
    """The TMF hub query forms supported: `eventType=A[,B]`, `state=s[,t]` and
    `event.<resource>.state=s` (the new state of a state change or a create), joined with `&`.
    Returns (event types, states); empty lists keep everything."""
    names = {event_type(resource.name, kind) for resource in api.resources() for kind in EventKind}
    resource_names = {resource.name for resource in api.resources()}
    event_types: list[str] = []
    states: list[str] = []
    for key, value in parse_qsl(query.lstrip("?"), keep_blank_values=True):
        values = [each.strip() for each in value.split(",") if each.strip()]
        if key == "eventType":
            unknown = sorted(set(values) - names)
            if unknown or not values:
                raise DomainError(
                    f"Unknown event type {', '.join(unknown) or value!r} for {api.name}; "
                    f"known: {', '.join(sorted(names))}.",
                    field="query",
                )
            event_types += values
        elif key == "state" or (
            key.startswith("event.")
            and key.endswith(".state")
            and key.split(".")[1] in resource_names
        ):
            if not values:
                raise DomainError(f"{key} needs a value.", field="query")
            states += values
        else:
            raise DomainError(
                f"Unsupported query attribute {key!r}: use eventType, state or "
                "event.<resource>.state.",
                field="query",
            )
    if query.strip() and not event_types and not states:
        raise DomainError("The query names no supported attribute.", field="query")
    return event_types, states


def check_callback(callback) -> str:
    if not isinstance(callback, str) or not callback:
        raise DomainError("A callback URL is required.", field="callback")
    parts = urlsplit(callback)
    if parts.scheme not in ("http", "https") or not parts.netloc or len(callback) > 500:
        raise DomainError("The callback must be an http(s) URL.", field="callback")
    return callback


def listener_register(*, api: TmfApi, callback: str, query: str = "", owner=None) -> EventListener:
    """A listener of `api`'s events from now on (its cursor starts at the outbox's end)."""
    callback = check_callback(callback)
    if not isinstance(query, str) or len(query) > 500:
        raise DomainError("The query is a string of at most 500 characters.", field="query")
    event_types, states = parse_query(api, query)
    with transaction.atomic():
        last = OutboxEvent.objects.order_by("-id").values_list("id", flat=True).first() or 0
        return EventListener.objects.create(
            api=api.name,
            callback=callback,
            query=query,
            event_types=event_types,
            states=states,
            owner=owner,
            cursor=last,
        )


def listener_delete(*, api: TmfApi, listener_id) -> None:
    """Remove a listener: nothing more is posted to it (its undelivered events are dropped)."""
    deleted, _ = EventListener.objects.filter(pk=listener_id, api=api.name).delete()
    if not deleted:
        raise NotFound(f"No listener {listener_id} on {api.name}.", field="id")


def listener_resume(*, listener_id: int) -> EventListener:
    """Resume and replay: active again, its failures forgotten; everything after its cursor
    (the events kept while it was suspended) is delivered next, in order."""
    with transaction.atomic():
        listener = EventListener.objects.select_for_update().get(pk=listener_id)
        listener.state = ListenerState.ACTIVE
        listener.failures = 0
        listener.next_attempt_at = None
        listener.save(update_fields=["state", "failures", "next_attempt_at"])

        def deliver():
            from telco.events.tasks import deliver_events

            deliver_events.delay(listener_id=listener.pk)

        transaction.on_commit(deliver)
    return listener


def outbox_prune(*, days: int | None = None) -> int:
    """Delete outbox rows older than EVENT_RETENTION_DAYS that every listener has passed.

    The age is the outbox's own database time (bookkeeping, as occurred_at)."""
    days = settings.EVENT_RETENTION_DAYS if days is None else days
    oldest_cursor = EventListener.objects.aggregate(low=Min("cursor"))["low"]
    rows = OutboxEvent.objects.filter(occurred_at__lt=_database_now() - timedelta(days=days))
    if oldest_cursor is not None:
        rows = rows.filter(id__lte=oldest_cursor)
    deleted, _ = rows.delete()
    return deleted


def _database_now():
    # occurred_at is written by the database's clock, so its age is measured by the same clock
    # (moved by the product's offset, so a test that moves the clock ages the outbox too).
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT clock_timestamp()")
        database_now = cursor.fetchone()[0]
    return database_now + clock.offset()
