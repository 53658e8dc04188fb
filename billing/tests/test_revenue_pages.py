"""The revenue-assurance pages: the dashboard (open cases by class, the 30-day trend, the last
run), the case list and a case's page with its forms, for finance, risk and admin users."""

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse

from billing.choices import CaseEventType, CaseKind, CaseState
from billing.models import CaseEvent, ReconciliationRun, RevenueCase
from billing.services.cases import Finding, case_set_state, cases_record
from billing.tests.conftest import PINNED_AT
from billing.tests.factories import active_product
from crm.tests.factories import BillingAccountFactory, CustomerFactory

pytestmark = pytest.mark.django_db

DASHBOARD = reverse("finance:revenue-assurance")
CASES = reverse("finance:revenue-cases")


def leak(product, amount: str = "30") -> Finding:
    """An active service whose product is not billable: the seeds' leakage."""
    service = product.services.first()
    return Finding(
        kind=CaseKind.ACTIVE_NOT_BILLABLE,
        fingerprint=f"activeNotBillable:{product.pk}",
        summary=f"{product.name}: service active, product not billable",
        billing_account_id=product.billing_account_id,
        product_id=product.pk,
        service_id=service.pk,
        amount_at_risk=Decimal(amount),
        currency="EUR",
    )


def drift(product) -> Finding:
    service = product.services.first()
    return Finding(
        kind=CaseKind.CONFIG_DRIFT,
        fingerprint=f"configDrift:olt-7:{service.pk}",
        summary=f"olt-7 holds {service.name} with other settings",
        billing_account_id=product.billing_account_id,
        product_id=product.pk,
        service_id=service.pk,
        element="olt-7",
        service_ref=f"svc-{service.pk}",
        evidence={
            "expected": {"vlan": 1001, "bandwidth": "1Gbps"},
            "reported": {"vlan": 1001, "bandwidth": "100Mbps"},
        },
    )


def spike(product) -> Finding:
    return Finding(
        kind=CaseKind.FRAUD_USAGE_SPIKE,
        fingerprint=f"fraudUsageSpike:{product.pk}:2026-12-03T09",
        summary="Usage 14x the 7-day median in an hour",
        billing_account_id=product.billing_account_id,
        product_id=product.pk,
        service_id=product.services.first().pk,
        amount_at_risk=Decimal("250"),
        currency="EUR",
        score=80,
        evidence={
            "hourVolume": 42.0,
            "window": {"start": "2026-12-03T09:00:00+00:00", "end": "2026-12-03T10:00:00+00:00"},
            "ratingGroups": ["DATA", "VIDEO"],
        },
    )


def product_for(name: str, number: str):
    account = BillingAccountFactory(customer=CustomerFactory(name=name), account_number=number)
    return active_product(account=account, start_date=PINNED_AT - timedelta(days=90))


@pytest.fixture
def three_cases():
    """Ada's product leaks 30 EUR a month, Alan's service drifted on olt-7, Grace's usage
    spiked (fraud, 250 EUR)."""
    ada = product_for("Ada Lovelace", "RA0001")
    alan = product_for("Alan Turing", "RA0002")
    grace = product_for("Grace Hopper", "RA0003")
    cases_record([leak(ada), drift(alan)], run=ReconciliationRun.objects.create())
    cases_record([spike(grace)], by="fraud")
    return {
        "leak": RevenueCase.objects.get(kind=CaseKind.ACTIVE_NOT_BILLABLE),
        "drift": RevenueCase.objects.get(kind=CaseKind.CONFIG_DRIFT),
        "spike": RevenueCase.objects.get(kind=CaseKind.FRAUD_USAGE_SPIKE),
        "ada": ada,
        "alan": alan,
    }


def test_finance_risk_and_admin_see_the_pages_others_do_not(
    three_cases, finance_client, risk_client, admin_role_client, agent_client, noc_client, client
):
    case_url = reverse("finance:revenue-case", args=[three_cases["leak"].pk])
    for allowed in (finance_client, risk_client, admin_role_client):
        for url in (DASHBOARD, CASES, case_url):
            assert allowed.get(url).status_code == 200, url
    for refused in (agent_client, noc_client):
        for url in (DASHBOARD, CASES, case_url):
            assert refused.get(url).status_code == 403, url
        post = refused.post(reverse("finance:revenue-case-change", args=[1, "note"]), {})
        assert post.status_code == 403
    assert client.get(DASHBOARD).status_code == 302  # anonymous: to the login page
    # A risk analyst's home is the dashboard; finance keeps the portal.
    assert risk_client.get("/")["Location"] == DASHBOARD
    assert finance_client.get("/")["Location"] == "/portal/"
    # The top bar leads finance and risk there; the agent's does not.
    assert 'href="/finance/revenue-assurance/"' in risk_client.get(CASES).content.decode()
    assert "Revenue assurance" not in agent_client.get("/portal/").content.decode()


def test_dashboard_counts_open_cases_by_class_and_draws_thirty_days(
    billing_clock, risk_client, django_assert_max_num_queries
):
    # 1 Dec: two leaks found (30 + 20 EUR); 2 Dec: one resolved; 3 Dec: a fraud hit (250).
    ada, alan = product_for("Ada", "RA0001"), product_for("Alan", "RA0002")
    billing_clock.move_to(PINNED_AT - timedelta(days=2))
    cases_record([leak(ada, "30"), leak(alan, "20")])
    billing_clock.move_to(PINNED_AT - timedelta(days=1))
    alans = RevenueCase.objects.get(product=alan)
    case_set_state(alans, CaseState.RESOLVED, by="risk1", note="billing started")
    billing_clock.move_to(PINNED_AT)
    cases_record([spike(ada)], by="fraud")

    with django_assert_max_num_queries(10):
        page = risk_client.get(DASHBOARD)
    html = page.content.decode()

    assert "data-open-count>2 open cases<" in html
    rows = dict(re.findall(r'<tr data-kind="(\w+)">.*?data-amount>([^<]*)<', html, re.S))
    assert rows == {"activeNotBillable": "30.00 EUR", "fraudUsageSpike": "250.00 EUR"}
    assert "280.00 EUR a month at risk" in html
    days = {
        day: (int(opened), int(closed), Decimal(at_risk))
        for day, opened, closed, at_risk in re.findall(
            r'<g data-day="([\d-]+)" data-opened="(\d+)" data-closed="(\d+)" '
            r'data-at-risk="([\d.]+)"',
            html,
        )
    }
    assert len(days) == 30
    assert min(days) == "2026-11-04"
    assert max(days) == "2026-12-03"
    assert days["2026-11-30"] == (0, 0, 0)
    assert days["2026-12-01"] == (2, 0, 50)
    assert days["2026-12-02"] == (0, 1, 30)
    assert days["2026-12-03"] == (1, 0, 280)
    assert "data-run-none" in html  # no reconciliation yet
    assert 'action="/finance/revenue-assurance/run/"' in html


def test_run_now_starts_a_run_the_dashboard_follows_while_it_runs(finance_client, agent_client):
    start = reverse("finance:revenue-run-start")
    assert agent_client.post(start).status_code == 403
    assert finance_client.get(start).status_code == 405
    assert not ReconciliationRun.objects.exists()
    started = finance_client.post(start)
    assert started["Location"] == DASHBOARD
    run = ReconciliationRun.objects.get()
    assert (run.started_by, run.state) == ("finance1", "running")
    # (Its units go to the workers once the request's transaction commits; none here.)
    ReconciliationRun.objects.filter(pk=run.pk).update(
        units_total=8, units_done=2, found_by_kind={"orphanConfig": 3}
    )
    html = finance_client.get(DASHBOARD).content.decode()
    assert 'data-live-url="/finance/revenue-assurance/run/progress/"' in html
    assert "2 / 8" in html
    assert "Orphan" in html
    block = finance_client.get(reverse("finance:revenue-run-progress")).content.decode()
    assert f'data-run="{run.pk}"' in block
    assert 'value="25"' in block
    # Stopped: a resume carries it on; completed, the block no longer refreshes.
    ReconciliationRun.objects.filter(pk=run.pk).update(state="failed", error="olt-1: timeout")
    assert "olt-1: timeout" in finance_client.get(DASHBOARD).content.decode()
    resume = reverse("finance:revenue-run-resume", args=[run.pk])
    assert finance_client.post(resume)["Location"] == DASHBOARD
    run.refresh_from_db()
    assert run.state == "running"
    ReconciliationRun.objects.filter(pk=run.pk).update(state="completed", units_done=8)
    finished = finance_client.get(DASHBOARD).content.decode()
    assert "data-live-url" not in finished
    assert '<span class="badge badge-ok" data-run-state>completed</span>' in finished
    assert "data-refresh" in finished
    refused = finance_client.post(resume, follow=True).content.decode()
    assert "is completed: nothing to resume" in refused


def test_case_list_filters_and_reads_the_same_queries_for_more_rows(
    three_cases, risk_client, risk_user, django_assert_max_num_queries
):
    def listed(query: str = "") -> list[int]:
        answer = risk_client.get(CASES + query)
        assert answer.status_code == 200, answer.content
        return [int(pk) for pk in re.findall(r'<tr data-case="(\d+)">', answer.content.decode())]

    leak_case, drift_case, spike_case = (three_cases[k].pk for k in ("leak", "drift", "spike"))
    assert sorted(listed()) == sorted([leak_case, drift_case, spike_case])
    assert listed("?kind=configDrift") == [drift_case]
    assert listed("?origin=fraud") == [spike_case]
    assert sorted(listed("?origin=reconciliation")) == sorted([leak_case, drift_case])
    assert listed("?text=RA0001") == [leak_case]  # the account number
    assert listed("?text=turing") == [drift_case]  # the customer's name
    assert listed("?text=olt-7") == [drift_case]  # the element
    RevenueCase.objects.filter(pk=leak_case).update(owner=risk_user, state="investigating")
    assert listed(f"?owner={risk_user.pk}") == [leak_case]
    assert sorted(listed("?owner=null")) == sorted([drift_case, spike_case])
    assert listed("?state=investigating&origin=reconciliation") == [leak_case]

    bad = risk_client.get(CASES + "?kind=nonsense&owner=abc")
    assert bad.status_code == 400
    html = bad.content.decode()
    assert 'data-filter-error="kind"' in html
    assert 'data-filter-error="owner"' in html

    with django_assert_max_num_queries(12) as few:
        listed()
    for n in range(5):
        cases_record([leak(product_for(f"Customer {n}", f"RB000{n}"))])
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert len(listed()) == 8


def test_a_case_page_shows_what_it_is_about_and_its_forms_change_it(
    three_cases, risk_client, risk_user, admin_role_client
):
    drift_case = three_cases["drift"]
    url = reverse("finance:revenue-case", args=[drift_case.pk])
    html = risk_client.get(url).content.decode()
    # Risk opens the portal's 360 but not the NOC: the customer linked, the service named; an
    # admin gets both links.
    alan = three_cases["alan"]
    assert f'href="/portal/customers/{alan.customer_id}/" data-link="customer"' in html
    assert 'data-link="service"' not in html
    as_admin = admin_role_client.get(url).content.decode()
    assert f'href="/portal/customers/{alan.customer_id}/" data-link="customer"' in as_admin
    service_page = f"/noc/inventory/services/{drift_case.service_id}/"
    assert f'href="{service_page}" data-link="service"' in as_admin
    assert "RA0002" in html
    assert "olt-7" in html
    # The drift's evidence as expected against reported, the differing setting marked.
    compared = re.findall(
        r'<tr data-key="(\w+)"( class="differs")?><td class="mono">\w+</td>'
        r'<td class="mono">([^<]*)</td><td class="mono">([^<]*)</td>',
        html,
    )
    assert compared == [
        ("bandwidth", ' class="differs"', "1Gbps", "100Mbps"),
        ("vlan", "", "1001", "1001"),
    ]
    assert 'data-event="found"' in html
    # No action for a drift case; a spike offers bar and lift, a leak start billing.
    assert "data-action=" not in html
    spike_html = risk_client.get(reverse("finance:revenue-case", args=[three_cases["spike"].pk]))
    assert re.findall(r'data-action="(\w+)"', spike_html.content.decode()) == ["bar", "lift"]
    facts = re.findall(
        r'<dt>([^<]+)</dt><dd class="mono">([^<]+)</dd>', spike_html.content.decode()
    )
    assert facts == [
        ("Hour volume", "42.0"),
        ("Rating groups", "DATA, VIDEO"),
        ("Window", "end: 2026-12-03T10:00:00+00:00; start: 2026-12-03T09:00:00+00:00"),
    ]

    def change(name: str, data: dict):
        return risk_client.post(
            reverse("finance:revenue-case-change", args=[drift_case.pk, name]), data
        )

    # Accepting needs a note: refused on the page, nothing changed.
    refused = change("state", {"state": "accepted", "note": " "})
    assert refused.status_code == 400
    assert 'data-error="note"' in refused.content.decode()
    # Bad input: a state that is none, an owner no one is, an empty note, an action the case
    # does not offer.
    assert change("state", {"state": "closedForGood"}).status_code == 400
    assert change("assign", {"owner": "999999"}).status_code == 400
    assert 'data-error="text"' in change("note", {"text": ""}).content.decode()
    wrong = change("action", {"action": "bar"})
    assert wrong.status_code == 400
    assert "offers no &#x27;bar&#x27;" in wrong.content.decode()
    assert change("nothing", {}).status_code == 404
    drift_case.refresh_from_db()
    assert (drift_case.state, drift_case.owner) == (CaseState.OPEN, None)
    assert CaseEvent.objects.filter(case=drift_case).count() == 1

    # Taking it puts it under investigation; a note; accepted as known with the reason.
    assert change("assign", {"owner": risk_user.pk}).status_code == 302
    assert change("note", {"text": "Lab line on olt-7"}).status_code == 302
    assert change("state", {"state": "accepted", "note": "Lab line"}).status_code == 302
    drift_case.refresh_from_db()
    assert (drift_case.state, drift_case.owner) == (CaseState.ACCEPTED, risk_user)
    events = list(CaseEvent.objects.filter(case=drift_case).values_list("type", "to_state", "text"))
    assert events[1:] == [
        (CaseEventType.ASSIGNED, "investigating", "Owner: risk1"),
        (CaseEventType.NOTE, "", "Lab line on olt-7"),
        (CaseEventType.STATE, "accepted", "Lab line"),
    ]
    # A move the state machine refuses: 409 on the page, nothing changed.
    refused = change("state", {"state": "investigating", "note": "again"})
    assert refused.status_code == 409
    assert "cannot move" in refused.content.decode()
    drift_case.refresh_from_db()
    assert drift_case.state == CaseState.ACCEPTED
    page = risk_client.get(url).content.decode()
    assert page.count("<tr data-event=") == 4
    assert "Lab line on olt-7" in page
