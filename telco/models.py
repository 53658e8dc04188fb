from django.conf import settings
from django.db import models

from telco import clock


class IdempotentRequest(models.Model):
    """The response to a POST sent with an `Idempotency-Key`, replayed if the key comes again."""

    key = models.CharField(max_length=200)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE)
    path = models.CharField(max_length=300)
    status_code = models.PositiveSmallIntegerField()
    body = models.JSONField()
    location = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(default=clock.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "path", "key"], name="uniq_idempotency_key")
        ]

    def __str__(self):
        return f"{self.path} {self.key}"
