"""KPI housekeeping tasks on Celery beat (settings.CELERY_BEAT_SCHEDULE): thin adapters."""

from celery import shared_task

from assurance.kpis.partitions import kpi_partitions_create, kpi_retention_apply


@shared_task(name="assurance.create_kpi_partitions")
def create_kpi_partitions() -> int:
    """Create the sample partitions of today and the coming days (idempotent)."""
    return len(kpi_partitions_create())


@shared_task(name="assurance.apply_kpi_retention")
def apply_kpi_retention() -> dict[str, int]:
    """Drop sample partitions and delete rollups past retention (idempotent)."""
    return kpi_retention_apply()
