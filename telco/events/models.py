"""Listeners registered through a `/hub`, and the outbox the database triggers write."""

import secrets

from django.conf import settings
from django.db import models

from telco import clock


class ListenerState(models.TextChoices):
    ACTIVE = "active"
    # Failed EVENT_MAX_FAILURES times in a row: nothing is posted until an admin resumes it; its
    # events keep accumulating after its cursor (its dead letters).
    SUSPENDED = "suspended"


class EventKind(models.TextChoices):
    CREATE = "create"
    STATE_CHANGE = "stateChange"
    ATTRIBUTE_VALUE_CHANGE = "attributeValueChange"
    DELETE = "delete"


def new_secret() -> str:
    return secrets.token_hex(32)


class EventListener(models.Model):
    """A system that asked one API's `/hub` for its events, posted to `{callback}/listener/...`."""

    api = models.CharField(max_length=100, db_index=True)
    callback = models.URLField(max_length=500)
    query = models.CharField(max_length=500, blank=True)
    # The query parsed at registration: the event types and states it keeps (empty: all).
    event_types = models.JSONField(default=list, blank=True)
    states = models.JSONField(default=list, blank=True)
    # The key of the HMAC-SHA256 signature of every body; shown once, in the 201 answer.
    secret = models.CharField(max_length=64, default=new_secret, editable=False)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    state = models.CharField(
        max_length=20, choices=ListenerState.choices, default=ListenerState.ACTIVE
    )
    # The last outbox id handled (delivered or filtered out): delivery resumes after it.
    cursor = models.BigIntegerField(default=0)
    failures = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    delivered_count = models.PositiveBigIntegerField(default=0)
    last_delivered_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=clock.now)

    def __str__(self):
        return f"{self.api} -> {self.callback}"


class OutboxEvent(models.Model):
    """One changed row of a published table, written by its trigger in the change's transaction.

    `occurred_at` is the database's clock_timestamp(): outbox bookkeeping (retention, delay),
    not business data; the envelope's eventTime reads it on the product's clock (see delivery).
    """

    id = models.BigAutoField(primary_key=True)
    txid = models.BigIntegerField()
    resource_type = models.CharField(max_length=60)
    resource_id = models.CharField(max_length=64)
    kind = models.CharField(max_length=30, choices=EventKind.choices)
    old_state = models.CharField(max_length=40, null=True, blank=True)
    new_state = models.CharField(max_length=40, null=True, blank=True)
    occurred_at = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["resource_type", "id"], name="outbox_type_id")]

    def __str__(self):
        return f"#{self.id} {self.resource_type} {self.resource_id} {self.kind}"
