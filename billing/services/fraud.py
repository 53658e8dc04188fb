"""Fraud rules on usage as it is rated: each enabled rule is one set-based statement over the
services that have usage since the watermark (`FraudScan`), within the rule's window; a hit
is a fraud case (`cases_record`: the same rule, service and day again updates that case).

The risk analyst bars a case's product (a TMF622 order suspending it, reason fraud) and lifts
the bar (an order resuming it); a rule that `bars_automatically` bars on its hit. The orders
are placed through `billing.services.account_orders` (orders sit above billing).

Ingest queues one evaluation after it commits (`fraud_evaluation_enqueue`, debounced), and
beat sweeps every few minutes. The rules need PostgreSQL (percentiles, hourly windows); the
embedded SQLite demo skips them (`fraud_rules_available`).
"""

import logging
import math
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.core.cache import cache
from django.db import connection, transaction
from django.db.models import Max, Q

from billing.choices import CASE_ACTIVE_STATES, CaseEventType, CaseKind, FraudRuleCode
from billing.models import CaseEvent, FraudRule, FraudScan, RevenueCase, UsageEvent
from billing.services.account_orders import account_order_place
from billing.services.cases import Finding, case_action_record, case_note, cases_record
from billing.services.fraud_sql import (
    HIGH_COST_SQL,
    RATED_STATUSES,
    SIM_BOX_SQL,
    SPIKE_SQL,
    TOUCHED,
    TOUCHED_SQL,
)
from inventory.choices import ProductStatus
from telco import clock
from telco.exceptions import DomainError

logger = logging.getLogger(__name__)

FRAUD_ACTOR = "fraud-rules"
FRAUD_REASON = "fraud"
SCAN_NAME = "usage"
KIND_OF_RULE = {
    FraudRuleCode.USAGE_SPIKE: CaseKind.FRAUD_USAGE_SPIKE,
    FraudRuleCode.HIGH_COST: CaseKind.FRAUD_HIGH_COST,
    FraudRuleCode.SIM_BOX: CaseKind.FRAUD_SIM_BOX,
}
# Destinations a SIM-box case shows as evidence.
SAMPLE_DESTINATIONS = 10
# How a case's actions start: the last of them says whether the case's bar is in force.
BARRED, LIFTED = "Barred:", "Lifted:"

# Queued evaluations: one is enough, whatever the number of batches ingested meanwhile. The
# key is taken when one is queued and dropped when it starts (so usage arriving while it runs
# queues the next); it expires on its own if a queued task is lost (beat sweeps anyway).
QUEUED_KEY = "billing:fraud-evaluate-queued"
QUEUED_FOR_SECONDS = 300

# Thresholds each rule takes: name -> (kind, lowest allowed, whether the lowest is excluded).
_NUMBER, _WHOLE, _NAMES = "number", "whole number", "list of rating groups"
THRESHOLDS = {
    FraudRuleCode.USAGE_SPIKE: {
        "factor": (_NUMBER, 1, True),
        "baselineDays": (_WHOLE, 1, False),
        "minimumVolume": (_NUMBER, 0, False),
    },
    FraudRuleCode.HIGH_COST: {
        "ratingGroups": (_NAMES, None, False),
        "volumeThreshold": (_NUMBER, 0, False),
        "windowHours": (_WHOLE, 1, False),
    },
    FraudRuleCode.SIM_BOX: {
        "minDistinctNumbers": (_WHOLE, 2, False),
        "maxAverageSeconds": (_NUMBER, 0, True),
        "windowHours": (_WHOLE, 1, False),
    },
}
# Windows longer than this would read months of usage per evaluation.
MAX_WINDOW_HOURS = 24 * 31


def fraud_thresholds_errors(code: str, thresholds) -> dict[str, str]:
    """What is wrong with `thresholds` for the rule `code`, by threshold name ({} when
    nothing): every threshold the rule reads, of its kind and range, and no other."""
    expected = THRESHOLDS.get(code)
    if expected is None:
        return {"code": f"Unknown rule '{code}'."}
    if not isinstance(thresholds, dict):
        return {"thresholds": "Must be an object of threshold names and values."}
    errors = {name: "Not a threshold of this rule." for name in thresholds if name not in expected}
    for name, (kind, lowest, excluded) in expected.items():
        value = thresholds.get(name)
        if value is None:
            errors[name] = "Required."
        elif kind == _NAMES:
            if not (
                isinstance(value, list)
                and value
                and all(isinstance(each, str) and each.strip() for each in value)
            ):
                errors[name] = "Must be a non-empty list of rating groups."
        elif isinstance(value, bool) or not isinstance(value, int | float):
            errors[name] = f"Must be a {kind}."
        elif kind == _WHOLE and not float(value).is_integer():
            errors[name] = "Must be a whole number."
        elif not math.isfinite(value):
            errors[name] = "Must be a finite number."
        elif value < lowest or (excluded and value == lowest):
            errors[name] = f"Must be {'more than' if excluded else 'at least'} {lowest}."
        elif name.endswith("Hours") and value > MAX_WINDOW_HOURS:
            errors[name] = f"At most {MAX_WINDOW_HOURS} hours."
        elif name == "baselineDays" and value * 24 > MAX_WINDOW_HOURS:
            errors[name] = f"At most {MAX_WINDOW_HOURS // 24} days."
    return errors


@dataclass
class FraudOutcome:
    """What an evaluation read and found: usage ids (after, up_to], per rule its hits and
    seconds, the cases opened (or re-opened) and seen again, the products barred."""

    after: int = 0
    up_to: int = 0
    services: int = 0
    hits: dict[str, int] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)
    opened: list[int] = field(default_factory=list)
    seen: int = 0
    barred: list[int] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {
            "after": self.after,
            "upTo": self.up_to,
            "services": self.services,
            "hits": self.hits,
            "seconds": {code: round(seconds, 3) for code, seconds in self.seconds.items()},
            "opened": len(self.opened),
            "seen": self.seen,
            "barred": len(self.barred),
        }


def fraud_rules_available() -> bool:
    return connection.vendor == "postgresql"


def fraud_rules_evaluate(*, up_to_id: int | None = None) -> FraudOutcome:
    """Evaluate every enabled rule over the services with usage stored since the watermark (up
    to usage id `up_to_id`, or all), record the hits as cases, bar what a rule bars
    automatically, and move the watermark: all in one transaction, one evaluation at a time."""
    if not fraud_rules_available():
        raise DomainError("Fraud rules need PostgreSQL (hourly windows and percentiles).")
    FraudScan.objects.get_or_create(name=SCAN_NAME)
    with transaction.atomic():
        scan = FraudScan.objects.select_for_update().get(name=SCAN_NAME)
        if up_to_id is None:
            up_to_id = UsageEvent.objects.aggregate(last=Max("id"))["last"] or 0
        outcome = FraudOutcome(after=scan.last_usage_id, up_to=max(up_to_id, scan.last_usage_id))
        if up_to_id > scan.last_usage_id:
            findings_by_rule = _evaluate(outcome)
            _record(outcome, findings_by_rule)
        scan.last_usage_id = outcome.up_to
        scan.scanned_at = clock.now()
        scan.save(update_fields=["last_usage_id", "scanned_at"])
    return outcome


def _evaluate(outcome: FraudOutcome) -> dict[FraudRule, list[Finding]]:
    findings_by_rule = {}
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS pg_temp.{TOUCHED}")
        cursor.execute(TOUCHED_SQL, {"after": outcome.after, "up_to": outcome.up_to})
        outcome.services = cursor.rowcount
        cursor.execute(f"ANALYZE {TOUCHED}")  # its size steers the joins of every rule
        for rule in FraudRule.objects.filter(is_enabled=True).order_by("code"):
            if fraud_thresholds_errors(rule.code, rule.thresholds):
                logger.error("Fraud rule %s has unusable thresholds: skipped", rule.code)
                continue
            began = time.perf_counter()
            findings = RULES[rule.code](cursor, rule)
            outcome.seconds[rule.code] = time.perf_counter() - began
            outcome.hits[rule.code] = len(findings)
            findings_by_rule[rule] = findings
        # Inside an outer transaction ON COMMIT comes too late for the next evaluation.
        cursor.execute(f"DROP TABLE IF EXISTS pg_temp.{TOUCHED}")
    return findings_by_rule


def _record(outcome: FraudOutcome, findings_by_rule: dict[FraudRule, list[Finding]]) -> None:
    findings = [each for rule_findings in findings_by_rule.values() for each in rule_findings]
    recorded = cases_record(findings, by=FRAUD_ACTOR)
    outcome.opened, outcome.seen = recorded.opened, recorded.seen
    automatic = [
        finding.fingerprint
        for rule, rule_findings in findings_by_rule.items()
        if rule.bars_automatically
        for finding in rule_findings
    ]
    # A case barred once is the analyst's from then on: a bar they lifted (or a case they
    # accepted) is not barred again by the rule finding the same thing again.
    candidates = (
        RevenueCase.objects.filter(
            fingerprint__in=automatic,
            state__in=CASE_ACTIVE_STATES,
            product__status=ProductStatus.ACTIVE,
        )
        .exclude(pk__in=_barred_or_lifted_case_ids())
        .select_related("product")
    )
    for case in candidates:
        try:
            with transaction.atomic():
                fraud_case_bar(case, by=FRAUD_ACTOR)
        except DomainError as error:
            case_note(case, f"Not barred automatically: {error.message}", by=FRAUD_ACTOR)
        else:
            outcome.barred.append(case.product_id)


def _score(rule: FraudRule, excess: float) -> int:
    """The rule's score at its threshold, up by 10 each time the figure doubles past it."""
    return min(100, rule.score + int(10 * math.log2(max(excess, 1.0))))


def _window(end: datetime, hours: float) -> dict:
    return {"start": (end - timedelta(hours=hours)).isoformat(), "end": end.isoformat()}


def _finding(rule: FraudRule, row, *, excess: float, summary: str, evidence: dict) -> Finding:
    service_id, product_id, account_id, window_end = row[:4]
    day = (window_end - timedelta(microseconds=1)).date()
    return Finding(
        kind=KIND_OF_RULE[rule.code],
        fingerprint=f"{rule.code}:{service_id}:{day.isoformat()}",
        summary=summary,
        billing_account_id=account_id,
        product_id=product_id,
        service_id=service_id,
        day=day,
        score=_score(rule, excess),
        evidence={"rule": rule.code, "thresholds": rule.thresholds, **evidence},
    )


def _spikes(cursor, rule: FraudRule) -> list[Finding]:
    limits = rule.thresholds
    cursor.execute(
        SPIKE_SQL,
        {
            "days": int(limits["baselineDays"]),
            "factor": limits["factor"],
            "minimum": limits["minimumVolume"],
            "rated": RATED_STATUSES,
        },
    )
    findings = []
    for row in cursor.fetchall():
        service_id, _, _, window_end, last_hour, median, hours, rating_group = row
        # A median of zero (zero-volume records): any volume is infinitely many times it.
        times = float(last_hour) / median if median else None
        findings.append(
            _finding(
                rule,
                row,
                excess=times / float(limits["factor"]) if times is not None else 8.0,
                summary=(
                    f"Usage spike on service {service_id}: {float(last_hour):g} of "
                    f"{rating_group} in the hour to {window_end:%Y-%m-%d %H:%M}, "
                    f"{f'{times:.1f}x' if times is not None else 'above'} its median hour "
                    f"({median:g})"
                ),
                evidence={
                    "window": _window(window_end, 1),
                    "ratingGroup": rating_group,
                    "lastHourVolume": float(last_hour),
                    "medianHourVolume": median,
                    "baselineHours": hours,
                    "baselineDays": int(limits["baselineDays"]),
                    "timesMedian": round(times, 2) if times is not None else None,
                },
            )
        )
    return findings


def _high_costs(cursor, rule: FraudRule) -> list[Finding]:
    limits = rule.thresholds
    hours = int(limits["windowHours"])
    cursor.execute(
        HIGH_COST_SQL,
        {
            "hours": hours,
            "groups": limits["ratingGroups"],
            "threshold": limits["volumeThreshold"],
            "rated": RATED_STATUSES,
        },
    )
    findings = []
    for row in cursor.fetchall():
        service_id, _, _, window_end, volume, records, groups = row
        threshold = float(limits["volumeThreshold"])
        findings.append(
            _finding(
                rule,
                row,
                excess=float(volume) / threshold if threshold else 2.0,
                summary=(
                    f"High-cost usage on service {service_id}: {float(volume):g} in "
                    f"{', '.join(groups)} within {hours} h (threshold {threshold:g})"
                ),
                evidence={
                    "window": _window(window_end, hours),
                    "volume": float(volume),
                    "records": records,
                    "ratingGroups": groups,
                },
            )
        )
    return findings


def _sim_boxes(cursor, rule: FraudRule) -> list[Finding]:
    limits = rule.thresholds
    hours = int(limits["windowHours"])
    cursor.execute(
        SIM_BOX_SQL,
        {
            "hours": hours,
            "numbers": int(limits["minDistinctNumbers"]),
            "seconds": limits["maxAverageSeconds"],
            "sample": SAMPLE_DESTINATIONS,
        },
    )
    findings = []
    for row in cursor.fetchall():
        service_id, _, _, window_end, calls, numbers, average, sample = row
        findings.append(
            _finding(
                rule,
                row,
                excess=numbers / int(limits["minDistinctNumbers"]),
                summary=(
                    f"SIM box pattern on service {service_id}: {calls} calls to {numbers} "
                    f"numbers within {hours} h, {float(average):.0f} s on average"
                ),
                evidence={
                    "window": _window(window_end, hours),
                    "calls": calls,
                    "distinctNumbers": numbers,
                    "averageSeconds": round(float(average), 1),
                    "sampleDestinations": list(sample),
                },
            )
        )
    return findings


RULES = {
    FraudRuleCode.USAGE_SPIKE: _spikes,
    FraudRuleCode.HIGH_COST: _high_costs,
    FraudRuleCode.SIM_BOX: _sim_boxes,
}


# Barring -----------------------------------------------------------------------------------


def _bar_in_force(case: RevenueCase) -> str | None:
    """The text of the case's bar when its last bar or lift is a bar, else None."""
    last = (
        case.events.filter(type=CaseEventType.ACTION)
        .filter(Q(text__startswith=BARRED) | Q(text__startswith=LIFTED))
        .order_by("-at", "-id")
        .values_list("text", flat=True)
        .first()
    )
    return last if last is not None and last.startswith(BARRED) else None


def _fraud_case_locked(case: RevenueCase) -> RevenueCase:
    locked = (
        RevenueCase.objects.select_for_update(of=("self",))
        .select_related("product")
        .get(pk=case.pk)
    )
    if not locked.is_fraud:
        raise DomainError(f"Case {locked.pk} is not a fraud case: nothing to bar.", field="case")
    if locked.product is None:
        raise DomainError(f"Case {locked.pk} names no product to bar.", field="case")
    return locked


def _barred_or_lifted_case_ids():
    return (
        CaseEvent.objects.filter(type=CaseEventType.ACTION)
        .filter(Q(text__startswith=BARRED) | Q(text__startswith=LIFTED))
        .values("case_id")
    )


def _actions(case: RevenueCase, prefix: str) -> int:
    return case.events.filter(type=CaseEventType.ACTION, text__startswith=prefix).count()


def _order_and_note(
    case: RevenueCase, *, change: str, reason: str, reference: str, note: str, by: str
) -> None:
    """Order `change` of the case's product (TMF622, through billing.account_order) and note
    the order on the case (`note` names it as {order})."""
    product = case.product
    order_id = account_order_place(
        billing_account_id=product.billing_account_id,
        product_ids=[product.pk],
        change=change,
        reason=reason,
        reference=reference,
        by=by,
    )
    case_action_record(case, note.format(order=order_id), by=by)


def fraud_case_bar(case: RevenueCase, *, by: str) -> RevenueCase:
    """Bar the case's product: a TMF622 order suspending it, reason fraud; the order noted on
    the case. Refused (DomainError): not a fraud case, a product not active, a bar in force."""
    with transaction.atomic():
        locked = _fraud_case_locked(case)
        product = locked.product
        if _bar_in_force(locked) is not None:
            raise DomainError(
                f"Case {locked.pk} has barred product {product.pk} already; lift it first.",
                field="case",
            )
        if product.status != ProductStatus.ACTIVE:
            raise DomainError(
                f"Product {product.pk} is {product.status}: only an active product is barred.",
                field="product",
            )
        _order_and_note(
            locked,
            change="suspend",
            reason=f"{FRAUD_REASON}: case {locked.pk} ({locked.get_kind_display()})",
            # One order per bar: the same bar asked twice gets the first order back.
            reference=f"fraud-{locked.pk}-bar-{_actions(locked, LIFTED) + 1}",
            note=f"{BARRED} product order {{order}} suspends product {product.pk} "
            f"(reason {FRAUD_REASON}).",
            by=by,
        )
    return RevenueCase.objects.get(pk=case.pk)


def fraud_case_lift(case: RevenueCase, *, by: str) -> RevenueCase:
    """Lift the case's bar: a TMF622 order resuming the product; the order noted on the case.
    Refused (DomainError): not a fraud case, or a product not suspended by this case's bar."""
    with transaction.atomic():
        locked = _fraud_case_locked(case)
        product = locked.product
        if product.status != ProductStatus.SUSPENDED or _bar_in_force(locked) is None:
            raise DomainError(
                f"Product {product.pk} is not suspended for fraud by case {locked.pk}.",
                field="product",
            )
        _order_and_note(
            locked,
            change="resume",
            reason=f"{FRAUD_REASON} cleared: case {locked.pk}",
            reference=f"fraud-{locked.pk}-lift-{_actions(locked, BARRED)}",
            note=f"{LIFTED} product order {{order}} resumes product {product.pk}.",
            by=by,
        )
    return RevenueCase.objects.get(pk=case.pk)


# Queueing ----------------------------------------------------------------------------------


def fraud_evaluation_enqueue() -> None:
    """Once the caller's transaction commits, queue an evaluation unless one is queued."""
    transaction.on_commit(_enqueue)


def _enqueue() -> None:
    if not cache.add(QUEUED_KEY, 1, timeout=QUEUED_FOR_SECONDS):
        return
    from billing.tasks import fraud_evaluate

    # At once: what is stored while it waits in the queue is read by it too (the key kept
    # those batches from queueing more).
    fraud_evaluate.delay()


def fraud_evaluation_started() -> None:
    """A queued evaluation starts: usage stored from now on queues the next one."""
    cache.delete(QUEUED_KEY)
