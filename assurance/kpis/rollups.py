"""5-minute and hourly rollups of KPI samples, recomputed set-based for the buckets a batch
touched (so a late or repeated sample can never leave a rollup wrong)."""

from django.db import connection

from assurance.models import KpiRollup, KpiSample
from assurance.models.kpis import RollupResolution

SAMPLES = KpiSample._meta.db_table
ROLLUPS = KpiRollup._meta.db_table
# Per batch: each series that got new samples, with their time range.
TOUCHED = "kpi_touched"
FIVE_MINUTES = 300
HOUR = 3600


def bucket(column: str, seconds: int) -> str:
    """SQL for the start of the `seconds`-long bucket holding the time in `column`."""
    if connection.vendor == "postgresql":
        return f"date_bin('{seconds} seconds', {column}, TIMESTAMPTZ '2000-01-01 00:00:00+00')"
    return (
        f"strftime('%%Y-%%m-%%d %%H:%%M:%%S', "
        f"(CAST(strftime('%%s', {column}) AS integer) / {seconds}) * {seconds}, 'unixepoch')"
    )


def bucket_end(column: str, seconds: int) -> str:
    """SQL for the end of the bucket holding `column` (its start plus `seconds`)."""
    if connection.vendor == "postgresql":
        return f"({bucket(column, seconds)} + INTERVAL '{seconds} seconds')"
    return (
        f"strftime('%%Y-%%m-%%d %%H:%%M:%%S', "
        f"(CAST(strftime('%%s', {column}) AS integer) / {seconds} + 1) * {seconds}, 'unixepoch')"
    )


def touched_create(cursor) -> None:
    on_commit = "ON COMMIT DROP" if connection.vendor == "postgresql" else ""
    cursor.execute(
        f"CREATE TEMP TABLE {TOUCHED} (series_id bigint, first_at timestamp with time zone, "
        f"last_at timestamp with time zone, sample_count integer) {on_commit}"
    )


UPSERT = """
    ON CONFLICT (resolution, series_id, bucket_start) DO UPDATE SET
        sample_count = excluded.sample_count, value_sum = excluded.value_sum,
        value_min = excluded.value_min, value_max = excluded.value_max
"""


def rollups_refresh(cursor) -> None:
    """Recompute the 5-minute buckets the touched ranges fall in from the samples, then the
    hourly buckets from the 5-minute ones: two INSERT ... SELECT ... ON CONFLICT DO UPDATE."""
    five = bucket("sample.sampled_at", FIVE_MINUTES)
    cursor.execute(
        f"""
        INSERT INTO {ROLLUPS} (resolution, series_id, bucket_start, sample_count, value_sum,
                               value_min, value_max)
        SELECT %s, sample.series_id, {five}, COUNT(*), SUM(sample.value), MIN(sample.value),
               MAX(sample.value)
        FROM {TOUCHED} touched
        JOIN {SAMPLES} sample ON sample.series_id = touched.series_id
             AND sample.sampled_at >= {bucket("touched.first_at", FIVE_MINUTES)}
             AND sample.sampled_at < {bucket_end("touched.last_at", FIVE_MINUTES)}
        WHERE 1 = 1
        GROUP BY sample.series_id, {five}
        {UPSERT}
        """,  # noqa: S608 - names and bucket sizes from code
        [RollupResolution.FIVE_MINUTES],
    )
    hour = bucket("rollup.bucket_start", HOUR)
    cursor.execute(
        f"""
        INSERT INTO {ROLLUPS} (resolution, series_id, bucket_start, sample_count, value_sum,
                               value_min, value_max)
        SELECT %s, rollup.series_id, {hour}, SUM(rollup.sample_count), SUM(rollup.value_sum),
               MIN(rollup.value_min), MAX(rollup.value_max)
        FROM {TOUCHED} touched
        JOIN {ROLLUPS} rollup ON rollup.series_id = touched.series_id AND rollup.resolution = %s
             AND rollup.bucket_start >= {bucket("touched.first_at", HOUR)}
             AND rollup.bucket_start < {bucket_end("touched.last_at", HOUR)}
        WHERE 1 = 1
        GROUP BY rollup.series_id, {hour}
        {UPSERT}
        """,  # noqa: S608 - names and bucket sizes from code
        [RollupResolution.HOUR, RollupResolution.FIVE_MINUTES],
    )
