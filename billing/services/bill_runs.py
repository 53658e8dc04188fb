"""Bill runs: bill every account with an ended period, in chunks, resumable, recording the
accounts that cannot be billed instead of stopping at them."""

import logging
from datetime import date

from django.db import InterfaceError, OperationalError, transaction
from django.db.models import Exists, F, Model, OuterRef, QuerySet

from billing.choices import BillRunState
from billing.models import BillRun, BillRunFailure
from billing.services.bills import account_bill
from crm import selectors as crm_selectors
from inventory import selectors as inventory_selectors
from telco import clock
from telco.exceptions import DomainError, NotFound

logger = logging.getLogger(__name__)

ACCOUNTS_PER_CHUNK = 200


def _accounts_in_scope(bill_run: BillRun) -> QuerySet:
    """Accounts with a product that ever started, in id order (the order a run walks)."""
    started = inventory_selectors.started_products().filter(billing_account=OuterRef("pk"))
    accounts = crm_selectors.billing_account_rows().filter(Exists(started))
    if bill_run.billing_account_id is not None:
        accounts = accounts.filter(pk=bill_run.billing_account_id)
    return accounts.order_by("pk")


def bill_run_create(*, as_of: date, billing_account_id: int | None = None) -> BillRun:
    """Record a bill run (state running, nothing done yet); `bill_run_resume` does the work."""
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
    bill_run = BillRun(as_of=as_of, billing_account_id=billing_account_id)
    bill_run.accounts_total = _accounts_in_scope(bill_run).count()
    bill_run.save()
    return bill_run


def bill_run_start(*, as_of: date, billing_account_id: int | None = None, progress=None) -> BillRun:
    """Run a bill run now, to the end: every account, every period ended by `as_of`."""
    bill_run = bill_run_create(as_of=as_of, billing_account_id=billing_account_id)
    return bill_run_resume(bill_run_id=bill_run.pk, progress=progress)


def bill_run_enqueue(*, as_of: date, billing_account_id: int | None = None) -> BillRun:
    """Record a bill run and hand it to a Celery worker once this transaction commits."""
    from billing.tasks import run_bill_run

    with transaction.atomic():
        bill_run = bill_run_create(as_of=as_of, billing_account_id=billing_account_id)
        transaction.on_commit(lambda: run_bill_run.delay(bill_run_id=bill_run.pk))
    return bill_run


def _bill_run_account(bill_run: BillRun, account: Model) -> bool:
    """Bill one account of the run; if it cannot be billed, record why on the run (its earlier
    periods stay billed) so the run carries on with the other accounts. False if it failed.

    A failure an earlier attempt recorded for an account now billed is closed by the caller,
    for a whole chunk at once (`_resolve_failures`)."""
    now = clock.now()
    try:
        account_bill(account=account, as_of=bill_run.as_of, bill_run=bill_run)
    except (OperationalError, InterfaceError):
        raise  # the database itself failed, not this account: the run stops, to be resumed
    except Exception as error:  # noqa: BLE001 - one account's failure must not stop the others
        logger.exception("Bill run %s could not bill account %s", bill_run.pk, account.pk)
        reason = error.message if isinstance(error, DomainError) else str(error)
        BillRunFailure.objects.update_or_create(
            bill_run=bill_run,
            billing_account=account,
            defaults={
                "reason": f"{type(error).__name__}: {reason}"[:2000],
                "failed_at": now,
                "resolved_at": None,
            },
        )
        return False
    return True


def _resolve_failures(bill_run: BillRun, account_ids: list[int]) -> None:
    """Close the run's open failures of the accounts it has now billed, in one statement."""
    if account_ids:
        BillRunFailure.objects.filter(
            bill_run=bill_run, billing_account_id__in=account_ids, resolved_at__isnull=True
        ).update(resolved_at=clock.now())


def bill_run_resume(*, bill_run_id: int, progress=None) -> BillRun:
    """Carry a bill run on from the last account it finished; a completed run is left as is.

    Accounts are walked in id order, in chunks; progress is saved after every account, and
    re-billing an account-period is a no-op, so an interrupted run resumes without duplicates.
    An account that cannot be billed is recorded on the run (`BillRunFailure`) and the run
    carries on: it ends `completedWithErrors`, and resuming it tries those accounts again.
    `progress(bill_run)` is called after each account (the command prints with it).
    """
    bill_run = BillRun.objects.filter(pk=bill_run_id).first()
    if bill_run is None:
        raise NotFound(f"Bill run '{bill_run_id}' does not exist.")
    if bill_run.state == BillRunState.COMPLETED:
        return bill_run
    BillRun.objects.filter(pk=bill_run.pk).update(state=BillRunState.RUNNING, error="")
    try:
        open_failures = bill_run.failures.filter(resolved_at__isnull=True)
        # First the accounts an earlier pass could not bill.
        retried = open_failures.select_related("billing_account").order_by("billing_account")
        billed = []
        for failure in list(retried):
            if _bill_run_account(bill_run, failure.billing_account):
                billed.append(failure.billing_account_id)
        _resolve_failures(bill_run, billed)
        while True:
            chunk = list(
                _accounts_in_scope(bill_run).filter(pk__gt=bill_run.last_account_id)[
                    :ACCOUNTS_PER_CHUNK
                ]
            )
            if not chunk:
                break
            billed = []
            for account in chunk:
                progressed = {"accounts_done": F("accounts_done") + 1}
                if _bill_run_account(bill_run, account):
                    billed.append(account.pk)
                else:
                    progressed["accounts_failed"] = open_failures.count()
                BillRun.objects.filter(pk=bill_run.pk).update(
                    **progressed, last_account_id=account.pk
                )
                bill_run.last_account_id = account.pk  # the next chunk starts after it
                if progress is not None:
                    bill_run.refresh_from_db()  # counters moved in the database (F())
                    progress(bill_run)
            _resolve_failures(bill_run, billed)
    except Exception as error:
        # Recorded so the run shows why it stopped; `bill_run_resume` carries it on later.
        BillRun.objects.filter(pk=bill_run.pk).update(
            state=BillRunState.FAILED, error=f"{type(error).__name__}: {error}"
        )
        raise
    failed = open_failures.count()
    BillRun.objects.filter(pk=bill_run.pk).update(
        state=BillRunState.COMPLETED_WITH_ERRORS if failed else BillRunState.COMPLETED,
        accounts_failed=failed,
        finished_at=clock.now(),
    )
    bill_run.refresh_from_db()
    return bill_run
