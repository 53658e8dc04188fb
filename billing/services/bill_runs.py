"""Bill runs: bill every account with an ended period, in chunks fanned out to workers,
resumable, recording the accounts that cannot be billed instead of stopping at them.

A run is planned as chunks of accounts (`BillRunChunk`, `BILL_RUN_CHUNK_ACCOUNTS` each, in id
order). One task bills one chunk in one transaction (`bill_run_chunk_bill`: the chunk's rows
read and its bills written set-based, see `bill_chunks`) and marks it done in that same
transaction, so a chunk lands whole or not at all, and a chunk run twice (a redelivered task,
a resume) does nothing the second time. The run completes when no chunk is left to do.
"""

import logging
import time
from datetime import date

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, F, OuterRef, QuerySet
from django.db.models.functions import Greatest

from billing.choices import BillRunState
from billing.models import BillRun, BillRunChunk, BillRunFailure
from billing.services.bill_chunks import (
    RATED_ACCOUNT_FIELDS,
    ChunkOutcome,
    bill_chunk_accounts,
)
from crm import selectors as crm_selectors
from inventory import selectors as inventory_selectors
from telco import clock
from telco.exceptions import DomainError, NotFound

logger = logging.getLogger(__name__)

ACCOUNTS_PER_CHUNK = 1000


def _chunk_size() -> int:
    return getattr(settings, "BILL_RUN_CHUNK_ACCOUNTS", ACCOUNTS_PER_CHUNK)


def _accounts_in_scope(bill_run: BillRun) -> QuerySet:
    """Accounts with a product that ever started, in id order (the order a run walks)."""
    started = inventory_selectors.started_products().filter(billing_account=OuterRef("pk"))
    accounts = crm_selectors.billing_account_rows().filter(Exists(started))
    if bill_run.billing_account_id is not None:
        accounts = accounts.filter(pk=bill_run.billing_account_id)
    return accounts.order_by("pk")


def _plan_chunks(bill_run: BillRun) -> int:
    """Cut the run's accounts after `last_account_id` into chunks, once (a run that has chunks
    keeps them); how many accounts they hold."""
    with transaction.atomic():
        BillRun.objects.select_for_update().filter(pk=bill_run.pk).first()
        if BillRunChunk.objects.filter(bill_run=bill_run).exists():
            return 0
        ids = list(
            _accounts_in_scope(bill_run)
            .filter(pk__gt=bill_run.last_account_id)
            .values_list("pk", flat=True)
        )
        size = _chunk_size()
        BillRunChunk.objects.bulk_create(
            BillRunChunk(
                bill_run=bill_run,
                first_account_id=ids[index],
                last_account_id=ids[min(index + size, len(ids)) - 1],
                accounts=min(size, len(ids) - index),
            )
            for index in range(0, len(ids), size)
        )
        return len(ids)


def bill_run_create(*, as_of: date, billing_account_id: int | None = None) -> BillRun:
    """Record a bill run (state running, nothing done yet) and its chunks; `bill_run_resume`
    or `bill_run_dispatch` does the work."""
    if as_of > clock.now().date():
        # A period that has not ended yet may still receive usage: never bill it early.
        raise DomainError(f"{as_of} is in the future.", field="asOf")
    if (
        billing_account_id is not None
        and not crm_selectors.billing_account_rows().filter(pk=billing_account_id).exists()
    ):
        raise DomainError(
            f"Billing account '{billing_account_id}' does not exist.", field="billingAccount"
        )
    with transaction.atomic():
        bill_run = BillRun.objects.create(as_of=as_of, billing_account_id=billing_account_id)
        bill_run.accounts_total = _plan_chunks(bill_run)
        bill_run.save(update_fields=["accounts_total"])
    return bill_run


def bill_run_start(*, as_of: date, billing_account_id: int | None = None, progress=None) -> BillRun:
    """Run a bill run now, in this process, to the end: every account, every period ended by
    `as_of`."""
    bill_run = bill_run_create(as_of=as_of, billing_account_id=billing_account_id)
    return bill_run_resume(bill_run_id=bill_run.pk, progress=progress)


def bill_run_enqueue(*, as_of: date, billing_account_id: int | None = None) -> BillRun:
    """Record a bill run and hand it to the workers once this transaction commits."""
    from billing.tasks import run_bill_run

    with transaction.atomic():
        bill_run = bill_run_create(as_of=as_of, billing_account_id=billing_account_id)
        transaction.on_commit(lambda: run_bill_run.delay(bill_run_id=bill_run.pk))
    return bill_run


def _record_outcome(bill_run: BillRun, outcome: ChunkOutcome) -> None:
    """Record the accounts the chunk could not bill, close the run's failures of those it billed
    (a retry that worked), in the caller's transaction."""
    now = clock.now()
    if outcome.failed:
        BillRunFailure.objects.bulk_create(
            [
                BillRunFailure(
                    bill_run=bill_run, billing_account_id=account_id, reason=reason, failed_at=now
                )
                for account_id, reason in outcome.failed.items()
            ],
            update_conflicts=True,
            unique_fields=["bill_run", "billing_account"],
            update_fields=["reason", "failed_at", "resolved_at"],
        )
    if outcome.billed:
        BillRunFailure.objects.filter(
            bill_run=bill_run, billing_account_id__any=outcome.billed, resolved_at__isnull=True
        ).update(resolved_at=now)


def _open_failures(bill_run: BillRun) -> int:
    return BillRunFailure.objects.filter(bill_run=bill_run, resolved_at__isnull=True).count()


def bill_run_chunk_bill(*, chunk_id: int) -> bool:
    """Bill one chunk of a run in one transaction, the chunk marked done in it; False if it was
    done already (a redelivered task, a resume racing a worker) or is unknown. If it fails,
    nothing of it stays, the run is marked failed, and a resume bills the chunk again."""
    try:
        return _bill_chunk(chunk_id)
    except Exception as error:
        bill_run = BillRun.objects.filter(chunks=chunk_id).first()
        if bill_run is not None:
            _bill_run_failed(bill_run, error)
        raise


def _bill_chunk(chunk_id: int) -> bool:
    with transaction.atomic():
        chunk = (
            BillRunChunk.objects.select_for_update(of=("self",))
            .select_related("bill_run")
            .filter(pk=chunk_id)
            .first()
        )
        if chunk is None or chunk.done_at is not None:
            return False
        bill_run = chunk.bill_run
        accounts = list(
            _accounts_in_scope(bill_run)
            .filter(pk__gte=chunk.first_account_id, pk__lte=chunk.last_account_id)
            .only(*RATED_ACCOUNT_FIELDS)
            .select_for_update(of=("self",))
        )
        outcome = bill_chunk_accounts(accounts=accounts, as_of=bill_run.as_of, bill_run=bill_run)
        _record_outcome(bill_run, outcome)
        pause = getattr(settings, "BILL_RUN_CHUNK_PAUSE_MS", 0)
        if pause:
            time.sleep(pause / 1000)  # tests: a worker killed while a chunk is in hand
        BillRunChunk.objects.filter(pk=chunk.pk).update(
            done_at=clock.now(), bills_created=outcome.bills_created
        )
        BillRun.objects.filter(pk=bill_run.pk).update(
            accounts_done=F("accounts_done") + len(accounts),
            bills_created=F("bills_created") + (outcome.bills_created - outcome.bills_made_alone),
            last_account_id=Greatest(F("last_account_id"), chunk.last_account_id),
            accounts_failed=_open_failures(bill_run),
        )
    _finish_if_done(bill_run.pk)
    return True


def _retry_failures(bill_run: BillRun) -> None:
    """Bill again, in one transaction, the accounts an earlier pass of the run could not."""
    with transaction.atomic():
        failed = BillRunFailure.objects.filter(bill_run=bill_run, resolved_at__isnull=True)
        accounts = list(
            crm_selectors.billing_account_rows()
            .filter(pk__in=failed.values("billing_account_id"))
            .order_by("pk")
            .select_for_update()
        )
        if not accounts:
            return
        outcome = bill_chunk_accounts(accounts=accounts, as_of=bill_run.as_of, bill_run=bill_run)
        _record_outcome(bill_run, outcome)
        BillRun.objects.filter(pk=bill_run.pk).update(
            bills_created=F("bills_created") + (outcome.bills_created - outcome.bills_made_alone),
            accounts_failed=_open_failures(bill_run),
        )


def _finish_if_done(bill_run_id: int) -> None:
    """Complete the run once no chunk is left to do (with errors if an account failed)."""
    if BillRunChunk.objects.filter(bill_run_id=bill_run_id, done_at__isnull=True).exists():
        return  # the common case after a chunk, known without a transaction that locks the run
    with transaction.atomic():
        bill_run = BillRun.objects.select_for_update().filter(pk=bill_run_id).first()
        if bill_run is None or bill_run.state == BillRunState.COMPLETED:
            return
        if bill_run.chunks.filter(done_at__isnull=True).exists():
            return
        failed = _open_failures(bill_run)
        BillRun.objects.filter(pk=bill_run.pk).update(
            state=BillRunState.COMPLETED_WITH_ERRORS if failed else BillRunState.COMPLETED,
            accounts_failed=failed,
            error="",
            finished_at=clock.now(),
        )


def _bill_run_get(bill_run_id: int) -> BillRun:
    bill_run = BillRun.objects.filter(pk=bill_run_id).first()
    if bill_run is None:
        raise NotFound(f"Bill run '{bill_run_id}' does not exist.")
    return bill_run


def _bill_run_failed(bill_run: BillRun, error: Exception) -> None:
    # Recorded so the run shows why it stopped; `bill_run_resume` carries it on later.
    BillRun.objects.filter(pk=bill_run.pk).update(
        state=BillRunState.FAILED, error=f"{type(error).__name__}: {error}"
    )


def _reopen(bill_run: BillRun) -> None:
    """Running again: its chunks planned (a run recorded without them gets them now) and the
    accounts an earlier pass could not bill tried first."""
    BillRun.objects.filter(pk=bill_run.pk).update(state=BillRunState.RUNNING, error="")
    _plan_chunks(bill_run)
    _retry_failures(bill_run)


def _chunks_to_do(bill_run: BillRun) -> list[int]:
    """The ids of the run's chunks not done yet, in account order."""
    to_do = bill_run.chunks.filter(done_at__isnull=True).order_by("first_account_id")
    return list(to_do.values_list("pk", flat=True))


def bill_run_resume(*, bill_run_id: int, progress=None) -> BillRun:
    """Carry a bill run on in this process: the chunks not done yet, in account order; a
    completed run is left as is.

    An account that cannot be billed is recorded on the run (`BillRunFailure`) and the run
    carries on: it ends `completedWithErrors`, and resuming it tries those accounts again.
    `progress(bill_run)` is called after each chunk (the command prints with it).
    """
    bill_run = _bill_run_get(bill_run_id)
    if bill_run.state == BillRunState.COMPLETED:
        return bill_run
    try:
        _reopen(bill_run)
        for chunk_id in _chunks_to_do(bill_run):
            bill_run_chunk_bill(chunk_id=chunk_id)
            if progress is not None:
                bill_run.refresh_from_db()
                progress(bill_run)
    except Exception as error:
        _bill_run_failed(bill_run, error)
        raise
    _finish_if_done(bill_run.pk)
    bill_run.refresh_from_db()
    return bill_run


def bill_run_dispatch(*, bill_run_id: int) -> BillRun:
    """Carry a bill run on through the workers: one task per chunk not done yet (on the
    embedded default, eager Celery bills them here, one after the other). Enqueueing a chunk
    that a worker is billing, or has billed, is harmless."""
    from billing.tasks import bill_run_chunk

    bill_run = _bill_run_get(bill_run_id)
    if bill_run.state == BillRunState.COMPLETED:
        return bill_run
    try:
        _reopen(bill_run)
    except Exception as error:
        _bill_run_failed(bill_run, error)
        raise
    for chunk_id in _chunks_to_do(bill_run):
        bill_run_chunk.delay(chunk_id=chunk_id)
    _finish_if_done(bill_run.pk)
    bill_run.refresh_from_db()
    return bill_run
