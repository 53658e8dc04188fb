"""Posting each listener's events, in outbox order, signed, with backoff and suspension."""

import hashlib
import hmac
import json
import logging
import time
from datetime import timedelta

import requests
from django.conf import settings
from django.core.cache import cache
from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection
from django.db.models import F

from telco import clock
from telco.events import triggers
from telco.events.models import EventKind, EventListener, ListenerState, OutboxEvent
from telco.events.registry import EventResource, event_type, resources, tmf_apis

logger = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Hub-Signature-256"
LAST_ID_TAKEN = (
    "SELECT CASE WHEN is_called THEN last_value ELSE last_value - 1 END"
    " FROM telco_outboxevent_id_seq"
)


def signature(secret: str, body: bytes) -> str:
    """`sha256=<hex>` of HMAC-SHA256(secret, body): what a receiver recomputes to trust a post."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def safe_horizon() -> int:
    """The first outbox id delivery must not read yet: every id below it is committed or gone.

    Three statements, in this order (see telco.events.triggers): the sequence's last value, then
    the smallest key a writing transaction holds, then (the caller's) read of the rows. An id
    at or below the last value was taken under a lock that is still held if its transaction is
    still running, so nothing below the horizon can appear later."""
    with connection.cursor() as cursor:
        # The last id taken (a fresh sequence has taken none: its last_value is the next one).
        cursor.execute(LAST_ID_TAKEN)
        last_value = cursor.fetchone()[0]
        mask = (1 << triggers.ID_BITS) - 1
        cursor.execute(
            "SELECT min(((classid::bigint << 32) | objid::bigint) & %s) FROM pg_locks"
            " WHERE locktype = 'advisory' AND objsubid = 1"
            " AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
            " AND (classid::bigint >> %s) = %s",
            [mask, triggers.ID_BITS - 32, triggers.LOCK_NAMESPACE],
        )
        held = cursor.fetchone()[0]
    return min(last_value + 1, held if held is not None else last_value + 1)


def listener_resources(listener: EventListener) -> dict[str, EventResource]:
    api = tmf_apis().get(listener.api)
    return {each.name: each for each in api.resources()} if api else {}


def is_wanted(listener: EventListener, event: OutboxEvent) -> bool:
    """The listener's query (see telco.events.hub.parse_query)."""
    if listener.event_types and event_type(event.resource_type, event.kind) not in set(
        listener.event_types
    ):
        return False
    return not listener.states or event.new_state in set(listener.states)


def render(events: list[OutboxEvent], kinds: dict[str, EventResource]) -> list[dict]:
    """The TMF envelopes of `events`, each resource read once by its API's own serializer."""
    wanted: dict[str, set[str]] = {}
    for event in events:
        if event.kind != EventKind.DELETE:
            wanted.setdefault(event.resource_type, set()).add(event.resource_id)
    rows: dict[tuple[str, str], object] = {}
    for name, ids in wanted.items():
        for row in kinds[name].read_queryset().filter(pk__in=ids):
            rows[(name, str(row.pk))] = row
    # eventTime: the outbox's database time, read on the product's clock (tests and acceptance
    # testing move it; the offset is the same for every event of this run).
    offset = clock.offset()
    envelopes = []
    for event in events:
        resource = kinds[event.resource_type]
        serializer_class = resource.viewset.serializer_class
        row = rows.get((event.resource_type, event.resource_id))
        if event.kind == EventKind.DELETE or row is None:
            url_name = getattr(serializer_class, "url_name", "")
            body = {"id": event.resource_id, "href": _href(url_name, event.resource_id)}
        else:
            body = dict(serializer_class(row, context={"request": None}).data)
            if event.kind in (EventKind.CREATE, EventKind.STATE_CHANGE) and resource.state_field:
                # The state this event is about, even if the row has moved on since (the rest
                # of the body is the resource as it is at delivery).
                state_key = next(
                    (key for key in ("state", "status", "lifecycleStatus") if key in body), None
                )
                if state_key:
                    body[state_key] = event.new_state
        kind = event_type(event.resource_type, event.kind)
        envelopes.append(
            {
                "eventId": f"{event.id}",
                "eventTime": (event.occurred_at + offset).isoformat(),
                "eventType": kind,
                "event": {event.resource_type: body},
            }
        )
    return envelopes


def _href(url_name: str, pk: str) -> str:
    from django.urls import NoReverseMatch, reverse

    try:
        return reverse(url_name, kwargs={"pk": pk})
    except NoReverseMatch:
        return ""


def backoff_seconds(failures: int) -> float:
    base = settings.EVENT_RETRY_BACKOFF_SECONDS
    return min(base * 2 ** max(failures - 1, 0), settings.EVENT_RETRY_BACKOFF_MAX_SECONDS)


def deliver_listener(listener_id: int, *, session: requests.Session | None = None) -> int:
    """Post the listener's next events, in order, until none is left, one fails or the run's
    time (EVENT_RUN_SECONDS) is spent (then a next run is queued).

    Returns the number delivered. One delivery per listener at a time (a cache lock), so two
    workers never post the same events or overtake each other; a run that finds the lock taken
    leaves a flag for the holder to run once more (it may have looked before the newest commit).
    The cursor is saved after each batch and at the first failure: after a crash mid-batch the
    batch is posted again (at least once; `eventId` tells a repeat)."""
    from telco.events.tasks import deliver_events

    lock, again = f"events:deliver:{listener_id}", f"events:again:{listener_id}"
    lock_seconds = settings.EVENT_RUN_SECONDS + settings.EVENT_DELIVERY_TIMEOUT_SECONDS + 60
    if not cache.add(lock, 1, timeout=lock_seconds):
        cache.set(again, 1, timeout=lock_seconds)
        if not cache.add(lock, 1, timeout=lock_seconds):
            return 0  # the holder runs again when done
        cache.delete(again)  # released meanwhile: this run reads everything
    try:
        delivered, finished = _deliver(listener_id, session or requests.Session())
    finally:
        cache.delete(lock)
    if not finished:
        deliver_events.delay(listener_id=listener_id)
    elif cache.delete(again):
        deliver_events.delay()  # every due listener: one in backoff stays in it
    return delivered


def _deliver(listener_id: int, session: requests.Session) -> tuple[int, bool]:
    """(events delivered, whether the run ended by itself rather than by its time limit)."""
    listener = EventListener.objects.filter(pk=listener_id, state=ListenerState.ACTIVE).first()
    if listener is None:
        return 0, True
    deadline = time.monotonic() + settings.EVENT_RUN_SECONDS
    kinds = listener_resources(listener)
    delivered = 0
    while True:
        horizon = safe_horizon()
        batch = list(
            OutboxEvent.objects.filter(
                id__gt=listener.cursor, id__lt=horizon, resource_type__in=list(kinds)
            ).order_by("id")[: settings.EVENT_BATCH_SIZE]
        )
        if not batch:
            # Nothing of its APIs below the horizon: skip the ids of others' events too.
            skipped = horizon - 1 if horizon - 1 > listener.cursor else listener.cursor
            _advance(listener, skipped, 0)
            return delivered, True
        wanted = [event for event in batch if is_wanted(listener, event)]
        envelopes = render(wanted, kinds)
        position, sent = listener.cursor, 0
        for event, envelope in zip(wanted, envelopes, strict=True):
            if time.monotonic() > deadline:
                # Filtered-out events before this one are done with.
                _advance(listener, max(position, event.id - 1), sent)
                return delivered + sent, False
            error = _post(session, listener, envelope)
            if error:
                _advance(listener, max(position, event.id - 1), sent)
                _fail(listener, error)
                return delivered + sent, True
            position = event.id
            sent += 1
        delivered += sent
        if not _advance(listener, batch[-1].id, sent):
            return delivered, True  # removed or suspended meanwhile


def _post(session: requests.Session, listener: EventListener, envelope: dict) -> str:
    """Post one event; '' when the listener took it (2xx), else what went wrong."""
    name = envelope["eventType"][0].lower() + envelope["eventType"][1:]
    body = json.dumps(envelope, cls=DjangoJSONEncoder).encode()
    url = listener.callback.rstrip("/") + f"/listener/{name}"
    try:
        answer = session.post(
            url,
            data=body,
            headers={
                "Content-Type": "application/json",
                SIGNATURE_HEADER: signature(listener.secret, body),
            },
            timeout=settings.EVENT_DELIVERY_TIMEOUT_SECONDS,
        )
    except requests.RequestException as error:
        return f"{url}: {type(error).__name__}: {error}"[:1000]
    if 200 <= answer.status_code < 300:
        return ""
    return f"{url}: HTTP {answer.status_code} {answer.text[:200]}"


def _advance(listener: EventListener, position: int, sent: int) -> bool:
    """Save the cursor; False when the listener is gone or no longer active."""
    if position == listener.cursor and not sent:
        return True
    updates = {"cursor": position}
    if sent:
        # A delivery ends a run of failures.
        updates.update(
            failures=0,
            next_attempt_at=None,
            delivered_count=F("delivered_count") + sent,
            last_delivered_at=clock.now(),
        )
        listener.failures = 0
    listener.cursor = position
    active = EventListener.objects.filter(pk=listener.pk, state=ListenerState.ACTIVE)
    return bool(active.update(**updates))


def _fail(listener: EventListener, error: str) -> None:
    failures = listener.failures + 1
    state = ListenerState.ACTIVE
    if failures >= settings.EVENT_MAX_FAILURES:
        state = ListenerState.SUSPENDED
        logger.warning("event listener %s suspended after %s failures", listener.pk, failures)
    delay = backoff_seconds(failures)
    EventListener.objects.filter(pk=listener.pk).update(
        failures=failures,
        last_error=error,
        state=state,
        next_attempt_at=clock.now() + timedelta(seconds=delay),
    )
    if state == ListenerState.ACTIVE:
        from telco.events.tasks import deliver_events

        deliver_events.apply_async(kwargs={"listener_id": listener.pk}, countdown=delay)


def due_listener_ids() -> list[int]:
    """Active listeners whose backoff (if any) has passed."""
    from django.db.models import Q

    now = clock.now()
    return list(
        EventListener.objects.filter(state=ListenerState.ACTIVE)
        .filter(Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now))
        .order_by("id")
        .values_list("id", flat=True)
    )


def pending_count(listener: EventListener) -> int:
    """Events of its APIs after its cursor (for a suspended one: its dead letters)."""
    return OutboxEvent.objects.filter(
        id__gt=listener.cursor, resource_type__in=list(listener_resources(listener))
    ).count()


# Set once the hub's tables exist (a fresh database's `migrate` writes before they do).
_tables = {"exist": False}


def is_enabled() -> bool:
    """Events are published on PostgreSQL only (the triggers), once the hub's tables exist
    (Celery eager runs a delivery inline after each write of a fresh database's `migrate`)."""
    if connection.vendor != "postgresql":
        return False
    if not _tables["exist"]:
        _tables["exist"] = EventListener._meta.db_table in connection.introspection.table_names()
    return _tables["exist"]


__all__ = ["deliver_listener", "due_listener_ids", "render", "resources", "signature"]
