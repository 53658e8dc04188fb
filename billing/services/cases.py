"""Revenue-assurance and fraud cases: a difference found becomes a case, found again it
updates that case, gone it closes it; people move, assign, note and act on it.

`cases_record` is what every comparison and fraud rule calls with what it found: it works on
whole sets (a few statements per call, whatever the number of findings), on PostgreSQL and on
the embedded SQLite alike.
"""

from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal

from django.db import transaction
from django.db.models import Q

from billing.choices import (
    CASE_ACTIVE_STATES,
    CASE_TRANSITIONS,
    CaseEventType,
    CaseState,
)
from billing.models import CaseEvent, ReconciliationRun, RevenueCase
from telco import clock
from telco.exceptions import DomainError
from telco.money import DEFAULT_CURRENCY
from telco.states import check_transition

# Findings looked up and written per statement.
CASE_BATCH = 2000

# Every state but resolved: an accepted difference found again stays accepted.
UNRESOLVED_STATES = (*CASE_ACTIVE_STATES, CaseState.ACCEPTED)


@dataclass(frozen=True)
class Finding:
    """One difference (or fraud hit) as a comparison sees it. `fingerprint` names it for good:
    the kind and the entities it concerns, never a time or an amount."""

    kind: str
    fingerprint: str
    summary: str
    billing_account_id: int | None = None
    product_id: int | None = None
    service_id: int | None = None
    element: str = ""
    service_ref: str = ""
    day: object = None
    rating_group: str = ""
    amount_at_risk: Decimal = Decimal(0)
    currency: str = DEFAULT_CURRENCY
    score: int | None = None
    evidence: dict = field(default_factory=dict)


@dataclass
class RecordOutcome:
    opened: list[int] = field(default_factory=list)  # new cases, and resolved ones found again
    seen: int = 0
    closed: int = 0


def _chunks(items: list, size: int = CASE_BATCH):
    for start in range(0, len(items), size):
        yield items[start : start + size]


def cases_record(
    findings: Iterable[Finding],
    *,
    scope: Q | None = None,
    run: ReconciliationRun | None = None,
    by: str = "reconciliation",
) -> RecordOutcome:
    """Record what a comparison found, in the caller's transaction.

    A new fingerprint opens a case; a known one updates it (last seen, amount, evidence), and
    re-opens it if it was resolved. With `scope` (the cases this comparison looks at, e.g.
    `Q(kind__in=..., element="olt-1")`), every unresolved case in scope that was not found
    now is gone: resolved, with a note naming the run.
    """
    now = clock.now()
    outcome = RecordOutcome()
    found_ids: list[int] = []
    for batch in _chunks(list({each.fingerprint: each for each in findings}.values())):
        known = {
            fingerprint: (pk, state)
            for fingerprint, pk, state in RevenueCase.objects.filter(
                fingerprint__in=[each.fingerprint for each in batch]
            ).values_list("fingerprint", "pk", "state")
        }
        new = [_case_of(each, now, run) for each in batch if each.fingerprint not in known]
        RevenueCase.objects.bulk_create(new)
        outcome.opened += [case.pk for case in new]
        events = [
            CaseEvent(
                case=case,
                type=CaseEventType.FOUND,
                at=now,
                by=by,
                run=run,
                to_state=CaseState.OPEN,
                text=case.summary,
            )
            for case in new
        ]
        seen = [each for each in batch if each.fingerprint in known]
        updated = [_case_of(each, now, run, pk=known[each.fingerprint][0]) for each in seen]
        RevenueCase.objects.bulk_update(
            updated,
            ["summary", "amount_at_risk", "currency", "score", "evidence", "last_seen", "last_run"],
        )
        reopened = [
            known[each.fingerprint][0]
            for each in seen
            if known[each.fingerprint][1] == CaseState.RESOLVED
        ]
        RevenueCase.objects.filter(pk__in=reopened).update(state=CaseState.OPEN, closed_at=None)
        events += [
            CaseEvent(
                case_id=pk,
                type=CaseEventType.FOUND,
                at=now,
                by=by,
                run=run,
                from_state=CaseState.RESOLVED,
                to_state=CaseState.OPEN,
                text="Found again after it was resolved.",
            )
            for pk in reopened
        ]
        CaseEvent.objects.bulk_create(events)
        outcome.opened += reopened
        outcome.seen += len(seen) - len(reopened)
        found_ids += [case.pk for case in new] + [pk for pk, _ in known.values()]
    if scope is not None:
        outcome.closed = _close_gone(scope, found_ids, now=now, run=run, by=by)
    return outcome


def _case_of(finding: Finding, now, run, pk=None) -> RevenueCase:
    return RevenueCase(
        pk=pk,
        kind=finding.kind,
        fingerprint=finding.fingerprint,
        summary=finding.summary[:300],
        billing_account_id=finding.billing_account_id,
        product_id=finding.product_id,
        service_id=finding.service_id,
        element=finding.element,
        service_ref=finding.service_ref,
        day=finding.day,
        rating_group=finding.rating_group,
        amount_at_risk=finding.amount_at_risk,
        currency=finding.currency,
        score=finding.score,
        evidence=finding.evidence,
        first_seen=now,
        last_seen=now,
        last_run=run,
    )


def _close_gone(scope: Q, found_ids: list[int], *, now, run, by: str) -> int:
    """Resolve the unresolved cases in `scope` that were not found now."""
    gone = RevenueCase.objects.filter(scope, state__in=UNRESOLVED_STATES)
    gone_ids = set(gone.values_list("pk", flat=True)) - set(found_ids)
    if not gone_ids:
        return 0
    states = dict(RevenueCase.objects.filter(pk__in=gone_ids).values_list("pk", "state"))
    note = f"No longer found by reconciliation {run.pk}." if run else "No longer found."
    CaseEvent.objects.bulk_create(
        CaseEvent(
            case_id=pk,
            type=CaseEventType.GONE,
            at=now,
            by=by,
            run=run,
            from_state=states[pk],
            to_state=CaseState.RESOLVED,
            text=note,
        )
        for pk in gone_ids
    )
    return RevenueCase.objects.filter(pk__in=gone_ids).update(
        state=CaseState.RESOLVED, closed_at=now, last_run=run
    )


def case_set_state(case: RevenueCase, target: str, *, by: str, note: str = "") -> RevenueCase:
    """Move a case (investigating, resolved, accepted as known, open again), with a note."""
    with transaction.atomic():
        locked = RevenueCase.objects.select_for_update().get(pk=case.pk)
        check_transition(CASE_TRANSITIONS, locked.state, target, "Case")
        if target == CaseState.ACCEPTED and not note.strip():
            raise DomainError("Say why the difference is accepted as known.", field="note")
        closed_at = clock.now() if target == CaseState.RESOLVED else None
        RevenueCase.objects.filter(pk=locked.pk).update(state=target, closed_at=closed_at)
        CaseEvent.objects.create(
            case=locked,
            type=CaseEventType.STATE,
            by=by,
            from_state=locked.state,
            to_state=target,
            text=note,
        )
    return RevenueCase.objects.get(pk=case.pk)


def case_assign(case: RevenueCase, owner, *, by: str) -> RevenueCase:
    """Give the case to `owner` (a user, or None to leave it unowned); an open case someone
    takes is being investigated."""
    with transaction.atomic():
        locked = RevenueCase.objects.select_for_update().get(pk=case.pk)
        updates = {"owner": owner}
        if owner is not None and locked.state == CaseState.OPEN:
            updates["state"] = CaseState.INVESTIGATING
        RevenueCase.objects.filter(pk=locked.pk).update(**updates)
        CaseEvent.objects.create(
            case=locked,
            type=CaseEventType.ASSIGNED,
            by=by,
            from_state=locked.state,
            to_state=updates.get("state", locked.state),
            text=f"Owner: {owner.get_username()}" if owner is not None else "No owner",
        )
    return RevenueCase.objects.get(pk=case.pk)


def case_note(case: RevenueCase, text: str, *, by: str) -> CaseEvent:
    if not text.strip():
        raise DomainError("A note needs some text.", field="text")
    return CaseEvent.objects.create(case=case, type=CaseEventType.NOTE, by=by, text=text.strip())


def case_action_record(case: RevenueCase, text: str, *, by: str) -> CaseEvent:
    """Note on the case what an action taken from it did (the owning app made the change)."""
    return CaseEvent.objects.create(case=case, type=CaseEventType.ACTION, by=by, text=text)
