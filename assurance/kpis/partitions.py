"""Samples live in daily partitions on PostgreSQL (a plain table elsewhere): partitions are
created ahead by a daily task (and on demand by ingest, for a batch of older samples), and
retention drops whole partitions past the horizon and deletes old rollups."""

from datetime import date, datetime, timedelta

from django.conf import settings
from django.db import connection, transaction

from assurance.models import KpiBreach, KpiRollup, KpiSample
from assurance.models.kpis import RollupResolution
from telco import clock

SAMPLES = KpiSample._meta.db_table
PREFIX = f"{SAMPLES}_p"


def is_partitioned() -> bool:
    return connection.vendor == "postgresql"


def partition_name(day: date) -> str:
    return f"{PREFIX}{day:%Y%m%d}"


def existing_partition_days() -> set[date]:
    """The days that have a partition (PostgreSQL), read from the catalog."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT child.relname FROM pg_inherits
            JOIN pg_class parent ON parent.oid = pg_inherits.inhparent
            JOIN pg_class child ON child.oid = pg_inherits.inhrelid
            WHERE parent.relname = %s
            """,
            [SAMPLES],
        )
        names = [row[0] for row in cursor.fetchall()]
    return {datetime.strptime(name[len(PREFIX) :], "%Y%m%d").date() for name in names}  # noqa: DTZ007


def partitions_ensure(days: set[date]) -> list[date]:
    """Create the partitions of `days` that do not exist yet. Returns the days created."""
    if not is_partitioned() or not days:
        return []
    missing = sorted(days - existing_partition_days())
    with connection.cursor() as cursor:
        for day in missing:
            # Names and bounds come from dates formatted here, never from input text.
            cursor.execute(
                f"CREATE TABLE IF NOT EXISTS {partition_name(day)} PARTITION OF {SAMPLES} "
                f"FOR VALUES FROM ('{day.isoformat()} 00:00:00+00') "
                f"TO ('{(day + timedelta(days=1)).isoformat()} 00:00:00+00')"
            )
    return missing


def kpi_partitions_create(*, days_ahead: int | None = None) -> list[date]:
    """Today's partition and the next `days_ahead` days' (settings.KPI_PARTITIONS_AHEAD_DAYS)."""
    ahead = settings.KPI_PARTITIONS_AHEAD_DAYS if days_ahead is None else days_ahead
    today = clock.now().date()
    with transaction.atomic():
        return partitions_ensure({today + timedelta(days=n) for n in range(ahead + 1)})


def retention_horizon() -> datetime:
    """Samples older than this are dropped (and refused by ingest)."""
    start_of_today = clock.now().replace(hour=0, minute=0, second=0, microsecond=0)
    return start_of_today - timedelta(days=settings.KPI_SAMPLE_RETENTION_DAYS)


def kpi_retention_apply() -> dict[str, int]:
    """Drop the sample partitions wholly before the horizon (delete the rows on a plain table),
    and delete 5-minute and hourly rollups and closed breaches past their own horizons."""
    horizon = retention_horizon()
    dropped = 0
    with transaction.atomic():
        if is_partitioned():
            old = sorted(day for day in existing_partition_days() if day < horizon.date())
            with connection.cursor() as cursor:
                for day in old:
                    cursor.execute(f"DROP TABLE IF EXISTS {partition_name(day)}")
            dropped = len(old)
        else:
            dropped, _ = KpiSample.objects.filter(sampled_at__lt=horizon).delete()
        now = clock.now()
        five_minutes, _ = KpiRollup.objects.filter(
            resolution=RollupResolution.FIVE_MINUTES,
            bucket_start__lt=now - timedelta(days=settings.KPI_ROLLUP_5M_RETENTION_DAYS),
        ).delete()
        hourly, _ = KpiRollup.objects.filter(
            resolution=RollupResolution.HOUR,
            bucket_start__lt=now - timedelta(days=settings.KPI_ROLLUP_1H_RETENTION_DAYS),
        ).delete()
        breaches, _ = KpiBreach.objects.filter(
            ended_at__lt=now - timedelta(days=settings.KPI_ROLLUP_1H_RETENTION_DAYS)
        ).delete()
    return {
        "samples_dropped": dropped,
        "rollups_5m_deleted": five_minutes,
        "rollups_1h_deleted": hourly,
        "breaches_deleted": breaches,
    }
