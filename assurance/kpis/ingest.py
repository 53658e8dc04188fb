"""KPI ingest: a batch goes by COPY into a staging table, its rows naming their (resource,
service, metric) key by a number given as they are copied; the keys are resolved once each and
their series created if new; the good rows land in the samples table in one set-based INSERT
whose returned rows feed the 5-minute and hourly rollups in the same statement; then the
thresholds of the touched series are evaluated. One transaction.

A row names a resource (by id or name) or a service (by id), a metric, a time and a value. Rows
that cannot be stored (unknown resource, service or metric, no or bad time, outside retention,
not a number) are rejected with a reason, counted and logged; the others are stored whole. A
sample sent again is a duplicate, stored once.

Why it is shaped so (a batch of 100,000 rows names a few hundred keys): names copied and
resolved once per key instead of per row, no second copy of the batch (the checks are predicates
of the one INSERT), rollups added from the rows the INSERT returns instead of re-reading the
samples, and no per-row foreign-key trigger on samples and rollups (the series a batch writes
are key-share locked once, which is what that trigger did for every row).
"""

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from django.db import connection, transaction

from assurance.kpis import partitions, rollups, thresholds
from assurance.models import KpiMetric, KpiSample, KpiSeries
from telco import clock

logger = logging.getLogger(__name__)

SAMPLES = KpiSample._meta.db_table
SERIES = KpiSeries._meta.db_table
# inventory's tables, named through the series' relations (its models are not imported here).
RESOURCE = KpiSeries._meta.get_field("resource").related_model._meta.db_table
SERVICE = KpiSeries._meta.get_field("service").related_model._meta.db_table
STAGING = "kpi_staging"
BATCH_KEYS = "kpi_batch_keys"
KEYS = "kpi_keys"
TOUCHED = rollups.TOUCHED
# How far ahead of the clock a sample may be stamped (element clocks drift).
FUTURE_TOLERANCE = timedelta(hours=1)
# Rejections named in the log line of a batch (all of them are in the result).
LOGGED_REJECTIONS = 5

STAGING_TYPES = ["int4", "int4", "timestamptz", "float8"]
KEY_TYPES = ["int4", "text", "text", "text"]
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


def _is_postgresql() -> bool:
    return connection.vendor == "postgresql"


def _temp_tables_drop(cursor) -> None:
    schema = "pg_temp" if _is_postgresql() else "temp"
    for table in (STAGING, BATCH_KEYS, KEYS, TOUCHED):
        cursor.execute(f"DROP TABLE IF EXISTS {schema}.{table}")


def _staging_create(cursor) -> None:
    """The batch's rows, each naming its key by number, and its keys (resource, service,
    metric) as sent: a few hundred names instead of 100,000 copies of them."""
    on_commit = "ON COMMIT DROP" if _is_postgresql() else ""
    cursor.execute(
        f"CREATE TEMP TABLE {STAGING} (position integer, key_id integer, "
        f"sampled_at timestamp with time zone, value double precision) {on_commit}"
    )
    cursor.execute(
        f"CREATE TEMP TABLE {BATCH_KEYS} (key_id integer, resource_ref text, service_ref text, "
        f"metric text) {on_commit}"
    )


def _staging_load(cursor, rows: Iterable[KpiRow]) -> int:
    """COPY the rows and their keys into staging (PostgreSQL), else multi-row inserts. Returns
    the count of rows."""
    keys: dict[tuple, int] = {}
    count = 0
    if _is_postgresql():
        # Binary COPY: no text formatting of times and floats on either side.
        sql = f"COPY {STAGING} (position, key_id, sampled_at, value) FROM STDIN (FORMAT BINARY)"
        with cursor.cursor.copy(sql) as copy:
            copy.set_types(STAGING_TYPES)
            write = copy.write_row
            for count, (resource, service, metric, sampled_at, value) in enumerate(rows, 1):
                key = (resource, service, metric)
                number = keys.get(key)
                if number is None:
                    number = keys[key] = len(keys)
                write((count - 1, number, sampled_at, value))
        sql = f"COPY {BATCH_KEYS} (key_id, resource_ref, service_ref, metric) FROM STDIN"
        with cursor.cursor.copy(sql + " (FORMAT BINARY)") as copy:
            copy.set_types(KEY_TYPES)
            for key, number in keys.items():
                copy.write_row((number, *key))
        return count
    values = []
    for position, (resource, service, metric, sampled_at, value) in enumerate(rows):
        number = keys.setdefault((resource, service, metric), len(keys))
        values.append(
            (position, number, connection.ops.adapt_datetimefield_value(sampled_at), value)
        )
    cursor.executemany(f"INSERT INTO {STAGING} VALUES (%s, %s, %s, %s)", values)  # noqa: S608
    cursor.executemany(
        f"INSERT INTO {BATCH_KEYS} VALUES (%s, %s, %s, %s)",  # noqa: S608 - a constant
        [(number, *key) for key, number in keys.items()],
    )
    return len(values)


def _digits(column: str) -> str:
    if _is_postgresql():
        return f"{column} ~ '^[0-9]{{1,18}}$'"
    return f"({column} <> '' AND {column} NOT GLOB '*[^0-9]*' AND length({column}) <= 18)"


def _keys_sql() -> str:
    """The batch's keys (absent parts as ''), each resolved to its resource or service once,
    with why it is refused (NULL when it is fine)."""
    metrics = ", ".join(f"'{metric}'" for metric in KpiMetric.values)
    by_id = "CASE WHEN {digits} THEN CAST({column} AS bigint) END"
    resource_id = by_id.format(digits=_digits("k.resource_ref"), column="k.resource_ref")
    service_id = by_id.format(digits=_digits("k.service_ref"), column="k.service_ref")
    on_commit = "ON COMMIT DROP" if _is_postgresql() else ""
    return f"""
        CREATE TEMP TABLE {KEYS} {on_commit} AS
        SELECT k.key_id, k.resource_ref, k.service_ref, k.metric,
               COALESCE(ri.id, rn.id) AS resource_id, sv.id AS service_id,
               CAST(NULL AS bigint) AS series_id,
               CASE
                 WHEN k.metric NOT IN ({metrics})
                   THEN 'unknown metric ''' || k.metric || ''''
                 WHEN k.resource_ref = '' AND k.service_ref = ''
                   THEN 'names no resource or service'
                 WHEN k.resource_ref <> '' AND k.service_ref <> ''
                   THEN 'names both a resource and a service'
                 WHEN k.resource_ref <> '' AND ri.id IS NULL AND rn.id IS NULL
                   THEN 'unknown resource ''' || k.resource_ref || ''''
                 WHEN k.service_ref <> '' AND sv.id IS NULL
                   THEN 'unknown service ''' || k.service_ref || ''''
               END AS reason
        FROM (
            SELECT key_id, COALESCE(resource_ref, '') AS resource_ref,
                   COALESCE(service_ref, '') AS service_ref, COALESCE(metric, '') AS metric
            FROM {BATCH_KEYS}
        ) k
        LEFT JOIN {RESOURCE} ri ON ri.id = {resource_id}
        LEFT JOIN {RESOURCE} rn ON rn.name = k.resource_ref AND k.resource_ref <> ''
        LEFT JOIN {SERVICE} sv ON sv.id = {service_id}
    """  # noqa: S608 - table names from metadata, metric names from code


# A staging row `s` with its key `k`.
KEY_JOIN = f"{KEYS} k ON k.key_id = s.key_id"


def _row_is_good() -> str:
    """The row's own checks (time within [horizon, now + tolerance], a finite value); two
    parameters: the horizon and the latest time accepted."""
    finite = "AND s.value NOT IN ('NaN', 'Infinity', '-Infinity')" if _is_postgresql() else ""
    return f"s.sampled_at >= %s AND s.sampled_at <= %s AND s.value IS NOT NULL {finite}"


def _rejections_sql(*, any_key_refused: bool) -> str:
    """Every refused row's position and reason, in batch order; four parameters. The rows are
    joined to their keys only when a key is refused (most batches: none is)."""
    nan = "OR s.value IN ('NaN', 'Infinity', '-Infinity')" if _is_postgresql() else ""
    row_reason = f"""CASE
        WHEN s.sampled_at IS NULL THEN 'no sampling time'
        WHEN s.sampled_at < %s THEN 'older than the retention horizon'
        WHEN s.sampled_at > %s THEN 'in the future'
        WHEN s.value IS NULL {nan} THEN 'not a number'
    END"""
    row_is_bad = f"NOT ({_row_is_good()}) OR s.sampled_at IS NULL OR s.value IS NULL"
    if any_key_refused:
        source = f"{STAGING} s JOIN {KEY_JOIN}"
        reason, refused = (
            f"COALESCE(k.reason, {row_reason})",
            f"k.reason IS NOT NULL OR {row_is_bad}",
        )
    else:
        source, reason, refused = f"{STAGING} s", row_reason, row_is_bad
    return f"SELECT s.position, {reason} FROM {source} WHERE {refused} ORDER BY s.position"  # noqa: S608


def _series_resolve(cursor) -> None:
    """The series of the good keys, created if new (two partial unique indexes), noted on the
    keys and key-share locked, so none can be deleted before the samples naming it commit (the
    samples' foreign key is not enforced row by row; see the module)."""
    for subject, other in (("resource_id", "service_id"), ("service_id", "resource_id")):
        cursor.execute(
            f"""
            INSERT INTO {SERIES} (metric, {subject})
            SELECT DISTINCT metric, {subject} FROM {KEYS}
            WHERE reason IS NULL AND {subject} IS NOT NULL
            ON CONFLICT ({subject}, metric) WHERE {other} IS NULL DO NOTHING
            """  # noqa: S608 - names from code
        )
        cursor.execute(
            f"""
            UPDATE {KEYS} SET series_id = (
                SELECT series.id FROM {SERIES} series
                WHERE series.{subject} = {KEYS}.{subject} AND series.metric = {KEYS}.metric
                  AND series.{other} IS NULL
            )
            WHERE reason IS NULL AND {subject} IS NOT NULL
            """  # noqa: S608 - names from code
        )
    if _is_postgresql():
        cursor.execute(
            f"SELECT id FROM {SERIES} WHERE id IN (SELECT series_id FROM {KEYS}) "  # noqa: S608
            "ORDER BY id FOR KEY SHARE"
        )
        # Their statistics: the planner then hashes the batch against its few keys.
        cursor.execute(f"ANALYZE {KEYS}")


def _partitions_for_batch(cursor, horizon: datetime, latest: datetime) -> None:
    """The day partitions from the batch's first good time to its last (the days between are
    few: retention bounds them, and the daily task has made most of them already)."""
    if not partitions.is_partitioned():
        return
    cursor.execute(
        f"SELECT MIN(sampled_at), MAX(sampled_at) FROM {STAGING} "  # noqa: S608
        "WHERE sampled_at >= %s AND sampled_at <= %s",
        [horizon, latest],
    )
    first, last = cursor.fetchone()
    if first is None:
        return
    days: set[date] = set()
    day, last_day = first.astimezone(UTC).date(), last.astimezone(UTC).date()
    while day <= last_day:
        days.add(day)
        day += timedelta(days=1)
    partitions.partitions_ensure(days)


def _good_rows_sql() -> str:
    """The good rows as (series_id, sampled_at, value), in index order; two parameters."""
    return f"""
        SELECT k.series_id, s.sampled_at, s.value
        FROM {STAGING} s JOIN {KEY_JOIN}
        WHERE k.series_id IS NOT NULL AND {_row_is_good()}
    """  # noqa: S608 - names from code


def _rollup_add(resolution: str, seconds: int) -> str:
    """A data-modifying WITH member: the inserted rows' buckets added to the stored rollups (a
    sample is inserted once, so it is added once)."""
    table = rollups.ROLLUPS
    return f"""
        INSERT INTO {table} AS rollup (resolution, series_id, bucket_start, sample_count,
                                       value_sum, value_min, value_max)
        SELECT '{resolution}', series_id, {rollups.bucket("sampled_at", seconds)}, COUNT(*),
               SUM(value), MIN(value), MAX(value)
        FROM inserted GROUP BY series_id, 3
        ON CONFLICT (resolution, series_id, bucket_start) DO UPDATE SET
            sample_count = rollup.sample_count + excluded.sample_count,
            value_sum = rollup.value_sum + excluded.value_sum,
            value_min = LEAST(rollup.value_min, excluded.value_min),
            value_max = GREATEST(rollup.value_max, excluded.value_max)
    """  # noqa: S608 - names, resolutions and bucket sizes from code


def _samples_insert(cursor, bounds: list) -> int:
    """Insert the good rows (a repeat of a stored sample is skipped), add them to their rollups
    and note, per series, the time range of what was new in `TOUCHED`: one statement. Returns
    the number stored."""
    five_minutes = _rollup_add(rollups.RollupResolution.FIVE_MINUTES, rollups.FIVE_MINUTES)
    hours = _rollup_add(rollups.RollupResolution.HOUR, rollups.HOUR)
    cursor.execute(
        f"""
        WITH inserted AS (
            INSERT INTO {SAMPLES} (series_id, sampled_at, value)
            SELECT * FROM ({_good_rows_sql()}) good ORDER BY series_id, sampled_at
            ON CONFLICT (series_id, sampled_at) DO NOTHING
            RETURNING series_id, sampled_at, value
        ),
        five_minutes AS ({five_minutes}),
        hours AS ({hours})
        INSERT INTO {TOUCHED} (series_id, first_at, last_at, sample_count)
        SELECT series_id, MIN(sampled_at), MAX(sampled_at), COUNT(*)
        FROM inserted GROUP BY series_id
        """,  # noqa: S608 - names from code; values are parameters
        bounds,
    )
    cursor.execute(f"SELECT COALESCE(SUM(sample_count), 0) FROM {TOUCHED}")  # noqa: S608
    return int(cursor.fetchone()[0])


def _samples_insert_plain(cursor, bounds: list) -> int:
    """SQLite has no INSERT in a WITH: insert, note the touched ranges from the batch, and
    recompute their rollups from the samples."""
    before = KpiSample.objects.count()
    cursor.execute(
        f"""
        INSERT INTO {SAMPLES} (series_id, sampled_at, value)
        SELECT * FROM ({_good_rows_sql()}) good WHERE 1 = 1
        ON CONFLICT (series_id, sampled_at) DO NOTHING
        """,  # noqa: S608 - names from code
        bounds,
    )
    cursor.execute(
        f"""
        INSERT INTO {TOUCHED} (series_id, first_at, last_at, sample_count)
        SELECT series_id, MIN(sampled_at), MAX(sampled_at), COUNT(*)
        FROM ({_good_rows_sql()}) good GROUP BY series_id
        """,  # noqa: S608 - names from code
        bounds,
    )
    stored = KpiSample.objects.count() - before
    if stored:
        rollups.rollups_refresh(cursor)
    return stored


def kpi_ingest_log(result: IngestResult, *, by: str) -> None:
    """A warning naming a batch's rejections (counts and the first few), when it has some."""
    if not result.rejected:
        return
    first = "; ".join(
        f"#{index}: {reason}" for index, reason in result.rejected[:LOGGED_REJECTIONS]
    )
    logger.warning(
        "kpi ingest by %s: %d received, %d stored, %d duplicates, %d rejected (%s%s)",
        by,
        result.received,
        result.stored,
        result.duplicates,
        len(result.rejected),
        first,
        "; ..." if len(result.rejected) > LOGGED_REJECTIONS else "",
    )


def kpi_samples_ingest(
    rows: Iterable[KpiRow], *, by: str = "kpi", log: bool = True
) -> IngestResult:
    """Store a batch of KPI samples (see the module); rollups and thresholds follow in the same
    transaction, and threshold crossings raise or clear alarms. Rejections are answered in the
    result and logged (unless the caller logs them itself, with `kpi_ingest_log`)."""
    result = IngestResult()
    now = clock.now()
    horizon, latest = partitions.retention_horizon(), now + FUTURE_TOLERANCE
    with transaction.atomic(), connection.cursor() as cursor:
        _temp_tables_drop(cursor)
        _staging_create(cursor)
        result.received = _staging_load(cursor, rows)
        if _is_postgresql():
            # Memory to sort the batch in series order without spilling.
            cursor.execute("SET LOCAL work_mem = '64MB'")
        cursor.execute(_keys_sql())
        cursor.execute(f"SELECT COUNT(*) FROM {KEYS} WHERE reason IS NOT NULL")  # noqa: S608
        any_key_refused = cursor.fetchone()[0] > 0
        cursor.execute(
            _rejections_sql(any_key_refused=any_key_refused), [horizon, latest, horizon, latest]
        )
        result.rejected = [(position, reason) for position, reason in cursor.fetchall()]
        good = result.received - len(result.rejected)
        if good:
            _series_resolve(cursor)
            _partitions_for_batch(cursor, horizon, latest)
            rollups.touched_create(cursor)
            if _is_postgresql():
                result.stored = _samples_insert(cursor, [horizon, latest])
            else:
                result.stored = _samples_insert_plain(cursor, [horizon, latest])
            result.duplicates = good - result.stored
            if _is_postgresql():
                cursor.execute("SET LOCAL work_mem TO DEFAULT")
            if result.stored:
                result.alarms_raised, result.alarms_cleared = thresholds.thresholds_evaluate(
                    cursor, by=by
                )
        # Dropped here too: inside an outer transaction, ON COMMIT comes too late for the next.
        _temp_tables_drop(cursor)
    if log:
        kpi_ingest_log(result, by=by)
    return result
