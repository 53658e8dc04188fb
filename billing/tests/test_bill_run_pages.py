"""Finance's bill run pages: the runs, one run's live progress and failures, start and resume."""

from datetime import UTC, date, datetime

import pytest
import time_machine

from billing.models import BillRun, CustomerBill
from billing.services import bill_run_create, bill_run_resume, bill_run_start
from billing.tests.factories import active_product
from crm.tests.factories import BillingAccountFactory

pytestmark = pytest.mark.django_db
LIST = "/finance/bill-runs/"


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


@pytest.fixture(autouse=True)
def pinned_clock():
    with time_machine.travel(utc(2026, 11, 2, 10), tick=False):
        yield


@pytest.fixture
def accounts():
    """Three accounts billed for September and October; the middle one bills in USD, which
    its offering's EUR prices cannot be charged in."""
    first = active_product(start_date=utc(2026, 9, 1)).billing_account
    broken = active_product(
        account=BillingAccountFactory(currency="USD"), start_date=utc(2026, 9, 1)
    ).billing_account
    last = active_product(start_date=utc(2026, 9, 1)).billing_account
    return first, broken, last


def test_only_finance_and_admin_see_the_runs(accounts, agent_client, finance_client, noc_client):
    run = bill_run_start(as_of=date(2026, 11, 1))

    assert agent_client.get(LIST).status_code == 403
    assert noc_client.get(f"{LIST}{run.pk}/").status_code == 403
    page = finance_client.get(LIST)
    assert page.status_code == 200
    assert f'id="run-{run.pk}" data-state="completedWithErrors"'.encode() in page.content


def test_the_list_costs_the_same_queries_for_one_run_or_many(
    accounts, finance_client, django_assert_max_num_queries
):
    bill_run_start(as_of=date(2026, 11, 1))
    with django_assert_max_num_queries(12) as one:
        finance_client.get(LIST)
    for _ in range(5):
        bill_run_create(as_of=date(2026, 11, 1))
    with django_assert_max_num_queries(len(one.captured_queries)):
        page = finance_client.get(LIST)
    assert page.content.count(b'data-state="running"') == 5


def test_a_run_page_shows_progress_and_the_accounts_not_billed(accounts, finance_client):
    _, broken, _ = accounts
    run = bill_run_start(as_of=date(2026, 11, 1))

    page = finance_client.get(f"{LIST}{run.pk}/")
    assert page.status_code == 200
    assert f'data-live-url="{LIST}{run.pk}/progress/"'.encode() in page.content
    progress = finance_client.get(f"{LIST}{run.pk}/progress/").content.decode()
    assert '<dd id="accounts-done">3 / 3 (100%)</dd>' in progress
    assert '<dd id="bills-created">4</dd>' in progress
    assert broken.account_number in progress
    assert "is in EUR but account" in progress


def test_a_running_run_shows_its_rate_and_time_left(accounts, finance_client):
    with time_machine.travel(utc(2026, 11, 2, 9, 59, 50), tick=False):
        run = bill_run_create(as_of=date(2026, 11, 1))
    BillRun.objects.filter(pk=run.pk).update(accounts_done=1)  # one account in 10 s

    progress = finance_client.get(f"{LIST}{run.pk}/progress/").content.decode()

    assert '<dd id="rate">0.1 accounts/s</dd>' in progress
    assert '<dd id="eta">about 20 s</dd>' in progress


def test_finance_starts_a_run_and_resumes_one_after_the_cause_is_fixed(accounts, finance_client):
    _, broken, _ = accounts
    response = finance_client.post(f"{LIST}start/", {"as_of": "2026-11-01"})
    run = BillRun.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"{LIST}{run.pk}/"
    assert (run.state, run.accounts_total, run.chunks.count()) == ("running", 3, 1)
    bill_run_resume(bill_run_id=run.pk)  # what the workers do once the request commits
    run.refresh_from_db()
    assert (run.state, run.bills_created) == ("completedWithErrors", 4)
    broken.currency = "EUR"
    broken.save(update_fields=["currency"])

    finance_client.post(f"{LIST}{run.pk}/resume/")

    run.refresh_from_db()
    assert (run.state, run.accounts_failed, run.bills_created) == ("completed", 0, 6)
    assert CustomerBill.objects.filter(billing_account=broken).count() == 2
    refused = finance_client.post(f"{LIST}start/", {"as_of": "2099-01-01"}, follow=True)
    assert b"is in the future" in refused.content


def test_a_mistyped_account_starts_no_run(accounts, finance_client):
    refused = finance_client.post(
        f"{LIST}start/", {"as_of": "2026-11-01", "billing_account": "abc"}, follow=True
    )
    assert b"Billing account: an account id" in refused.content
    assert not BillRun.objects.exists()
