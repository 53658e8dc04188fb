"""Planned work on resources: alarms are still stored, customers are not told, SLAs do not count."""

from django.db import models
from django.db.models import F, Q

from inventory.models import Resource
from telco import clock


class MaintenanceWindow(models.Model):
    """Planned work on `resource` (and what depends on it) from `starts_at` to `ends_at`."""

    resource = models.ForeignKey(
        Resource, on_delete=models.CASCADE, related_name="maintenance_windows"
    )
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    description = models.CharField(max_length=200, blank=True)
    created_by = models.CharField(max_length=150, blank=True)
    created_at = models.DateTimeField(default=clock.now)

    class Meta:
        ordering = ["starts_at", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_at__gt=F("starts_at")), name="maintenance_ends_after_start"
            )
        ]
        indexes = [models.Index(fields=["resource", "starts_at", "ends_at"])]

    def __str__(self):
        return f"{self.resource} {self.starts_at:%Y-%m-%d %H:%M} to {self.ends_at:%H:%M}"
