from django.conf import settings
from django.db import models

from telco import clock


class IdempotencyState(models.TextChoices):
    IN_PROGRESS = "inProgress"
    DONE = "done"


class IdempotentRequest(models.Model):
    """A POST sent with an `Idempotency-Key`: claimed before the work, so a twin waits for the
    first answer and replays it instead of doing the work again."""

    key = models.CharField(max_length=200)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE)
    path = models.CharField(max_length=300)  # without the trailing slash
    state = models.CharField(max_length=20, choices=IdempotencyState.choices)
    # The body's digest: the same key with another body is a client's mistake, not a replay.
    request_hash = models.CharField(max_length=64, blank=True)
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    body = models.JSONField(null=True, blank=True)
    location = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(default=clock.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "path", "key"], name="uniq_idempotency_key")
        ]

    def __str__(self):
        return f"{self.path} {self.key}"


class TestClock(models.Model):
    """How far acceptance testing has moved the product's clock (one row; see telco.clock).

    Shared through the database so the web processes, the workers and beat all read it."""

    __test__ = False  # not a pytest test class, despite the name

    offset_seconds = models.FloatField(default=0.0)
    moved_at = models.DateTimeField(null=True, blank=True)
    moved_by = models.CharField(max_length=150, blank=True)

    class Meta:
        constraints = [models.CheckConstraint(condition=models.Q(id=1), name="one_test_clock")]

    def __str__(self):
        return f"test clock +{self.offset_seconds:.0f} s"


# The event hub's tables live with the kernel's (telco.events).
from telco.events.models import EventListener, OutboxEvent  # noqa: E402, F401
