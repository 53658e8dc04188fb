"""Customer notices of an incident: one row per incident, customer, kind and channel.

The row is the claim: it is created once (unique), and the worker that sends it locks it
(`FOR UPDATE SKIP LOCKED`), sends, and marks it sent in the same transaction.
"""

from django.db import models

from crm.models import Customer
from telco import clock


class NoticeKind(models.TextChoices):
    CONFIRMED = "confirmed"  # the incident is confirmed: we know, we are on it
    RESOLVED = "resolved"  # service is back


class NoticeChannel(models.TextChoices):
    EMAIL = "email"
    SMS = "sms"
    # A TMF621 trouble ticket opened for an enterprise customer under SLA (message_id: TT<id>).
    TICKET = "ticket"


class NoticeState(models.TextChoices):
    PENDING = "pending"  # to send (again, after a transient failure)
    SENT = "sent"
    FAILED = "failed"  # gave up after the last retry
    SKIPPED = "skipped"  # not sent: the incident was under maintenance, or cancelled


class IncidentNotice(models.Model):
    """A notice to one customer about one incident, by one channel."""

    incident = models.ForeignKey(
        "assurance.Incident", on_delete=models.CASCADE, related_name="notices"
    )
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(max_length=10, choices=NoticeKind.choices)
    channel = models.CharField(max_length=8, choices=NoticeChannel.choices)
    state = models.CharField(max_length=8, choices=NoticeState.choices, default=NoticeState.PENDING)
    recipient = models.CharField(max_length=254)
    # Deterministic (incident, customer, kind, channel): a resend carries the same id, so a
    # mail client or a gateway that dedupes on it shows the message once.
    message_id = models.CharField(max_length=200)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(default=clock.now)
    sent_at = models.DateTimeField(null=True, blank=True)
    # The customer's timeline entry (crm.PartyInteraction id) recorded with the send.
    interaction_id = models.BigIntegerField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["incident", "customer", "kind", "channel"],
                name="one_notice_per_incident_customer_kind_channel",
            )
        ]
        indexes = [models.Index(fields=["state", "created_at"])]

    def __str__(self):
        return f"{self.kind} {self.channel} notice: incident {self.incident_id}, {self.customer_id}"
