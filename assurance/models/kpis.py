"""Performance management: KPI series, their samples and rollups, thresholds and breaches.

A series is one metric measured on one resource (a cell's PRB utilisation, a link's latency) or
on one service (its end-to-end latency). Samples are stored in a table partitioned by day on
PostgreSQL (see the migration and `assurance.kpis.partitions`); their 5-minute and hourly
rollups are kept by `assurance.kpis.rollups`.
"""

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q

from assurance.choices import Severity
from inventory.models import Resource, Service
from telco import clock


class KpiMetric(models.TextChoices):
    """What is measured, with its unit in the label."""

    PRB_UTILISATION = "prbUtilisation", "PRB utilisation (%)"
    LATENCY = "latency", "Latency (ms)"
    JITTER = "jitter", "Jitter (ms)"
    PACKET_LOSS = "packetLoss", "Packet loss (%)"
    THROUGHPUT = "throughput", "Throughput (Mbit/s)"


class RollupResolution(models.TextChoices):
    FIVE_MINUTES = "5m", "5 minutes"
    HOUR = "1h", "1 hour"


class KpiSeries(models.Model):
    """One metric on one resource, or on one service (exactly one of the two)."""

    metric = models.CharField(max_length=24, choices=KpiMetric.choices)
    resource = models.ForeignKey(
        Resource, on_delete=models.CASCADE, null=True, blank=True, related_name="kpi_series"
    )
    service = models.ForeignKey(
        Service, on_delete=models.CASCADE, null=True, blank=True, related_name="kpi_series"
    )

    class Meta:
        verbose_name_plural = "KPI series"
        constraints = [
            models.CheckConstraint(
                condition=Q(resource__isnull=True) ^ Q(service__isnull=True),
                name="kpi_series_one_subject",
            ),
            models.UniqueConstraint(
                fields=["resource", "metric"],
                condition=Q(service__isnull=True),
                name="one_kpi_series_per_resource_metric",
            ),
            models.UniqueConstraint(
                fields=["service", "metric"],
                condition=Q(resource__isnull=True),
                name="one_kpi_series_per_service_metric",
            ),
        ]

    def __str__(self):
        return f"{self.metric} of {self.resource_id or f'service {self.service_id}'}"


class KpiSample(models.Model):
    """A measured value of a series at a time. Partitioned by day on PostgreSQL, where a row's
    key is (series, sampled_at), the one index; `id` (an identity) names a row for Django."""

    id = models.BigAutoField(primary_key=True)
    # Not enforced row by row in the database: ingest writes only series it has just resolved
    # and key-share locked, once per series instead of a trigger per sample (see
    # assurance.kpis.ingest). Deleting a series still deletes its samples (Django's cascade).
    series = models.ForeignKey(
        KpiSeries, on_delete=models.CASCADE, related_name="samples", db_constraint=False
    )
    sampled_at = models.DateTimeField()
    value = models.FloatField()

    class Meta:
        constraints = [
            # A sample sent twice is stored once (ingest is idempotent).
            models.UniqueConstraint(fields=["series", "sampled_at"], name="one_kpi_sample_per_time")
        ]

    def __str__(self):
        return f"{self.series_id} @ {self.sampled_at:%Y-%m-%d %H:%M}: {self.value}"


class KpiRollup(models.Model):
    """Count, sum, min and max of a series' samples in a 5-minute or an hourly bucket."""

    resolution = models.CharField(max_length=2, choices=RollupResolution.choices)
    # As the samples': maintained by ingest for the series it has locked (no trigger per row);
    # the unique index, series first, serves the lookups by series.
    series = models.ForeignKey(
        KpiSeries,
        on_delete=models.CASCADE,
        related_name="rollups",
        db_constraint=False,
        db_index=False,
    )
    bucket_start = models.DateTimeField()
    sample_count = models.PositiveIntegerField()
    value_sum = models.FloatField()
    value_min = models.FloatField()
    value_max = models.FloatField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["series", "resolution", "bucket_start"], name="one_kpi_rollup_per_bucket"
            )
        ]
        indexes = [models.Index(fields=["resolution", "bucket_start"])]

    def __str__(self):
        return f"{self.series_id} {self.resolution} @ {self.bucket_start:%Y-%m-%d %H:%M}"

    @property
    def value_average(self) -> float:
        return self.value_sum / self.sample_count if self.sample_count else 0.0


class KpiThreshold(models.Model):
    """Raise above `raise_above` for `raise_after` consecutive samples, clear below
    `clear_below` (hysteresis). Per metric; one for a resource overrides the metric's own."""

    metric = models.CharField(max_length=24, choices=KpiMetric.choices)
    resource = models.ForeignKey(
        Resource, on_delete=models.CASCADE, null=True, blank=True, related_name="kpi_thresholds"
    )
    raise_above = models.FloatField()
    clear_below = models.FloatField()
    raise_after = models.PositiveIntegerField(default=3)
    severity = models.CharField(max_length=16, choices=Severity.choices, default=Severity.MAJOR)
    is_active = models.BooleanField(default=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(clear_below__lt=models.F("raise_above")),
                name="kpi_threshold_clear_below_raise",
                violation_error_message="The clear level must be below the raise level.",
            ),
            models.CheckConstraint(
                condition=Q(raise_after__gte=1), name="kpi_threshold_raise_after_positive"
            ),
            models.UniqueConstraint(
                fields=["metric"],
                condition=Q(resource__isnull=True),
                name="one_kpi_threshold_per_metric",
            ),
            models.UniqueConstraint(
                fields=["metric", "resource"], name="one_kpi_threshold_per_resource_metric"
            ),
        ]

    def __str__(self):
        where = f" on {self.resource_id}" if self.resource_id else ""
        return (
            f"{self.metric}{where}: above {self.raise_above} x{self.raise_after}, "
            f"clear below {self.clear_below}"
        )

    def clean(self):
        """The terms add up: a known metric, at least one sample to raise, and a clear level
        below the raise level (else the alarm would clear as it is raised). Shared by the admin
        and every other writer (`assurance.kpis.thresholds.kpi_threshold_set`)."""
        errors = {}
        if self.metric not in KpiMetric.values:
            errors["metric"] = f"Unknown metric '{self.metric}'."
        if self.raise_after is not None and self.raise_after < 1:
            errors["raise_after"] = "Raise after at least one sample above."
        if (
            self.raise_above is not None
            and self.clear_below is not None
            and self.clear_below >= self.raise_above
        ):
            errors["clear_below"] = (
                f"The clear level must be below the raise level ({self.raise_above:g})."
            )
        if errors:
            raise ValidationError(errors)


class KpiThresholdState(models.Model):
    """Where a series stands against its threshold after the last evaluated sample."""

    threshold = models.ForeignKey(KpiThreshold, on_delete=models.CASCADE, related_name="states")
    series = models.ForeignKey(KpiSeries, on_delete=models.CASCADE, related_name="threshold_states")
    consecutive_above = models.PositiveIntegerField(default=0)
    is_raised = models.BooleanField(default=False)
    last_sampled_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["threshold", "series"], name="one_kpi_threshold_state_per_series"
            )
        ]

    def __str__(self):
        return f"{self.threshold_id}/{self.series_id}: {'raised' if self.is_raised else 'clear'}"


class KpiBreach(models.Model):
    """A time a series spent above its threshold: from the raising sample to the clearing one
    (open while `ended_at` is empty), with the alarm it raised."""

    threshold = models.ForeignKey(KpiThreshold, on_delete=models.CASCADE, related_name="breaches")
    series = models.ForeignKey(KpiSeries, on_delete=models.CASCADE, related_name="breaches")
    started_at = models.DateTimeField()
    ended_at = models.DateTimeField(null=True, blank=True)
    alarm = models.ForeignKey(
        "assurance.Alarm",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="kpi_breaches",
    )
    created_at = models.DateTimeField(default=clock.now)

    class Meta:
        indexes = [models.Index(fields=["series", "started_at"])]

    def __str__(self):
        return f"{self.series_id} from {self.started_at:%Y-%m-%d %H:%M}"
