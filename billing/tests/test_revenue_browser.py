"""Revenue assurance in Debian's Chromium, as the risk analyst works: a leakage found by a
reconciliation run from the dashboard and fixed from its case's page, and a usage spike barred
from its fraud case's page."""

import re
from datetime import timedelta

import pytest

from billing.choices import CaseKind, CaseState, ReconciliationRunState
from billing.models import FraudRule, ReconciliationRun, RevenueCase
from billing.reference import ensure_fraud_rules
from billing.services.fraud import fraud_rules_evaluate
from billing.services.usage_bulk import usage_bulk_ingest, usage_row
from billing.tests.conftest import PINNED_AT
from billing.tests.factories import active_product
from crm.tests.factories import BillingAccountFactory, CustomerFactory
from inventory.choices import ProductStatus, ServiceState
from inventory.tests.factories import CustomerFacingServiceFactory, ProductInstanceFactory
from orders.models import ProductOrder
from telco import clock
from telco.testing import browser_login, wait_for

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _open_revenue_assurance(page) -> None:
    browser_login(page, "risk1", "pw-risk")
    # A risk analyst's home is the dashboard.
    page.wait_for_url("**/finance/revenue-assurance/")


def _run_now_and_wait(page, *, live: bool = True) -> ReconciliationRun:
    page.get_by_role("button", name="Run now").click()
    page.wait_for_url("**/finance/revenue-assurance/")
    if live:
        # The run's block follows it live until the workers are done.
        page.locator("[data-run-state]", has_text="completed").wait_for(timeout=30_000)
    else:  # (quicker than the refresh's interval)
        wait_for(lambda: ReconciliationRun.objects.latest("started_at").finished_at, timeout=30)
    return ReconciliationRun.objects.latest("started_at")


def test_a_leak_is_found_by_a_run_and_billing_started_from_its_case(
    celery_worker, risk_user, browser_page
):
    # Delivered but never billed: the service went active, the completion never reached the
    # product (pending, no start date).
    now = clock.now()
    account = BillingAccountFactory(
        customer=CustomerFactory(name="Ada Lovelace"), account_number="LEAK0001"
    )
    product = ProductInstanceFactory(
        billing_account=account, status=ProductStatus.PENDING_ACTIVE, start_date=None
    )
    CustomerFacingServiceFactory(
        product=product, state=ServiceState.ACTIVE, start_date=now - timedelta(days=3)
    )
    page = browser_page
    _open_revenue_assurance(page)
    assert page.locator("[data-run-none]").is_visible()

    first = _run_now_and_wait(page)
    assert first.found_by_kind == {CaseKind.ACTIVE_NOT_BILLABLE: 1}
    page.reload()
    leak_row = page.locator(f'tr[data-kind="{CaseKind.ACTIVE_NOT_BILLABLE}"]')
    assert leak_row.locator("[data-count]").inner_text() == "1"
    leak_row.get_by_role("link").click()
    page.wait_for_url("**/finance/revenue-assurance/cases/?kind=activeNotBillable*")
    page.locator("tr[data-case] a").first.click()
    page.wait_for_url(re.compile(r".*/cases/\d+/$"))
    assert page.locator("[data-account]").inner_text().startswith("LEAK0001")
    assert page.locator("[data-customer]").inner_text() == "Ada Lovelace"

    page.get_by_role("button", name="Start billing").click()
    page.wait_for_url(re.compile(r".*/cases/\d+/$"))
    assert page.locator("[data-case-state]").inner_text() == CaseState.RESOLVED
    assert page.locator('tr[data-event="action"]').count() == 1
    product.refresh_from_db()
    assert product.status == ProductStatus.ACTIVE
    assert product.start_date == now - timedelta(days=3)

    # The next run finds nothing: the case stays resolved, none is opened.
    page.locator("nav.mainnav a", has_text="Revenue assurance").click()
    second = _run_now_and_wait(page, live=False)
    assert (second.state, second.found_by_kind) == (ReconciliationRunState.COMPLETED, {})
    assert list(RevenueCase.objects.values_list("state", flat=True)) == [CaseState.RESOLVED]
    page.reload()
    assert page.locator("[data-open-count]").inner_text() == "0 open cases"


def _usage_spike_rule() -> None:
    """The default rules (billing.reference), whatever an earlier test left of them."""
    ensure_fraud_rules(FraudRule.objects)


def test_a_usage_spike_is_barred_from_its_fraud_case(risk_user, browser_page):
    _usage_spike_rule()
    product = active_product(start_date=PINNED_AT - timedelta(days=60))
    service = str(product.services.get().pk)
    last_hour = PINNED_AT - timedelta(minutes=30)

    def gigabytes(event_id: str, at, volume: str):
        return usage_row(
            event_id=event_id,
            service_id=service,
            usage_date=at,
            volume=volume,
            unit="GB",
            rating_group="DATA_5G_PREMIUM",
        )

    # A GB an hour on seven hours of the past week, then 30 GB in the last hour.
    rows = [
        gigabytes(f"base-{day}", last_hour - timedelta(days=day), "1")
        for day in (2, 3, 3.5, 4, 5, 6, 6.5)
    ]
    usage_bulk_ingest([*rows, gigabytes("spike", last_hour, "30")])
    fraud_rules_evaluate()
    case = RevenueCase.objects.get(kind=CaseKind.FRAUD_USAGE_SPIKE)

    page = browser_page
    _open_revenue_assurance(page)
    page.locator(f'tr[data-kind="{CaseKind.FRAUD_USAGE_SPIKE}"] a').click()
    page.locator(f'tr[data-case="{case.pk}"] td').first.get_by_role("link").click()
    page.wait_for_url(f"**/cases/{case.pk}/")
    assert page.locator("[data-score]").is_visible()

    page.get_by_role("button", name="Bar service").click()
    page.wait_for_url(f"**/cases/{case.pk}/")
    order = ProductOrder.objects.get()
    assert order.description.startswith(f"fraud: case {case.pk}")
    assert [(i.action, i.target_status, i.product_id) for i in order.items.all()] == [
        ("modify", "suspended", product.pk)
    ]
    action = page.locator('tr[data-event="action"]')
    assert f"product order {order.pk} suspends product {product.pk}" in action.inner_text()

    # Barring twice is refused on the page, with the reason.
    page.get_by_role("button", name="Bar service").click()
    assert "already" in page.locator('[data-errors="action"]').inner_text()
    assert ProductOrder.objects.count() == 1
