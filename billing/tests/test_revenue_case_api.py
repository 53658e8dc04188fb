"""/api/revenue-assurance/v1/case: cases listed and filtered, one with its history, moved and
assigned by PATCH, noted and acted on, for finance, risk and admin users only."""

import pytest

from billing.choices import CaseEventType, CaseKind, CaseState
from billing.models import CaseEvent, RevenueCase
from billing.services.cases import cases_record
from billing.tests.test_revenue_pages import drift, leak, product_for, spike

pytestmark = pytest.mark.django_db

CASES = "/api/revenue-assurance/v1/case"


@pytest.fixture
def cases():
    ada, alan = product_for("Ada Lovelace", "RA0001"), product_for("Alan Turing", "RA0002")
    cases_record([leak(ada), drift(alan), spike(ada)])
    return {case.kind: case for case in RevenueCase.objects.all()}


def test_roles_read_and_write_others_are_refused(
    cases, finance_api, risk_api, admin_api, agent_api, noc_api, anonymous_api
):
    case = cases[CaseKind.CONFIG_DRIFT]
    for allowed in (finance_api, risk_api, admin_api):
        assert allowed.get(CASES).status_code == 200
        assert allowed.get(f"{CASES}/{case.pk}").status_code == 200
    for refused in (agent_api, noc_api):
        assert refused.get(CASES).status_code == 403
        assert (
            refused.post(f"{CASES}/{case.pk}/note", {"text": "x"}, format="json").status_code == 403
        )
        assert (
            refused.patch(f"{CASES}/{case.pk}", {"state": "resolved"}, format="json").status_code
            == 403
        )
    assert anonymous_api.get(CASES).status_code == 401
    assert CaseEvent.objects.filter(case=case).count() == 1


def test_the_list_filters_pages_and_reads_the_same_queries_for_more_rows(
    cases, risk_api, risk_user, django_assert_max_num_queries
):
    def ids(query: str = "") -> list[str]:
        answer = risk_api.get(CASES + query)
        assert answer.status_code == 200, answer.json()
        return sorted(item["id"] for item in answer.json())

    pk = {kind: str(case.pk) for kind, case in cases.items()}
    assert ids("?kind=configDrift") == [pk[CaseKind.CONFIG_DRIFT]]
    assert ids("?origin=fraud") == [pk[CaseKind.FRAUD_USAGE_SPIKE]]
    assert ids("?kind=activeNotBillable,configDrift") == sorted(
        [pk[CaseKind.ACTIVE_NOT_BILLABLE], pk[CaseKind.CONFIG_DRIFT]]
    )
    RevenueCase.objects.filter(pk=pk[CaseKind.ACTIVE_NOT_BILLABLE]).update(
        owner=risk_user, state=CaseState.INVESTIGATING
    )
    assert ids("?owner=risk1") == [pk[CaseKind.ACTIVE_NOT_BILLABLE]]
    assert ids("?state=open") == sorted([pk[CaseKind.CONFIG_DRIFT], pk[CaseKind.FRAUD_USAGE_SPIKE]])

    page = risk_api.get(CASES + "?limit=2")
    assert page["X-Total-Count"] == "3"
    assert page["X-Result-Count"] == "2"
    leak_body = next(i for i in risk_api.get(CASES).json() if i["kind"] == "activeNotBillable")
    assert leak_body["amountAtRisk"] == {"unit": "EUR", "value": 30.0}
    assert leak_body["origin"] == "reconciliation"
    assert leak_body["owner"] == "risk1"
    assert leak_body["billingAccount"]["id"] == str(
        cases[CaseKind.ACTIVE_NOT_BILLABLE].billing_account_id
    )
    assert leak_body["relatedParty"][0]["name"] == "Ada Lovelace"
    assert leak_body["action"] == ["startBilling"]
    assert "event" not in leak_body  # the history is on the case itself

    bad = risk_api.get(CASES + "?state=nonsense&origin=nowhere")
    assert bad.status_code == 400
    assert set(bad.json()["errors"]) >= {"origin"}

    with django_assert_max_num_queries(8) as few:
        risk_api.get(CASES)
    cases_record([leak(product_for(f"Customer {n}", f"RB000{n}")) for n in range(5)])
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert len(risk_api.get(CASES).json()) == 8


def test_patch_moves_and_assigns_a_case_note_and_action_add_to_its_history(
    cases, risk_api, finance_user
):
    case = cases[CaseKind.CONFIG_DRIFT]
    url = f"{CASES}/{case.pk}"

    # Bad input names the field; a refused move changes nothing.
    refused = risk_api.patch(url, {"state": "accepted"}, format="json")
    assert refused.status_code == 400
    assert refused.json()["errors"] == {"note": ["Say why the difference is accepted as known."]}
    assert risk_api.patch(url, {"state": "gone"}, format="json").json()["errors"].keys() == {
        "state"
    }
    assert risk_api.patch(url, {"owner": "nobody"}, format="json").json()["errors"].keys() == {
        "owner"
    }
    assert risk_api.patch(url, {"summary": "x"}, format="json").status_code == 400
    assert risk_api.post(f"{url}/note", {"text": ""}, format="json").json()["errors"].keys() == {
        "text"
    }
    wrong = risk_api.post(f"{url}/action", {"action": "bar"}, format="json")
    assert wrong.status_code == 400
    assert list(wrong.json()["errors"]) == ["action"]
    unknown = risk_api.post(f"{url}/action", {"action": "explode"}, format="json")
    assert list(unknown.json()["errors"]) == ["action"]
    case.refresh_from_db()
    assert (case.state, case.owner) == (CaseState.OPEN, None)
    assert CaseEvent.objects.filter(case=case).count() == 1

    # Assigned to a finance user (under investigation), noted, accepted with a reason.
    assigned = risk_api.patch(url, {"owner": "finance1"}, format="json")
    assert assigned.status_code == 200
    assert (assigned.json()["owner"], assigned.json()["state"]) == ("finance1", "investigating")
    noted = risk_api.post(f"{url}/note", {"text": "Lab line"}, format="json")
    assert noted.status_code == 201
    assert (noted.json()["type"], noted.json()["by"]) == ("note", "risk1")
    accepted = risk_api.patch(url, {"state": "accepted", "note": "A lab line"}, format="json")
    assert accepted.status_code == 200
    body = risk_api.get(url).json()
    assert body["state"] == "accepted"
    assert [(e["type"], e["toState"], e["text"]) for e in body["event"]] == [
        (CaseEventType.FOUND, "open", case.summary),
        (CaseEventType.ASSIGNED, "investigating", "Owner: finance1"),
        (CaseEventType.NOTE, None, "Lab line"),
        (CaseEventType.STATE, "accepted", "A lab line"),
    ]
    assert body["evidence"]["expected"] == {"vlan": 1001, "bandwidth": "1Gbps"}
    # The state machine refuses accepted -> investigating: 409.
    assert risk_api.patch(url, {"state": "investigating"}, format="json").status_code == 409
    assert risk_api.get(f"{CASES}/999999").status_code == 404


def test_an_action_goes_through_its_service_and_answers_the_case_after_it(cases, finance_api):
    leak_case = cases[CaseKind.ACTIVE_NOT_BILLABLE]
    done = finance_api.post(
        f"{CASES}/{leak_case.pk}/action", {"action": "startBilling"}, format="json"
    )
    assert done.status_code == 200, done.json()
    body = done.json()
    assert body["state"] == CaseState.RESOLVED
    assert [e["type"] for e in body["event"]][-2:] == [CaseEventType.ACTION, CaseEventType.STATE]
    assert body["event"][-2]["by"] == "finance1"
    # Resolved, the action has nothing left to do: refused, naming the field.
    again = finance_api.post(
        f"{CASES}/{leak_case.pk}/action", {"action": "startBilling"}, format="json"
    )
    assert again.status_code == 400
    assert list(again.json()["errors"]) == ["action"]
