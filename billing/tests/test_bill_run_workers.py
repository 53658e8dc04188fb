"""Bill runs fanned out to real workers: a worker killed mid-chunk, then a resume, leaves no
lost and no duplicate bill, and numbers stay gap-free."""

from datetime import timedelta

from billing.models import BillRun, BillRunChunk, CustomerBill
from billing.services import bill_run_dispatch, billing_period
from billing.tests.factories import active_product
from telco import clock
from telco.testing import wait_for

RUNS = "/api/v1/billing/billRun"


def _two_periods_ago():
    current, _ = billing_period(bill_cycle_day=1, at=clock.now())
    previous, _ = billing_period(bill_cycle_day=1, at=current - timedelta(days=1))
    first, _ = billing_period(bill_cycle_day=1, at=previous - timedelta(days=1))
    return first


def test_a_worker_killed_mid_run_then_a_resume_bills_every_account_once(
    restartable_celery_worker, finance_api, settings
):
    # The worker reads the session's clock: two whole periods have ended since the start.
    start = _two_periods_ago()
    accounts = [active_product(start_date=start).billing_account_id for _ in range(12)]
    settings.BILL_RUN_CHUNK_ACCOUNTS = 2  # 6 chunks, planned here when the run is recorded
    # Each chunk holds its transaction open 0.4 s: the kill lands inside one.
    restartable_celery_worker.restart(BILL_RUN_CHUNK_PAUSE_MS=400)

    response = finance_api.post(RUNS, {"asOf": clock.now().date().isoformat()}, format="json")
    assert response.status_code == 202, response.data
    run_id = response.data["id"]
    chunks = BillRunChunk.objects.filter(bill_run_id=run_id)
    wait_for(lambda: chunks.filter(done_at__isnull=False).count() >= 2, 60)
    restartable_celery_worker.kill()

    # A chunk lands whole or not at all: its accounts have their bills iff it is done.
    to_do = list(chunks.filter(done_at__isnull=True))
    assert to_do, "the run finished before the kill"
    for chunk in chunks:
        billed = CustomerBill.objects.filter(
            billing_account_id__gte=chunk.first_account_id,
            billing_account_id__lte=chunk.last_account_id,
        ).count()
        assert billed == (4 if chunk.done_at else 0)
    assert BillRun.objects.get(pk=run_id).state == "running"

    restartable_celery_worker.start()
    bill_run_dispatch(bill_run_id=run_id)  # enqueues the chunks not done, the lost one too

    run = wait_for(lambda: BillRun.objects.filter(pk=run_id, state="completed").first(), 60)
    assert (run.accounts_total, run.accounts_done, run.bills_created) == (12, 12, 24)
    per_account = {
        account: sorted(
            CustomerBill.objects.filter(billing_account_id=account).values_list(
                "period_start", flat=True
            )
        )
        for account in accounts
    }
    assert all(len(periods) == 2 for periods in per_account.values())
    assert sorted(CustomerBill.objects.values_list("bill_no", flat=True)) == [
        f"INV-{n:06d}" for n in range(1, 25)
    ]
    # Resuming a completed run does nothing.
    assert bill_run_dispatch(bill_run_id=run_id).bills_created == 24
    assert CustomerBill.objects.count() == 24
