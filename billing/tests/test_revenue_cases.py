"""Cases from what a comparison finds: one per difference, for as long as it lasts."""

from decimal import Decimal

import pytest
from django.db.models import Q

from billing.choices import CaseEventType, CaseKind, CaseState
from billing.models import CaseEvent, ReconciliationRun, RevenueCase
from billing.services.cases import (
    Finding,
    case_assign,
    case_note,
    case_set_state,
    cases_record,
)
from telco.exceptions import DomainError, InvalidTransition

pytestmark = pytest.mark.django_db

ELEMENT_SCOPE = Q(kind=CaseKind.ORPHAN_CONFIG, element="olt-1")


def orphan(ref: str, amount: str = "0") -> Finding:
    return Finding(
        kind=CaseKind.ORPHAN_CONFIG,
        fingerprint=f"orphanConfig:olt-1:{ref}",
        summary=f"olt-1 holds {ref}, no active service",
        element="olt-1",
        service_ref=ref,
        amount_at_risk=Decimal(amount),
    )


def test_a_difference_found_again_updates_its_case_and_one_gone_is_resolved_with_a_note():
    first, second = ReconciliationRun.objects.create(), ReconciliationRun.objects.create()

    opened = cases_record([orphan("svc-1"), orphan("svc-2")], scope=ELEMENT_SCOPE, run=first)
    assert len(opened.opened) == 2

    again = cases_record([orphan("svc-1", "12.5")], scope=ELEMENT_SCOPE, run=second)

    assert (again.opened, again.seen, again.closed) == ([], 1, 1)
    assert RevenueCase.objects.count() == 2
    kept = RevenueCase.objects.get(service_ref="svc-1")
    assert (kept.state, kept.amount_at_risk, kept.last_run) == (
        CaseState.OPEN,
        Decimal("12.5"),
        second,
    )
    gone = RevenueCase.objects.get(service_ref="svc-2")
    assert gone.state == CaseState.RESOLVED
    assert gone.closed_at is not None
    note = gone.events.get(type=CaseEventType.GONE)
    assert note.text == f"No longer found by reconciliation {second.pk}."


def test_a_resolved_difference_found_again_reopens_its_own_case():
    cases_record([orphan("svc-1")], scope=ELEMENT_SCOPE)
    cases_record([], scope=ELEMENT_SCOPE)
    back = cases_record([orphan("svc-1")], scope=ELEMENT_SCOPE)

    case = RevenueCase.objects.get()
    assert back.opened == [case.pk]
    assert case.state == CaseState.OPEN
    assert case.closed_at is None
    assert list(case.events.values_list("type", flat=True)) == ["found", "gone", "found"]


def test_an_accepted_difference_stays_accepted_and_other_scopes_are_left_alone():
    cases_record([orphan("svc-1")], scope=ELEMENT_SCOPE)
    case = RevenueCase.objects.get()
    with pytest.raises(DomainError):
        case_set_state(case, CaseState.ACCEPTED, by="risk1")  # needs a reason
    case_set_state(case, CaseState.ACCEPTED, by="risk1", note="Lab test line")

    cases_record([orphan("svc-1")], scope=ELEMENT_SCOPE)
    cases_record([], scope=Q(kind=CaseKind.ORPHAN_CONFIG, element="olt-2"))

    assert RevenueCase.objects.get().state == CaseState.ACCEPTED


def test_people_move_assign_and_note_a_case_and_its_history_keeps_all(risk_user):
    cases_record([orphan("svc-1")])
    case = RevenueCase.objects.get()

    case = case_assign(case, risk_user, by="risk1")
    assert (case.owner, case.state) == (risk_user, CaseState.INVESTIGATING)
    case_note(case, "Called the field team", by="risk1")
    with pytest.raises(DomainError):
        case_note(case, "  ", by="risk1")
    case = case_set_state(case, CaseState.RESOLVED, by="risk1", note="Removed by hand")
    with pytest.raises(InvalidTransition):
        case_set_state(case, CaseState.INVESTIGATING, by="risk1")

    assert list(CaseEvent.objects.filter(case=case).values_list("type", "to_state")) == [
        ("found", "open"),
        ("assigned", "investigating"),
        ("note", ""),
        ("state", "resolved"),
    ]


def test_many_findings_cost_a_few_statements(django_assert_max_num_queries):
    findings = [orphan(f"svc-{n}") for n in range(3000)]
    # Two batches: look up, insert cases, insert events (each), the scope close reads twice.
    with django_assert_max_num_queries(16):
        cases_record(findings, scope=ELEMENT_SCOPE)
    assert RevenueCase.objects.count() == 3000
