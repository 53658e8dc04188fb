"""`Idempotency-Key` on POST: the key is claimed before the work, so a duplicate never runs.

The first request inserts its claim (a unique row per user, path and key) in a transaction of
its own, does the work and stores its answer on the claim in one transaction. A twin that loses
the insert waits for that answer and replays it. If the first request fails, its claim is
released and a retry runs afresh.
"""

import hashlib
import json
import time
from datetime import timedelta

from django.db import IntegrityError, transaction
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from telco import clock
from telco.exceptions import Conflict, DomainError
from telco.models import IdempotencyState, IdempotentRequest

HEADER = "Idempotency-Key"
# How long a twin waits for the first request's answer before asking the client to retry.
WAIT_SECONDS = 20.0
POLL_SECONDS = 0.05
# A claim this old without an answer belongs to a process that died: its work was rolled back
# with it (work and answer commit together), so another request may take the key over.
ABANDONED_AFTER = timedelta(minutes=5)


class IdempotencyKeyReused(DomainError):
    """The key came again with another body: a client's mistake, not a retry."""

    status_code = 422
    code = "idempotencyKeyReused"


def request_key(request) -> str:
    """The client's key, checked; "" when the request has none."""
    key = request.headers.get(HEADER, "").strip()
    if len(key) > IdempotentRequest._meta.get_field("key").max_length:
        raise ValidationError({HEADER: "At most 200 characters."})
    if not key.isprintable():
        raise ValidationError({HEADER: "Printable characters only."})
    return key


def request_fingerprint(data) -> str:
    text = json.dumps(data, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def claim(*, user, path: str, key: str, fingerprint: str) -> tuple[IdempotentRequest, bool]:
    """The claim on (user, path, key) and whether this request owns it (True: do the work).

    False means the row holds the first request's answer, to replay. A twin still in progress
    is waited for; a different body with the same key raises IdempotencyKeyReused.
    """
    deadline = time.monotonic() + WAIT_SECONDS
    while True:
        try:
            with transaction.atomic():
                row = IdempotentRequest.objects.create(
                    user=user,
                    path=path,
                    key=key,
                    state=IdempotencyState.IN_PROGRESS,
                    request_hash=fingerprint,
                )
            return row, True
        except IntegrityError:
            pass
        # None: a failed first attempt released the key between our insert and this read.
        earlier = IdempotentRequest.objects.filter(user=user, path=path, key=key).first()
        if earlier is not None:
            if earlier.request_hash and earlier.request_hash != fingerprint:
                raise IdempotencyKeyReused(
                    "This Idempotency-Key was already used with a different request body.",
                    field=HEADER,
                )
            if earlier.state == IdempotencyState.DONE:
                return earlier, False
            if _take_over_abandoned(earlier):
                return earlier, True
        if time.monotonic() > deadline:
            raise Conflict(
                "A request with this Idempotency-Key is still in progress; retry later.",
                field=HEADER,
            )
        time.sleep(POLL_SECONDS)


def _take_over_abandoned(row: IdempotentRequest) -> bool:
    now = clock.now()
    taken = IdempotentRequest.objects.filter(
        pk=row.pk, state=IdempotencyState.IN_PROGRESS, created_at__lt=now - ABANDONED_AFTER
    ).update(created_at=now)
    return taken == 1


def complete(row: IdempotentRequest, response: Response) -> None:
    """Store the answer on the claim; call inside the transaction that did the work."""
    IdempotentRequest.objects.filter(pk=row.pk).update(
        state=IdempotencyState.DONE,
        status_code=response.status_code,
        body=response.data,
        location=response.get("Location", ""),
    )


def release(row: IdempotentRequest) -> None:
    """Give the key up after a failed attempt, so that a retry can run."""
    IdempotentRequest.objects.filter(pk=row.pk, state=IdempotencyState.IN_PROGRESS).delete()


def replay(row: IdempotentRequest) -> Response:
    headers = {"Location": row.location} if row.location else {}
    return Response(row.body, status=row.status_code, headers=headers)
