"""Finance pages of the bill runs: the runs, and each run live (accounts done of the total, the
rate, the time left, the accounts it could not bill and why), with a resume for a run that
stopped. Mounted with billing's portal pages (billing/urls.py)."""

from datetime import date

from django.contrib import messages
from django.db.models import Count, Q
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path
from django.views.decorators.http import require_POST

from billing import services
from billing.choices import BillRunState
from billing.models import BillRun, BillRunFailure
from telco import clock
from telco.exceptions import DomainError

RUN_ROWS = 50
FAILURE_ROWS = 100
# How often a run's page refreshes its progress (milliseconds).
PROGRESS_REFRESH_MS = 2000


def _progress(run: BillRun, now) -> BillRun:
    """Annotate the run with its rate (accounts/s since it started) and time left."""
    elapsed = ((run.finished_at or now) - run.started_at).total_seconds()
    run.elapsed_seconds = max(elapsed, 0)
    run.rate = run.accounts_done / elapsed if elapsed > 0 and run.accounts_done else None
    left = max(run.accounts_total - run.accounts_done, 0)
    run.eta_seconds = (
        left / run.rate if run.rate and run.state == BillRunState.RUNNING and left else None
    )
    run.percent = round(100 * run.accounts_done / run.accounts_total) if run.accounts_total else 100
    return run


def bill_run_list(request):
    """The latest bill runs with their progress, and a form to start one."""
    now = clock.now()
    runs = [_progress(run, now) for run in BillRun.objects.order_by("-pk")[:RUN_ROWS]]
    context = {"runs": runs, "today": now.date(), "refresh_ms": PROGRESS_REFRESH_MS}
    return render(request, "billing/bill_run_list.html", context)


@require_POST
def bill_run_start(request):
    """Start a bill run on the workers (every account, or one account by id)."""
    try:
        as_of = date.fromisoformat(request.POST.get("as_of", ""))
    except ValueError:
        messages.error(request, "As of: a date, YYYY-MM-DD.")
        return redirect("finance:bill-run-list")
    account = request.POST.get("billing_account", "").strip()
    if account and not account.isdigit():
        # A mistyped account must not start a run over every account.
        messages.error(request, "Billing account: an account id, or empty for every account.")
        return redirect("finance:bill-run-list")
    try:
        run = services.bill_run_enqueue(
            as_of=as_of, billing_account_id=int(account) if account else None
        )
    except DomainError as error:
        messages.error(request, error.message)
        return redirect("finance:bill-run-list")
    return redirect("finance:bill-run-detail", pk=run.pk)


def _run_context(pk: int) -> dict:
    now = clock.now()
    run = _progress(get_object_or_404(BillRun, pk=pk), now)
    open_failures = BillRunFailure.objects.filter(bill_run=run, resolved_at__isnull=True)
    chunks = run.chunks.aggregate(
        total=Count("pk"), done=Count("pk", filter=Q(done_at__isnull=False))
    )
    return {
        "run": run,
        "chunks_total": chunks["total"],
        "chunks_done": chunks["done"],
        "failures": list(
            open_failures.select_related("billing_account").order_by("id")[:FAILURE_ROWS]
        ),
        "failures_total": open_failures.count(),
        "now": now,
        "refresh_ms": PROGRESS_REFRESH_MS,
    }


def bill_run_detail(request, pk: int):
    """One run; its progress block refreshes itself while the page is open."""
    return render(request, "billing/bill_run_detail.html", _run_context(pk))


def bill_run_progress(request, pk: int):
    """The run's progress block alone (what the page fetches every few seconds)."""
    return render(request, "billing/bill_run_progress.html", _run_context(pk))


@require_POST
def bill_run_resume(request, pk: int):
    """Carry a stopped run on (its chunks not done go back to the workers, its failed accounts
    are tried again); a completed run is left as it is."""
    run = get_object_or_404(BillRun, pk=pk)
    services.bill_run_dispatch(bill_run_id=run.pk)
    messages.success(request, f"Bill run {run.pk} resumed.")
    return redirect("finance:bill-run-detail", pk=run.pk)


urlpatterns = [
    path("bill-runs/", bill_run_list, name="bill-run-list"),
    path("bill-runs/start/", bill_run_start, name="bill-run-start"),
    path("bill-runs/<int:pk>/", bill_run_detail, name="bill-run-detail"),
    path("bill-runs/<int:pk>/progress/", bill_run_progress, name="bill-run-progress"),
    path("bill-runs/<int:pk>/resume/", bill_run_resume, name="bill-run-resume"),
]
