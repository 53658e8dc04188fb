"""Thresholds with hysteresis, evaluated set-based over a batch's new samples.

A series breaches when it stays above `raise_above` for `raise_after` consecutive samples, and
the breach ends at the first sample below `clear_below` (values in between change nothing). The
run of samples above and the raised flag carry from one batch to the next in
`KpiThresholdState`. One statement of window functions finds, for every touched series, where
its state flips and where it ends; only those rows come back to Python, which records the
breaches and raises or clears their TMF642 `qualityOfServiceAlarm` through the alarm ingest's
bulk path (so they join incidents by correlation like any alarm).
"""

from datetime import UTC, datetime

from django.core.exceptions import ValidationError
from django.db import transaction

from assurance.choices import AlarmType, IngestOutcome, Severity
from assurance.models import KpiBreach, KpiSample, KpiSeries, KpiThreshold, KpiThresholdState
from assurance.models.kpis import KpiMetric
from assurance.services.ingest import AlarmReport, alarms_ingest
from telco.exceptions import DomainError

SAMPLES = KpiSample._meta.db_table
SERIES = KpiSeries._meta.db_table
THRESHOLDS = KpiThreshold._meta.db_table
STATES = KpiThresholdState._meta.db_table
TOUCHED = "kpi_touched"
SOURCE_SYSTEM = "kpi"
PROBABLE_CAUSE = "thresholdCrossed"

WINDOW = "(PARTITION BY series_id ORDER BY rn ROWS UNBOUNDED PRECEDING)"

EVALUATE_SQL = f"""
    WITH applicable AS (
        SELECT touched.series_id, touched.first_at, threshold.id AS threshold_id,
               threshold.raise_above, threshold.clear_below, threshold.raise_after,
               COALESCE(state.consecutive_above, 0) AS carry,
               COALESCE(state.is_raised, FALSE) AS was_raised,
               state.last_sampled_at
        FROM {TOUCHED} touched
        JOIN {SERIES} series ON series.id = touched.series_id
        JOIN {THRESHOLDS} threshold ON threshold.id = (
            SELECT candidate.id FROM {THRESHOLDS} candidate
            WHERE candidate.is_active AND candidate.metric = series.metric
              AND (candidate.resource_id = series.resource_id OR candidate.resource_id IS NULL)
            ORDER BY CASE WHEN candidate.resource_id IS NULL THEN 1 ELSE 0 END
            LIMIT 1
        )
        LEFT JOIN {STATES} state
               ON state.threshold_id = threshold.id AND state.series_id = touched.series_id
    ),
    ordered AS (
        SELECT applicable.*, sample.sampled_at, sample.value,
               ROW_NUMBER() OVER (
                   PARTITION BY applicable.series_id ORDER BY sample.sampled_at
               ) AS rn,
               COUNT(*) OVER (PARTITION BY applicable.series_id) AS total
        FROM applicable
        JOIN {SAMPLES} sample ON sample.series_id = applicable.series_id
             AND sample.sampled_at >= applicable.first_at
        WHERE applicable.last_sampled_at IS NULL
           OR sample.sampled_at > applicable.last_sampled_at
    ),
    marks AS (
        SELECT ordered.*,
               MAX(CASE WHEN value <= raise_above THEN rn END) OVER {WINDOW} AS last_not_above,
               MAX(CASE WHEN value < clear_below THEN rn END) OVER {WINDOW} AS last_below
        FROM ordered
    ),
    runs AS (
        SELECT marks.*,
               CASE WHEN value > raise_above
                    THEN rn - COALESCE(last_not_above, 0)
                         + CASE WHEN last_not_above IS NULL THEN carry ELSE 0 END
                    ELSE 0 END AS run
        FROM marks
    ),
    raises AS (
        SELECT runs.*,
               MAX(CASE WHEN run >= raise_after THEN rn END) OVER {WINDOW} AS last_raise
        FROM runs
    ),
    states AS (
        SELECT raises.*,
               CASE WHEN last_raise IS NULL AND last_below IS NULL THEN was_raised
                    WHEN last_below IS NULL THEN TRUE
                    WHEN last_raise IS NULL THEN FALSE
                    ELSE last_raise > last_below END AS is_raised
        FROM raises
    ),
    moves AS (
        SELECT states.*,
               LAG(is_raised, 1, was_raised) OVER (PARTITION BY series_id ORDER BY rn) AS before
        FROM states
    )
    SELECT series_id, threshold_id, sampled_at, value, run, is_raised, before, rn = total
    FROM moves
    WHERE is_raised <> before OR rn = total
    ORDER BY series_id, rn
"""  # noqa: S608 - table names from model metadata; no values


def _report(series: KpiSeries, threshold: KpiThreshold, move: tuple) -> AlarmReport:
    """The alarm report of a raise or clear; its reduction key names the series and level."""
    _, _, sampled_at, value, is_raise = move
    if series.resource_id:
        object_id, object_type = str(series.resource_id), "Resource"
    else:
        object_id, object_type = f"service:{series.service_id}", "Service"
    return AlarmReport(
        source_system_id=SOURCE_SYSTEM,
        alarmed_object_id=object_id,
        alarmed_object_type=object_type,
        alarm_type=AlarmType.QUALITY_OF_SERVICE,
        perceived_severity=threshold.severity,
        probable_cause=PROBABLE_CAUSE,
        specific_problem=f"{series.metric} above {threshold.raise_above:g}",
        alarm_details=(
            f"{KpiMetric(series.metric).label} {value:g} above {threshold.raise_above:g} for "
            f"{threshold.raise_after} consecutive samples"
        )
        if is_raise
        else "",
        alarm_raised_time=sampled_at,
        is_clear=not is_raise,
        cleared_time=None if is_raise else sampled_at,
    )


def _breaches_record(moves: list[tuple], alarm_ids: list[int | None]) -> None:
    """A breach per raise (with its alarm), ended by the clear that follows it, in bulk."""
    opened: dict[tuple[int, int], KpiBreach] = {}
    new = []
    for (series_id, threshold_id, sampled_at, _, is_raise), alarm_id in zip(
        moves, alarm_ids, strict=True
    ):
        key = (threshold_id, series_id)
        if is_raise:
            opened[key] = KpiBreach(
                threshold_id=threshold_id,
                series_id=series_id,
                started_at=sampled_at,
                alarm_id=alarm_id,
            )
            new.append(opened[key])
        elif key in opened:
            opened.pop(key).ended_at = sampled_at
        else:
            KpiBreach.objects.filter(
                threshold_id=threshold_id, series_id=series_id, ended_at__isnull=True
            ).update(ended_at=sampled_at)
    KpiBreach.objects.bulk_create(new)


def _aware(value) -> datetime:
    """A time from raw SQL: PostgreSQL answers it aware; SQLite naive (UTC) or as ISO text."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def thresholds_evaluate(cursor, *, by: str = "kpi") -> tuple[int, int]:
    """Evaluate the thresholds of the series in the batch's `kpi_touched` table, record state,
    breaches and alarms. Returns (alarms raised, alarms cleared)."""
    cursor.execute(EVALUATE_SQL)
    rows = cursor.fetchall()
    if not rows:
        return 0, 0
    series = KpiSeries.objects.in_bulk({row[0] for row in rows})
    thresholds = KpiThreshold.objects.in_bulk({row[1] for row in rows})
    states = []
    raised, cleared = [], []
    for series_id, threshold_id, raw_time, value, run, is_raised, before, is_last in rows:
        sampled_at = _aware(raw_time)
        if bool(is_raised) != bool(before):
            (raised if is_raised else cleared).append((series_id, threshold_id, sampled_at, value))
        if is_last:
            states.append(
                KpiThresholdState(
                    threshold_id=threshold_id,
                    series_id=series_id,
                    consecutive_above=run,
                    is_raised=bool(is_raised),
                    last_sampled_at=sampled_at,
                )
            )
    KpiThresholdState.objects.bulk_create(
        states,
        update_conflicts=True,
        unique_fields=["threshold", "series"],
        update_fields=["consecutive_above", "is_raised", "last_sampled_at"],
    )
    # In time order per series, a raise and a clear alternate: reported in that order, the
    # alarm ingest pairs each clear with its raise by the reduction key.
    moves = sorted(
        [(*move, True) for move in raised] + [(*move, False) for move in cleared],
        key=lambda move: (move[0], move[2]),
    )
    if not moves:
        return 0, 0
    reports = [_report(series[move[0]], thresholds[move[1]], move) for move in moves]
    # Service series name no inventory resource: their alarms are kept, without impact.
    answers = alarms_ingest(reports, by=by, keep_unknown=True)
    _breaches_record(moves, [answer.alarm_id for answer in answers])
    raised_count = sum(1 for move in moves if move[4])
    cleared_count = sum(1 for answer in answers if answer.outcome == IngestOutcome.CLEARED)
    return raised_count, cleared_count


def kpi_threshold_set(
    *,
    metric: str,
    raise_above: float,
    clear_below: float,
    raise_after: int = 3,
    severity: str = Severity.MAJOR,
    resource_id: int | None = None,
    is_active: bool = True,
) -> KpiThreshold:
    """Create or change the threshold of `metric` (on one resource, or the metric's own) after
    checking its terms as the admin does (`KpiThreshold.clean` and the constraints)."""
    with transaction.atomic():
        threshold = (
            KpiThreshold.objects.select_for_update()
            .filter(metric=metric, resource_id=resource_id)
            .first()
        ) or KpiThreshold(metric=metric, resource_id=resource_id)
        threshold.raise_above, threshold.clear_below = raise_above, clear_below
        threshold.raise_after, threshold.severity = raise_after, severity
        threshold.is_active = is_active
        try:
            threshold.full_clean()
        except ValidationError as error:
            field, messages = next(iter(error.message_dict.items()))
            named = None if field == "__all__" else field
            raise DomainError(" ".join(messages), field=named) from None
        threshold.save()
    return threshold
