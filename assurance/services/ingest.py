"""Alarms as networks send them: many at once, deduplicated, cleared and reopened set-based.

`alarms_ingest` takes a batch of reports (raises and clears, in the order the source sent them)
and answers, per report, what happened. The work is a handful of statements per batch whatever
its size (PostgreSQL):

1. the alarmed objects are resolved in one query; a report naming no inventory resource is
   rejected (the single TMF POST keeps such alarms; a feed of thousands should say so instead);
2. reports of one reduction key are grouped; a key whose reports alternate (raise, clear,
   raise) is handled in rounds, one per alternation, so the order of arrival is respected;
3. per round: a recently cleared alarm of a raised key is reopened (flapping, one UPDATE);
   every raised key goes through ONE `INSERT ... ON CONFLICT (reduction_key) WHERE state <>
   'cleared' DO UPDATE ... RETURNING (xmax = 0)` (inserted or counted: `occurrence_count`
   grows by the number of reports; a new alarm on an element whose open incident is rooted
   there is stored in it, a guess correlation confirms); every cleared key through ONE UPDATE;
4. the history rows of every move, the affected services of every new alarm (one read of the
   kept service paths for all their resources) and `is_service_affecting`, each in one
   statement.

Per item, not all-or-nothing: valid reports are stored, invalid ones answered `rejected` with a
reason, in one transaction (so nothing is half-written). After it commits, the touched alarms
go to `assurance.correlation.correlate`.
"""

import logging
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection, transaction

from assurance.choices import (
    ALARM_REOPEN_TRANSITIONS,
    ALARM_TRANSITIONS,
    OPEN_INCIDENT_STATES,
    AckState,
    AlarmState,
    IngestOutcome,
)
from assurance.models import Alarm, AlarmStateChange, Incident
from assurance.services.alarms import alarm_clear, alarm_raise, alarms_correlate, reduction_key
from inventory import selectors as inventory_selectors
from telco import clock
from telco.db import bound_cursor, id_array, json_column

logger = logging.getLogger(__name__)

ALARM = Alarm._meta.db_table
HISTORY = AlarmStateChange._meta.db_table
INCIDENT = Incident._meta.db_table
AFFECTED = Alarm.affected_services.through._meta.db_table

UNKNOWN_RESOURCE = "No resource in the inventory has this id or name."
NOTHING_TO_CLEAR = "No active alarm has this reduction key: nothing to clear."


@dataclass(frozen=True)
class AlarmReport:
    """One alarm as a source reports it: a raise (or repeat), or with `is_clear` its clear."""

    source_system_id: str
    alarmed_object_id: str
    alarm_type: str
    probable_cause: str
    perceived_severity: str = "major"
    alarm_raised_time: datetime | None = None
    specific_problem: str = ""
    alarm_details: str = ""
    alarmed_object_type: str = ""
    external_alarm_id: str = ""
    is_clear: bool = False
    cleared_time: datetime | None = None


@dataclass
class IngestResult:
    """What happened to report `index` of the batch; `field` names the input a rejection is
    about (`alarmedObject.id`)."""

    index: int
    outcome: str
    alarm_id: int | None = None
    reason: str = ""
    field: str = ""


def _flap_window() -> timedelta:
    return timedelta(minutes=settings.ALARM_FLAP_MINUTES)


# Keys raised again soon after their clear: the latest cleared alarm of each reopens, unless the
# key has an active alarm meanwhile. Its flap cycle is counted in the window it opened.
REOPEN_SQL = f"""
    WITH candidate AS (
        SELECT DISTINCT ON (reduction_key) id, reduction_key
        FROM {ALARM}
        WHERE reduction_key = ANY(ARRAY(SELECT json_array_elements_text(%(keys)s::json)))
          AND state = ANY(%(from_states)s::text[])
          AND alarm_cleared_time >= %(since)s
        ORDER BY reduction_key, alarm_cleared_time DESC, id DESC
    ),
    counted AS (
        SELECT alarm.id,
               CASE WHEN alarm.flap_window_start >= %(since)s
                    THEN alarm.flap_count + 1 ELSE 1 END AS cycles,
               CASE WHEN alarm.flap_window_start >= %(since)s
                    THEN alarm.flap_window_start ELSE %(now)s END AS window_start
        FROM {ALARM} alarm JOIN candidate ON candidate.id = alarm.id
        WHERE NOT EXISTS (
            SELECT 1 FROM {ALARM} active
            WHERE active.reduction_key = candidate.reduction_key AND NOT (active.state = 'cleared')
        )
        FOR UPDATE OF alarm
    )
    UPDATE {ALARM} alarm SET
        state = %(raised)s, alarm_cleared_time = NULL, alarm_changed_time = %(now)s,
        flap_count = counted.cycles, flap_window_start = counted.window_start,
        is_flapping = counted.cycles >= %(cycles)s
    FROM counted WHERE alarm.id = counted.id
    RETURNING alarm.id, alarm.reduction_key, alarm.flap_count, alarm.is_flapping
"""  # noqa: S608 - table names come from model metadata; every value is a parameter

# One statement: new alarm or repeat of an active one. The conflict target repeats the partial
# unique index's predicate word for word, as PostgreSQL requires to pick that index.
# A new alarm on an element whose open incident is rooted there is stored in that incident,
# under its root: correlation's answer in the common case (the next fault of a failed element),
# which it confirms, or corrects, after the commit. A right guess spares it rewriting the alarm.
UPSERT_MANY_SQL = f"""
    WITH report AS (
        SELECT * FROM ROWS FROM ({", ".join(["json_array_elements_text(%s::json)"] * 13)})
            AS report(external, source, object_ref, object_type, resource, alarm_type, severity,
                      cause, problem, details, key, occurrences, raised)
    ),
    open_incident AS (
        SELECT DISTINCT ON (root.resource_id) root.resource_id, incident.id, root.id AS root_id
        FROM {INCIDENT} incident JOIN {ALARM} root ON root.id = incident.root_alarm_id
        WHERE incident.state = ANY(%s::text[]) AND root.state <> 'cleared'
          AND root.resource_id IN (SELECT resource::bigint FROM report)
        ORDER BY root.resource_id, root.alarm_raised_time, root.id
    )
    INSERT INTO {ALARM} (
        external_alarm_id, source_system_id, alarmed_object_ref, alarmed_object_type,
        resource_id, alarm_type, perceived_severity, probable_cause, specific_problem,
        alarm_details, state, ack_state, ack_user_id, ack_system_id, reduction_key,
        occurrence_count, is_service_affecting, alarm_raised_time, alarm_reported_time,
        alarm_changed_time, alarm_cleared_time, comments, incident_id, root_alarm_id
    )
    SELECT external, source, object_ref, object_type, resource::bigint, alarm_type, severity,
           cause, problem, details, %s, %s, '', '', key, occurrences::int, FALSE,
           raised::timestamptz, %s, NULL, NULL, '[]', open_incident.id, open_incident.root_id
    FROM report LEFT JOIN open_incident ON open_incident.resource_id = report.resource::bigint
    ON CONFLICT (reduction_key) WHERE NOT ("state" = 'cleared') DO UPDATE SET
        occurrence_count = {ALARM}.occurrence_count + excluded.occurrence_count,
        alarm_changed_time = excluded.alarm_reported_time,
        perceived_severity = excluded.perceived_severity,
        alarm_details = CASE WHEN excluded.alarm_details = '' THEN {ALARM}.alarm_details
                             ELSE excluded.alarm_details END
    RETURNING id, reduction_key, (xmax = 0) AS inserted
"""  # noqa: S608 - see REOPEN_SQL

CLEAR_MANY_SQL = f"""
    WITH report(key, cleared) AS (
        SELECT key, cleared::timestamptz
        FROM ROWS FROM (json_array_elements_text(%s::json), json_array_elements_text(%s::json))
            AS report(key, cleared)
    ),
    locked AS (
        SELECT alarm.id, alarm.state AS from_state, report.cleared
        FROM {ALARM} alarm JOIN report ON alarm.reduction_key = report.key
        WHERE alarm.state = ANY(%s::text[])
        FOR UPDATE OF alarm
    )
    UPDATE {ALARM} alarm SET
        state = %s, alarm_cleared_time = locked.cleared, alarm_changed_time = %s
    FROM locked WHERE alarm.id = locked.id
    RETURNING alarm.id, alarm.reduction_key, locked.from_state
"""  # noqa: S608 - see REOPEN_SQL

HISTORY_SQL = f"""
    INSERT INTO {HISTORY} (alarm_id, from_state, to_state, changed_at, changed_by, reason)
    SELECT alarm::bigint, from_state, to_state, %s, %s, reason
    FROM ROWS FROM ({", ".join(["json_array_elements_text(%s::json)"] * 4)})
        AS move(alarm, from_state, to_state, reason)
"""  # noqa: S608 - see REOPEN_SQL

IMPACT_SQL = f"""
    WITH pair(alarm, service) AS (SELECT * FROM unnest(%s::bigint[], %s::bigint[])),
    stored AS (
        INSERT INTO {AFFECTED} (alarm_id, service_id) SELECT alarm, service FROM pair
        ON CONFLICT DO NOTHING
    )
    UPDATE {ALARM} SET is_service_affecting = TRUE
    WHERE id IN (SELECT alarm FROM pair)
"""  # noqa: S608 - see REOPEN_SQL


@dataclass
class _Keyed:
    """A valid report with its canonical object reference, resource and reduction key."""

    index: int
    report: AlarmReport
    object_ref: str
    resource_id: int | None
    key: str


def alarms_record_impact(alarm_resources: dict[int, int]) -> None:
    """The affected services of new alarms ({alarm id: resource id}), for all in one query:
    the customer-facing services depending on each alarm's resource; service-affecting if any."""
    pairs = inventory_selectors.services_depending_on_each(set(alarm_resources.values()))
    services_by_resource = defaultdict(list)
    for resource_id, service_id in pairs:
        services_by_resource[resource_id].append(service_id)
    alarms, services = [], []
    for alarm_id, resource_id in alarm_resources.items():
        for service_id in services_by_resource.get(resource_id, ()):
            alarms.append(alarm_id)
            services.append(service_id)
    if alarms:
        with bound_cursor() as cursor:
            cursor.execute(IMPACT_SQL, [id_array(alarms), id_array(services)])


def _keyed(reports: list[AlarmReport], keep_unknown: bool) -> tuple[list[_Keyed], list]:
    resolved = inventory_selectors.resource_ids_by_reference(
        {report.alarmed_object_id for report in reports}
    )
    keyed, rejected = [], []
    keys: dict[tuple, str] = {}  # a repeat in the batch reuses its digest
    for index, report in enumerate(reports):
        resource_id = resolved.get(report.alarmed_object_id)
        if resource_id is None and not keep_unknown:
            rejected.append(
                IngestResult(
                    index, IngestOutcome.REJECTED, reason=UNKNOWN_RESOURCE, field="alarmedObject.id"
                )
            )
            continue
        # The same element reported by id or by name is the same fault.
        object_ref = str(resource_id) if resource_id else report.alarmed_object_id
        parts = (
            report.source_system_id,
            object_ref,
            report.alarm_type,
            report.probable_cause,
            report.specific_problem,
        )
        key = keys.get(parts)
        if key is None:
            key = keys[parts] = reduction_key(
                source_system_id=report.source_system_id,
                alarmed_object=object_ref,
                alarm_type=report.alarm_type,
                probable_cause=report.probable_cause,
                specific_problem=report.specific_problem,
            )
        keyed.append(_Keyed(index, report, object_ref, resource_id, key))
    return keyed, rejected


def _rounds(keyed: list[_Keyed]) -> list[tuple[dict, dict]]:
    """Per round, ({key: raises}, {key: clears}): a key's reports in arrival order, a new round
    each time they switch between raise and clear."""
    segments: dict[str, list[list[_Keyed]]] = defaultdict(list)
    for item in keyed:
        runs = segments[item.key]
        if not runs or runs[-1][0].report.is_clear != item.report.is_clear:
            runs.append([])
        runs[-1].append(item)
    rounds: list[tuple[dict, dict]] = []
    for key, runs in segments.items():
        for number, run in enumerate(runs):
            while len(rounds) <= number:
                rounds.append(({}, {}))
            rounds[number][1 if run[0].report.is_clear else 0][key] = run
    return rounds


class _Batch:
    """The statements of one batch, and what they did (results, history, new alarms)."""

    def __init__(self, *, by: str, now: datetime):
        self.by = by
        self.now = now
        self.results: list[IngestResult] = []
        self.moves: list[tuple[int, str, str, str]] = []
        self.new_alarms: dict[int, int] = {}
        self.touched: set[int] = set()

    def answer(self, run: list[_Keyed], first: str, alarm_id: int | None, reason: str = ""):
        """The first report of a run did `first`; the others repeat it."""
        again = IngestOutcome.DEDUPLICATED if alarm_id else first
        for position, item in enumerate(run):
            outcome = first if position == 0 else again
            self.results.append(IngestResult(item.index, outcome, alarm_id, reason=reason))

    def raise_round(self, runs: dict[str, list[_Keyed]], cursor) -> None:
        since = self.now - _flap_window()
        cursor.execute(
            REOPEN_SQL,
            {
                "keys": json_column(runs),
                "from_states": [
                    state
                    for state, targets in ALARM_REOPEN_TRANSITIONS.items()
                    if AlarmState.RAISED in targets
                ],
                "since": since,
                "now": self.now,
                "raised": AlarmState.RAISED,
                "cycles": settings.ALARM_FLAP_CYCLES,
            },
        )
        reopened = {}
        for alarm_id, key, cycles, is_flapping in cursor.fetchall():
            reopened[key] = alarm_id
            flapping = "; flapping" if is_flapping else ""
            reason = f"raised again within {settings.ALARM_FLAP_MINUTES} min of its clear: "
            reason += f"flap cycle {cycles}{flapping}"
            self.moves.append((alarm_id, AlarmState.CLEARED, AlarmState.RAISED, reason))
        rows = []
        for key, run in runs.items():
            first, last = run[0], run[-1]
            rows.append(
                (
                    first.report.external_alarm_id,
                    first.report.source_system_id,
                    first.object_ref,
                    first.report.alarmed_object_type,
                    first.resource_id,
                    first.report.alarm_type,
                    last.report.perceived_severity,
                    first.report.probable_cause,
                    first.report.specific_problem,
                    last.report.alarm_details,
                    key,
                    len(run),
                    first.report.alarm_raised_time or self.now,
                )
            )
        cursor.execute(
            UPSERT_MANY_SQL,
            [
                *map(json_column, zip(*rows, strict=True)),
                list(OPEN_INCIDENT_STATES),
                AlarmState.RAISED,
                AckState.UNACKNOWLEDGED,
                self.now,
            ],
        )
        for alarm_id, key, inserted in cursor.fetchall():
            run = runs[key]
            self.touched.add(alarm_id)
            if key in reopened:
                self.answer(run, IngestOutcome.REOPENED, alarm_id)
            elif inserted:
                self.answer(run, IngestOutcome.CREATED, alarm_id)
                self.moves.append((alarm_id, "", AlarmState.RAISED, ""))
                if run[0].resource_id is not None:
                    self.new_alarms[alarm_id] = run[0].resource_id
            else:
                self.answer(run, IngestOutcome.DEDUPLICATED, alarm_id)

    def clear_round(self, runs: dict[str, list[_Keyed]], cursor) -> None:
        from_states = [
            state for state, targets in ALARM_TRANSITIONS.items() if AlarmState.CLEARED in targets
        ]
        keys = list(runs)
        cleared_times = [run[0].report.cleared_time or self.now for run in runs.values()]
        cursor.execute(
            CLEAR_MANY_SQL,
            [
                json_column(keys),
                json_column(cleared_times),
                from_states,
                AlarmState.CLEARED,
                self.now,
            ],
        )
        done = {}
        for alarm_id, key, from_state in cursor.fetchall():
            done[key] = alarm_id
            self.touched.add(alarm_id)
            self.moves.append((alarm_id, from_state, AlarmState.CLEARED, "cleared by its source"))
        for key, run in runs.items():
            if key in done:
                self.answer(run, IngestOutcome.CLEARED, done[key])
            else:
                self.answer(run, IngestOutcome.REJECTED, None, reason=NOTHING_TO_CLEAR)

    def record_history(self, cursor) -> None:
        if not self.moves:
            return
        columns = [json_column(column) for column in zip(*self.moves, strict=True)]
        cursor.execute(HISTORY_SQL, [self.now, self.by, *columns])


def alarms_ingest(
    reports: list[AlarmReport], *, by: str, keep_unknown: bool = False
) -> list[IngestResult]:
    """Store a batch of reported alarms and clears; per report (in order), what happened.

    Raises of an active alarm's key are counted on it (`deduplicated`); a raise of a key whose
    alarm was cleared less than ALARM_FLAP_MINUTES ago reopens that alarm (`reopened`, a flap
    cycle; ALARM_FLAP_CYCLES of them within the window mark it `is_flapping`); a clear pairs with
    the active alarm of its key (`cleared`, else `rejected`). Reports naming an unknown resource
    are `rejected`, unless `keep_unknown` (then stored with no impact, as the single POST does).
    """
    keyed, results = _keyed(reports, keep_unknown)
    if connection.vendor != "postgresql":
        results += _ingest_one_by_one(keyed, by=by)
        return sorted(results, key=lambda result: result.index)
    batch = _Batch(by=by, now=clock.now())
    with transaction.atomic(), bound_cursor() as cursor:
        for raises, clears in _rounds(keyed):
            if raises:
                batch.raise_round(raises, cursor)
            if clears:
                batch.clear_round(clears, cursor)
        batch.record_history(cursor)
        if batch.new_alarms:
            alarms_record_impact(batch.new_alarms)
    # The new alarms on a resource: those the upsert may have stored in a guessed incident.
    alarms_correlate(sorted(batch.touched), guessed=batch.new_alarms.keys())
    return sorted(results + batch.results, key=lambda result: result.index)


def _ingest_one_by_one(keyed: list[_Keyed], *, by: str) -> list[IngestResult]:
    """The same answers without PostgreSQL's set-based statements (the SQLite demo): a report
    at a time, through the single-alarm services; no flapping."""
    results = []
    for item in keyed:
        report = item.report
        if report.is_clear:
            active = Alarm.objects.filter(reduction_key=item.key).exclude(state=AlarmState.CLEARED)
            alarm = active.first()
            if alarm is None:
                results.append(
                    IngestResult(item.index, IngestOutcome.REJECTED, reason=NOTHING_TO_CLEAR)
                )
                continue
            alarm_clear(alarm=alarm, by=by, cleared_time=report.cleared_time)
            results.append(IngestResult(item.index, IngestOutcome.CLEARED, alarm.pk))
            continue
        alarm, created = alarm_raise(
            source_system_id=report.source_system_id,
            alarmed_object_id=item.object_ref,
            alarm_type=report.alarm_type,
            perceived_severity=report.perceived_severity,
            probable_cause=report.probable_cause,
            alarm_raised_time=report.alarm_raised_time or clock.now(),
            specific_problem=report.specific_problem,
            alarm_details=report.alarm_details,
            alarmed_object_type=report.alarmed_object_type,
            external_alarm_id=report.external_alarm_id,
            by=by,
        )
        outcome = IngestOutcome.CREATED if created else IngestOutcome.DEDUPLICATED
        results.append(IngestResult(item.index, outcome, alarm.pk))
    return results
