"""Bill runs: reruns create nothing, --account, resume after interruption, API, real worker."""

import gc
from datetime import UTC, date, datetime, timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from billing.models import AppliedCharge, BillRun, CustomerBill, UsageEvent
from billing.services import bill_run_resume, bill_run_start, billing_period
from billing.tests.factories import active_product, usage_event
from telco import clock
from telco.testing import wait_for

pytestmark = pytest.mark.django_db
RUNS = "/api/v1/billing/billRun"


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


@pytest.fixture
def products():
    """Three accounts, each with a product billed for September and October."""
    made = [active_product(start_date=utc(2026, 9, 1)) for _ in range(3)]
    for product in made:
        usage_event(product=product, usage_date=utc(2026, 10, 9), gigabytes="6")
    return made


def bill_state():
    return sorted(CustomerBill.objects.values_list("bill_no", "billing_account_id", "period_start"))


def test_second_run_creates_nothing(products):
    first = bill_run_start(as_of=date(2026, 11, 1))
    before = bill_state()
    lines = AppliedCharge.objects.count()

    second = bill_run_start(as_of=date(2026, 11, 24))

    assert first.bills_created == 6
    assert [number for number, _, _ in before] == [f"INV-{n:06d}" for n in range(1, 7)]
    assert (second.state, second.accounts_done, second.bills_created) == ("completed", 3, 0)
    assert bill_state() == before
    assert AppliedCharge.objects.count() == lines


def test_as_of_before_a_period_end_leaves_it_for_later(products):
    bill_run_start(as_of=date(2026, 10, 31))
    assert CustomerBill.objects.count() == 3  # September only; October ends on 1 November

    bill_run_start(as_of=date(2026, 11, 1))
    assert CustomerBill.objects.count() == 6


def test_command_limits_to_account_and_prints_progress(products):
    out = StringIO()

    call_command(
        "bill_run",
        "--as-of",
        "2026-11-01",
        "--account",
        str(products[1].billing_account_id),
        stdout=out,
    )

    assert set(CustomerBill.objects.values_list("billing_account_id", flat=True)) == {
        products[1].billing_account_id
    }
    assert CustomerBill.objects.count() == 2
    run = BillRun.objects.get()
    assert "accounts 1/1, bills created 2" in out.getvalue()
    assert f"Bill run {run.pk} completed: accounts 1/1, bills created 2" in out.getvalue()


def test_command_refuses_future_date_and_unknown_account(products):
    with pytest.raises(CommandError, match="in the future"):
        call_command("bill_run", "--as-of", "2099-01-01", stdout=StringIO())
    with pytest.raises(CommandError, match="does not exist"):
        call_command("bill_run", "--account", "999999", stdout=StringIO())
    assert (BillRun.objects.count(), CustomerBill.objects.count()) == (0, 0)


def test_resume_after_interruption_finishes_without_duplicates(products):
    # The run was interrupted after the first account: its bills exist, progress says so.
    first_account = products[0].billing_account
    bill_run_start(as_of=date(2026, 11, 1), billing_account_id=first_account.pk)
    interrupted = BillRun.objects.create(
        as_of=date(2026, 11, 1),
        state="failed",
        accounts_total=3,
        accounts_done=1,
        bills_created=2,
        last_account_id=first_account.pk,
        error="WorkerLostError",
    )
    out = StringIO()

    call_command("bill_run", "--resume", str(interrupted.pk), stdout=out)

    interrupted.refresh_from_db()
    assert (interrupted.state, interrupted.accounts_done, interrupted.bills_created) == (
        "completed",
        3,
        6,
    )
    assert interrupted.error == ""
    assert CustomerBill.objects.count() == 6
    assert sorted(CustomerBill.objects.values_list("bill_no", flat=True)) == [
        f"INV-{n:06d}" for n in range(1, 7)
    ]
    assert "accounts 3/3, bills created 6" in out.getvalue()
    # Resuming a completed run does nothing.
    assert bill_run_resume(bill_run_id=interrupted.pk).bills_created == 6
    assert CustomerBill.objects.count() == 6


def test_resume_redoes_a_half_billed_account_without_charging_twice(products):
    # Interrupted inside the first account: September billed, October not, progress not saved.
    account = products[0].billing_account
    bill_run_start(as_of=date(2026, 10, 1), billing_account_id=account.pk)
    run = BillRun.objects.create(as_of=date(2026, 11, 1), accounts_total=3)

    bill_run_resume(bill_run_id=run.pk)

    assert CustomerBill.objects.filter(billing_account=account).count() == 2
    assert AppliedCharge.objects.filter(product=products[0], charge_type="oneTime").count() == 1
    assert UsageEvent.objects.filter(status="billed").count() == 3


def test_api_lists_runs_and_starts_one_for_finance_only(finance_api, agent_api, noc_api, products):
    bill_run_start(as_of=date(2026, 11, 1))

    listed = finance_api.get(RUNS)
    assert listed.status_code == 200
    assert listed.data[0]["accountsTotal"] == listed.data[0]["accountsDone"] == 3
    assert listed.data[0]["billsCreated"] == 6
    assert agent_api.get(RUNS).status_code == 403
    assert noc_api.post(RUNS, {"asOf": "2026-11-01"}, format="json").status_code == 403
    bad = finance_api.post(RUNS, {"asOf": "2026-13-01"}, format="json")
    assert (bad.status_code, list(bad.data["errors"])) == (400, ["asOf"])
    unknown = finance_api.post(RUNS, {"billingAccount": 999999}, format="json")
    assert (unknown.status_code, list(unknown.data["errors"])) == (400, ["billingAccount"])
    assert BillRun.objects.count() == 1


def test_api_run_completes_on_the_real_worker(celery_worker, finance_api):
    # The worker reads the session's clock, not a pinned one: dates come from that clock.
    # Two whole periods have ended since the products started; the current one has not.
    current, _ = billing_period(bill_cycle_day=1, at=clock.now())
    previous, _ = billing_period(bill_cycle_day=1, at=current - timedelta(days=1))
    first, _ = billing_period(bill_cycle_day=1, at=previous - timedelta(days=1))
    products = [active_product(start_date=first) for _ in range(3)]

    response = finance_api.post(
        RUNS,
        {"asOf": clock.now().date().isoformat(), "billingAccount": products[2].billing_account_id},
        format="json",
    )

    assert response.status_code == 202, response.data
    assert response["Location"].endswith(f"{RUNS}/{response.data['id']}")
    run = wait_for(
        lambda: BillRun.objects.filter(pk=response.data["id"], state="completed").first(), 30
    )
    assert (run.accounts_done, run.bills_created) == (1, 2)
    assert set(CustomerBill.objects.values_list("billing_account_id", flat=True)) == {
        products[2].billing_account_id
    }


def test_the_garbage_collector_is_back_on_after_a_run(products):
    """A chunk pauses Python's cyclic garbage collector while it rates and writes (the chunk's
    live rows made it rescan them again and again); a worker runs other tasks after it."""
    assert gc.isenabled()

    run = bill_run_start(as_of=date(2026, 11, 1))

    assert run.bills_created == 6
    assert gc.isenabled()
