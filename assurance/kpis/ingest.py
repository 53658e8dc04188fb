"""KPI ingest: a batch goes by COPY into a staging table, is checked and resolved there in one
statement, and lands in the samples table in one set-based INSERT; then the touched series'
rollups are recomputed and their thresholds evaluated, all in one transaction.

A row names a resource (by id or name) or a service (by id), a metric, a time and a value. Rows
that cannot be stored (unknown resource, service or metric, outside retention) are rejected
with a reason and counted; the others are stored whole. A sample sent again is a duplicate,
stored once.
"""

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db import connection, transaction

from assurance.kpis import partitions, rollups, thresholds
from assurance.models import KpiMetric, KpiSample, KpiSeries
from telco import clock

SAMPLES = KpiSample._meta.db_table
SERIES = KpiSeries._meta.db_table
# inventory's tables, named through the series' relations (its models are not imported here).
RESOURCE = KpiSeries._meta.get_field("resource").related_model._meta.db_table
SERVICE = KpiSeries._meta.get_field("service").related_model._meta.db_table
STAGING = "kpi_staging"
CHECKED = "kpi_checked"
TOUCHED = rollups.TOUCHED
# How far ahead of the clock a sample may be stamped (element clocks drift).
FUTURE_TOLERANCE = timedelta(hours=1)

COPY_TYPES = ["int4", "text", "text", "text", "timestamptz", "float8"]
# (resource reference or None, service id or None, metric, sampled at, value)
KpiRow = tuple[str | None, str | None, str, datetime, float]


@dataclass
class IngestResult:
    """What happened to a batch: rows stored, duplicates of stored samples, and rejections as
    (position in the batch, reason)."""

    received: int = 0
    stored: int = 0
    duplicates: int = 0
    rejected: list[tuple[int, str]] = field(default_factory=list)
    alarms_raised: int = 0
    alarms_cleared: int = 0

    def as_dict(self) -> dict:
        return {
            "received": self.received,
            "stored": self.stored,
            "duplicates": self.duplicates,
            "rejectedCount": len(self.rejected),
            "rejected": [{"index": index, "reason": reason} for index, reason in self.rejected],
            "alarmsRaised": self.alarms_raised,
            "alarmsCleared": self.alarms_cleared,
        }


def _temp_tables_drop(cursor) -> None:
    schema = "pg_temp" if connection.vendor == "postgresql" else "temp"
    for table in (STAGING, CHECKED, TOUCHED):
        cursor.execute(f"DROP TABLE IF EXISTS {schema}.{table}")


def _staging_create(cursor) -> None:
    columns = (
        "position integer, resource_ref text, service_ref text, metric text, "
        "sampled_at timestamp with time zone, value double precision"
    )
    on_commit = "ON COMMIT DROP" if connection.vendor == "postgresql" else ""
    cursor.execute(f"CREATE TEMP TABLE {STAGING} ({columns}) {on_commit}")


def _staging_load(cursor, rows: Iterable[KpiRow]) -> int:
    """COPY the rows into staging (PostgreSQL), else one multi-row insert. Returns the count."""
    count = 0
    if connection.vendor == "postgresql":
        sql = f"COPY {STAGING} (position, resource_ref, service_ref, metric, sampled_at, value) "
        # Binary COPY: no text formatting of times and floats on either side.
        with cursor.cursor.copy(sql + "FROM STDIN (FORMAT BINARY)") as copy:
            copy.set_types(COPY_TYPES)
            for count, row in enumerate(rows, start=1):  # noqa: B007 - the count is the result
                copy.write_row((count - 1, *row))
        return count
    values = []
    for position, (resource, service, metric, sampled_at, value) in enumerate(rows):
        at = connection.ops.adapt_datetimefield_value(sampled_at)
        values.append((position, resource, service, metric, at, value))
    sql = f"INSERT INTO {STAGING} VALUES (%s, %s, %s, %s, %s, %s)"  # noqa: S608 - a constant
    cursor.executemany(sql, values)
    return len(values)


def _digits(column: str) -> str:
    if connection.vendor == "postgresql":
        return f"{column} ~ '^[0-9]{{1,18}}$'"
    return f"({column} <> '' AND {column} NOT GLOB '*[^0-9]*' AND length({column}) <= 18)"


def _checked_sql() -> str:
    """One pass over staging: each row's resource and service resolved, and why it is refused
    (NULL when it is fine)."""
    metrics = ", ".join(f"'{metric}'" for metric in KpiMetric.values)
    is_postgresql = connection.vendor == "postgresql"
    nan = "OR s.value IN ('NaN', 'Infinity', '-Infinity')" if is_postgresql else ""
    by_id = "CASE WHEN {digits} THEN CAST({column} AS bigint) END"
    resource_id = by_id.format(digits=_digits("s.resource_ref"), column="s.resource_ref")
    service_id = by_id.format(digits=_digits("s.service_ref"), column="s.service_ref")
    on_commit = "ON COMMIT DROP" if connection.vendor == "postgresql" else ""
    return f"""
        CREATE TEMP TABLE {CHECKED} {on_commit} AS
        SELECT s.position, s.metric, s.sampled_at, s.value,
               COALESCE(ri.id, rn.id) AS resource_id, sv.id AS service_id,
               CASE
                 WHEN s.metric IS NULL OR s.metric NOT IN ({metrics})
                   THEN 'unknown metric ''' || COALESCE(s.metric, '') || ''''
                 WHEN COALESCE(s.resource_ref, '') = '' AND COALESCE(s.service_ref, '') = ''
                   THEN 'names no resource or service'
                 WHEN COALESCE(s.resource_ref, '') <> '' AND COALESCE(s.service_ref, '') <> ''
                   THEN 'names both a resource and a service'
                 WHEN COALESCE(s.resource_ref, '') <> '' AND ri.id IS NULL AND rn.id IS NULL
                   THEN 'unknown resource ''' || s.resource_ref || ''''
                 WHEN COALESCE(s.service_ref, '') <> '' AND sv.id IS NULL
                   THEN 'unknown service ''' || s.service_ref || ''''
                 WHEN s.sampled_at IS NULL THEN 'no sampling time'
                 WHEN s.sampled_at < %s THEN 'older than the retention horizon'
                 WHEN s.sampled_at > %s THEN 'in the future'
                 WHEN s.value IS NULL {nan} THEN 'not a number'
               END AS reason
        FROM {STAGING} s
        LEFT JOIN {RESOURCE} ri ON ri.id = {resource_id}
        LEFT JOIN {RESOURCE} rn ON rn.name = s.resource_ref
        LEFT JOIN {SERVICE} sv ON sv.id = {service_id}
    """  # noqa: S608 - table names from metadata, metric names from code; values are parameters


def _series_upsert(cursor) -> None:
    """The series of the batch's good rows, created if new (two partial unique indexes)."""
    for subject, other in (("resource_id", "service_id"), ("service_id", "resource_id")):
        cursor.execute(
            f"""
            INSERT INTO {SERIES} (metric, {subject})
            SELECT DISTINCT metric, {subject} FROM {CHECKED}
            WHERE reason IS NULL AND {subject} IS NOT NULL
            ON CONFLICT ({subject}, metric) WHERE {other} IS NULL DO NOTHING
            """  # noqa: S608 - names from code
        )


def _partitions_for_batch(cursor) -> None:
    if not partitions.is_partitioned():
        return
    cursor.execute(
        f"SELECT DISTINCT CAST(sampled_at AT TIME ZONE 'UTC' AS date) FROM {CHECKED} "  # noqa: S608
        "WHERE reason IS NULL"
    )
    partitions.partitions_ensure({row[0] for row in cursor.fetchall()})


def _samples_insert(cursor) -> int:
    """Insert the good rows (a repeat of a stored sample is skipped) and note, per series, the
    time range of what was new in `TOUCHED`. Returns the number stored."""
    for subject, other in (("resource_id", "service_id"), ("service_id", "resource_id")):
        cursor.execute(
            f"""
            WITH inserted AS (
                INSERT INTO {SAMPLES} (series_id, sampled_at, value)
                SELECT series.id, checked.sampled_at, checked.value
                FROM {CHECKED} checked
                JOIN {SERIES} series ON series.{subject} = checked.{subject}
                     AND series.metric = checked.metric AND series.{other} IS NULL
                WHERE checked.reason IS NULL
                ON CONFLICT (series_id, sampled_at) DO NOTHING
                RETURNING series_id, sampled_at
            )
            INSERT INTO {TOUCHED} (series_id, first_at, last_at, sample_count)
            SELECT series_id, MIN(sampled_at), MAX(sampled_at), COUNT(*)
            FROM inserted GROUP BY series_id
            """  # noqa: S608 - names from code
        )
    cursor.execute(f"SELECT COALESCE(SUM(sample_count), 0) FROM {TOUCHED}")  # noqa: S608
    return int(cursor.fetchone()[0])


def _with_cte_insert_supported() -> bool:
    return connection.vendor == "postgresql"


def _samples_insert_plain(cursor) -> int:
    """SQLite has no INSERT in a WITH: insert, then note the touched ranges from the batch."""
    before = KpiSample.objects.count()
    for subject, other in (("resource_id", "service_id"), ("service_id", "resource_id")):
        cursor.execute(
            f"""
            INSERT INTO {SAMPLES} (series_id, sampled_at, value)
            SELECT series.id, checked.sampled_at, checked.value
            FROM {CHECKED} checked
            JOIN {SERIES} series ON series.{subject} = checked.{subject}
                 AND series.metric = checked.metric AND series.{other} IS NULL
            WHERE checked.reason IS NULL
            ON CONFLICT (series_id, sampled_at) DO NOTHING
            """  # noqa: S608 - names from code
        )
        cursor.execute(
            f"""
            INSERT INTO {TOUCHED} (series_id, first_at, last_at, sample_count)
            SELECT series.id, MIN(checked.sampled_at), MAX(checked.sampled_at), COUNT(*)
            FROM {CHECKED} checked
            JOIN {SERIES} series ON series.{subject} = checked.{subject}
                 AND series.metric = checked.metric AND series.{other} IS NULL
            WHERE checked.reason IS NULL GROUP BY series.id
            """  # noqa: S608 - names from code
        )
    return KpiSample.objects.count() - before


def kpi_samples_ingest(rows: Iterable[KpiRow], *, by: str = "kpi") -> IngestResult:
    """Store a batch of KPI samples (see the module); rollups and thresholds follow in the same
    transaction, and threshold crossings raise or clear alarms."""
    result = IngestResult()
    now = clock.now()
    with transaction.atomic(), connection.cursor() as cursor:
        _temp_tables_drop(cursor)
        _staging_create(cursor)
        result.received = _staging_load(cursor, rows)
        cursor.execute(_checked_sql(), [partitions.retention_horizon(), now + FUTURE_TOLERANCE])
        cursor.execute(
            f"SELECT position, reason FROM {CHECKED} WHERE reason IS NOT NULL "  # noqa: S608
            "ORDER BY position"
        )
        result.rejected = [(position, reason) for position, reason in cursor.fetchall()]
        good = result.received - len(result.rejected)
        if good:
            _series_upsert(cursor)
            _partitions_for_batch(cursor)
            rollups.touched_create(cursor)
            if _with_cte_insert_supported():
                result.stored = _samples_insert(cursor)
            else:
                result.stored = _samples_insert_plain(cursor)
            result.duplicates = good - result.stored
            if result.stored:
                rollups.rollups_refresh(cursor)
                result.alarms_raised, result.alarms_cleared = thresholds.thresholds_evaluate(
                    cursor, by=by
                )
        # Dropped here too: inside an outer transaction, ON COMMIT comes too late for the next.
        _temp_tables_drop(cursor)
    return result
