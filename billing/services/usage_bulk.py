"""Usage in bulk: a batch of records goes by COPY into a staging table, then a few set-based
statements dedupe, validate, guide and rate it, and one INSERT stores it (PostgreSQL).

Per batch, whatever its size:
1. COPY the rows into `usage_staging` (binary);
2. the batch's distinct service references resolved once each to service, product, account
   and offering (`usage_keys`), the suspensions of those products from their status history
   (`usage_suspended`), and the usage prices of those offerings (`usage_prices`);
3. ONE statement decides every row (`usage_decided`): its outcome against the stored records
   and the rest of the batch (created, replay, conflict), why it cannot be charged (NULL when
   it can), its service, product, account and rated volume, and its new id;
4. ONE INSERT stores the created rows (received, or rejected with the reason) and the
   conflicting arrivals (rejected `duplicateEventConflict`, pointing at the record stored
   first); replays store nothing.

A record is chargeable when its product was billable at its usageDate (started, not yet
terminated, not suspended then, whatever its status now): late usage is charged.
`usage_reprocess` runs the same decision again over stored rejected records.
"""

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import NamedTuple

from django.db import IntegrityError, connection, transaction

from billing.choices import (
    REPROCESSABLE_REJECTIONS,
    UsageIngestOutcome,
    UsageRejectionReason,
    UsageStatus,
)
from billing.models import UsageEvent
from billing.services.fraud import fraud_evaluation_enqueue
from billing.services.periods import BILLABLE_STATUSES
from billing.services.usage import parse_volume
from billing.services.usage_bulk_sql import (
    ANSWERS_SQL,
    COUNTS_SQL,
    ID_SEQUENCE_SQL,
    INSERT_SQL,
    KEYS,
    KEYS_SQL,
    LOCK_SQL,
    PRICES_SQL,
    RACE_SQL,
    REPROCESS_LOAD_SQL,
    REPROCESS_SQL,
    STAGING,
    SUSPENDED_SQL,
    TEMPORARY,
    TWIN_REFERENCE_SQL,
    TWINS_SQL,
    decided_sql,
)
from telco import clock
from telco.exceptions import DomainError

COPY_TYPES = ["int8", "text", "text", "timestamptz", "numeric", "text", "text", "text", "text"]
COPY_TYPES += ["text", "text"]
# Widths of the text columns a record fills (longer values are refused, then cut to fit).
WIDTHS = {"eventId": 80, "serviceId": 80, "unit": 10, "ratingGroup": 60, "usageType": 20}
WIDTHS["usageSpecification.id"] = 40
WIDTHS["destination"] = UsageEvent._meta.get_field("destination").max_length
# Records a batch answers one by one when the caller asks for every answer (the API).
PROBLEMS_KEPT = 1_000


class UsageRow(NamedTuple):
    """One usage record as a batch carries it; `error` says why its values are unusable."""

    event_id: str
    service_id: str
    usage_date: datetime | None
    volume: Decimal | None
    unit: str
    rating_group: str
    usage_type: str = "data"
    usage_specification_id: str = ""
    destination: str = ""  # the number called (what the SIM-box fraud rule counts)
    error: str = ""


def _text(value, name: str, errors: list[str]) -> str:
    if value is None:
        return ""
    text = str(value).strip()
    if "\x00" in text:
        errors.append(f"{name}: null characters are not allowed")
        text = text.replace("\x00", "")
    if len(text) > WIDTHS[name]:
        errors.append(f"{name}: at most {WIDTHS[name]} characters")
        text = text[: WIDTHS[name]]
    return text


def parse_usage_date(raw) -> datetime | None:
    """An ISO 8601 date-time (a time without a zone is UTC, as CDR files write it); None when
    absent; ValueError when it is no date-time."""
    if raw is None or raw == "":
        return None
    value = raw if isinstance(raw, datetime) else datetime.fromisoformat(str(raw).strip())
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def usage_row(
    *,
    event_id="",
    service_id="",
    usage_date=None,
    volume=None,
    unit="",
    rating_group="",
    usage_type="data",
    usage_specification_id="",
    destination="",
) -> UsageRow:
    """A record from the network's values (text or typed): what cannot be read is named in
    `error`, and the record is stored rejected (`invalidValue`) rather than refused."""
    errors: list[str] = []
    try:
        date = parse_usage_date(usage_date)
    except (ValueError, TypeError):
        errors.append(f"usageDate: '{str(usage_date)[:40]}' is not a date-time")
        date = None
    amount = None
    if volume is not None and volume != "":
        try:
            amount = parse_volume(volume)
        except ValueError as error:
            errors.append(f"volume: '{str(volume)[:40]}' {error}")
    return UsageRow(
        _text(event_id, "eventId", errors),
        _text(service_id, "serviceId", errors),
        date,
        amount,
        _text(unit, "unit", errors),
        _text(rating_group, "ratingGroup", errors),
        _text(usage_type, "usageType", errors) or "data",
        _text(usage_specification_id, "usageSpecification.id", errors),
        _text(destination, "destination", errors),
        "; ".join(errors),
    )


@dataclass
class UsageAnswer:
    """What the batch did with record `index`: its outcome, the usage id (the stored one for a
    replay or a conflict), its status and, when it is not charged, why."""

    index: int
    outcome: str
    usage_id: int | None
    status: str
    reason: str = ""
    message: str = ""
    conflict_id: int | None = None
    event_id: str = ""


@dataclass
class UsageBatchResult:
    """Counts of a batch, and the answers: every record's when asked (`detail`), else the
    rejected and conflicting ones (at most PROBLEMS_KEPT)."""

    received: int = 0
    created: int = 0
    rejected: int = 0
    replays: int = 0
    conflicts: int = 0
    answers: list[UsageAnswer] = field(default_factory=list)

    @property
    def chargeable(self) -> int:
        return self.created - self.rejected

    def add(self, other: "UsageBatchResult") -> None:
        for name in ("received", "created", "rejected", "replays", "conflicts"):
            setattr(self, name, getattr(self, name) + getattr(other, name))


def _temporary_drop(cursor) -> None:
    for table in TEMPORARY:
        cursor.execute(f"DROP TABLE IF EXISTS pg_temp.{table}")


def _staging_create(cursor) -> None:
    # event_id in the usage column's collation ("C"): compared alike, the lookup uses its index.
    cursor.execute(
        f"""CREATE TEMP TABLE {STAGING} (
            position bigint, event_id text COLLATE "C", service_ref text, usage_date timestamptz,
            volume numeric, unit text, rating_group text, usage_type text,
            specification_id text, destination text, error text
        ) ON COMMIT DROP"""
    )


def _staging_load(cursor, rows: Iterable[UsageRow]) -> int:
    count = 0
    sql = (
        f"COPY {STAGING} (position, event_id, service_ref, usage_date, volume, unit, "
        "rating_group, usage_type, specification_id, destination, error) "
        "FROM STDIN (FORMAT BINARY)"
    )
    with cursor.cursor.copy(sql) as copy:
        copy.set_types(COPY_TYPES)
        write = copy.write_row
        for count, row in enumerate(rows, 1):
            write((count - 1, *row))
    return count


def _require_postgresql() -> None:
    if connection.vendor != "postgresql":
        raise DomainError("Usage in bulk needs PostgreSQL (COPY); send single records instead.")


def _decide(cursor, *, against_stored: bool) -> bool:
    """Keys, suspensions, prices and the decision of every staging row; whether the batch
    holds twins (one eventId more than once)."""
    parameters = {"billable": list(BILLABLE_STATUSES), "suspended": "suspended"}
    cursor.execute(KEYS_SQL, parameters)
    # Temporary tables have no statistics until analysed: without them the planner guesses
    # the keys as many as the rows, and sorts and merges the batch instead of hashing the keys.
    cursor.execute(f"ANALYZE {KEYS}")
    for statement in LOCK_SQL:
        cursor.execute(statement)
    cursor.execute(SUSPENDED_SQL, parameters)
    cursor.execute(PRICES_SQL)
    has_twins = False
    if against_stored:
        cursor.execute(TWINS_SQL)
        has_twins = cursor.rowcount > 0
    cursor.execute(ID_SEQUENCE_SQL)
    id_sequence = cursor.fetchone()[0]
    cursor.execute(
        decided_sql(against_stored=against_stored, id_sequence=id_sequence, has_twins=has_twins),
        {"new_ids": against_stored},
    )
    return has_twins


def _answers(cursor, *, detail: bool, statuses: dict[int, str] | None = None) -> list:
    if detail:
        where, limit = "", ""
    else:
        where = "WHERE outcome = 'conflict' OR reason IS NOT NULL"
        limit = f"LIMIT {PROBLEMS_KEPT}"
    cursor.execute(ANSWERS_SQL.format(where=where, limit=limit))
    answers = []
    for position, outcome, usage_id, conflict_id, reason, message, event in cursor.fetchall():
        if outcome == UsageIngestOutcome.CONFLICT:
            status = UsageStatus.REJECTED
            reason = UsageRejectionReason.DUPLICATE_EVENT_CONFLICT
        elif outcome == UsageIngestOutcome.REPLAY:
            status = ""
        else:
            status = UsageStatus.REJECTED if reason else UsageStatus.RECEIVED
        answers.append(
            UsageAnswer(position, outcome, usage_id, status, reason, message, conflict_id, event)
        )
    if detail:
        replayed = [a.usage_id for a in answers if a.outcome == UsageIngestOutcome.REPLAY]
        stored = dict(
            UsageEvent.objects.filter(pk__in=replayed).values_list("pk", "status")
            if replayed
            else []
        )
        for answer in answers:
            if answer.outcome == UsageIngestOutcome.REPLAY:
                answer.status = stored.get(answer.usage_id, UsageStatus.RECEIVED)
    return answers


def _count(cursor, result: UsageBatchResult) -> None:
    cursor.execute(COUNTS_SQL)
    for outcome, is_rejected, count in cursor.fetchall():
        if outcome == UsageIngestOutcome.CREATED:
            result.created += count
            result.rejected += count if is_rejected else 0
        elif outcome == UsageIngestOutcome.REPLAY:
            result.replays += count
        else:
            result.conflicts += count


def usage_bulk_ingest(rows: Iterable[UsageRow], *, detail: bool = True) -> UsageBatchResult:
    """Store a batch of usage records in one transaction (see the module); per record, created
    (received or rejected with the reason), replay or conflict. Nothing is half written."""
    _require_postgresql()
    result = UsageBatchResult()
    with transaction.atomic(), connection.cursor() as cursor:
        _temporary_drop(cursor)
        _staging_create(cursor)
        result.received = _staging_load(cursor, rows)
        if result.received:
            cursor.execute("SET LOCAL work_mem = '64MB'")
            # Each row's computed values are its own: caching them by input only costs.
            cursor.execute("SET LOCAL enable_memoize = off")
            if _decide(cursor, against_stored=True):
                cursor.execute(TWIN_REFERENCE_SQL)
            _store(cursor)
            _count(cursor, result)
            result.answers = _answers(cursor, detail=detail)
            cursor.execute("SET LOCAL work_mem TO DEFAULT")
            cursor.execute("SET LOCAL enable_memoize TO DEFAULT")
        # Dropped here too: inside an outer transaction, ON COMMIT comes too late for the next.
        _temporary_drop(cursor)
        if result.created:
            # The fraud rules read usage as it is stored (billing.services.fraud).
            fraud_evaluation_enqueue()
    return result


def _store(cursor) -> None:
    """The INSERT. If a concurrent batch stored one of the created eventIds first (a unique
    violation, raised once that batch commits), the row becomes a replay or a conflict of
    the stored one and the INSERT runs again."""
    parameters = {
        "received": UsageStatus.RECEIVED,
        "rejected": UsageStatus.REJECTED,
        "conflict": UsageRejectionReason.DUPLICATE_EVENT_CONFLICT,
        "now": clock.now(),
    }
    while True:
        try:
            with transaction.atomic():
                cursor.execute(INSERT_SQL, parameters)
        except IntegrityError:
            cursor.execute(RACE_SQL)
            if not cursor.fetchall():
                raise  # not a twin: a rule of the table the decision missed
        else:
            return


@dataclass
class ReprocessResult:
    """Rejected records tried again: how many are chargeable now, and the rest by reason."""

    tried: int = 0
    charged: int = 0
    still_rejected: dict[str, int] = field(default_factory=dict)


def usage_reprocess(
    *,
    reason: str = "",
    received_on: "datetime | None" = None,
    received_before: "datetime | None" = None,
    ids: list[int] | None = None,
) -> ReprocessResult:
    """Guide the stored rejected records that match the filter again, set-based: those that
    now guide become chargeable (`received`); the others stay rejected with the new reason.
    Conflicts and unreadable values are not retried (only a resend can fix them)."""
    _require_postgresql()
    reasons = [r for r in REPROCESSABLE_REJECTIONS if not reason or r == reason]
    filters, parameters = "", {"rejected": UsageStatus.REJECTED, "reasons": reasons}
    if received_on is not None:
        filters += " AND received_at >= %(since)s"
        parameters["since"] = received_on
    if received_before is not None:
        filters += " AND received_at < %(until)s"
        parameters["until"] = received_before
    if ids is not None:
        filters += " AND id = ANY(%(ids)s)"
        parameters["ids"] = ids
    result = ReprocessResult()
    with transaction.atomic(), connection.cursor() as cursor:
        _temporary_drop(cursor)
        _staging_create(cursor)
        cursor.execute(REPROCESS_LOAD_SQL.format(filters=filters), parameters)
        result.tried = cursor.rowcount
        if result.tried:
            _decide(cursor, against_stored=False)
            cursor.execute(
                REPROCESS_SQL,
                {"received": UsageStatus.RECEIVED, "rejected": UsageStatus.REJECTED},
            )
            for new_reason, count in cursor.fetchall():
                if new_reason:
                    result.still_rejected[new_reason] = count
                else:
                    result.charged = count
        _temporary_drop(cursor)
    return result
