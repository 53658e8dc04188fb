"""Revenue-assurance pages under /finance/revenue-assurance/: the dashboard (open cases by class,
revenue at risk, the 30-day trend, the last reconciliation live, a "Run now"), the case list,
and a case's page with its history and what can be done with it. For finance, risk and admin
users; agents and the NOC get 403."""

from django import forms
from django.contrib import messages
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path
from django.views.decorators.http import require_POST

from billing import reports, revenue_selectors
from billing.choices import CASE_TRANSITIONS, CaseKind, CaseState, ReconciliationRunState
from billing.models import ReconciliationRun
from billing.revenue_chart import trend_chart
from billing.revenue_filters import CaseFilter
from billing.services import cases
from billing.services.case_commands import case_act, case_actions_for
from crm.permissions import may_use_portal
from telco import clock
from telco.exceptions import DomainError
from telco.roles import NOC, has_role

# How often the last run's progress refreshes while it runs (milliseconds).
PROGRESS_REFRESH_MS = 2000


def _by(request) -> str:
    return request.user.get_username()


# --- dashboard ---------------------------------------------------------------------------


def _run_context() -> dict:
    run = revenue_selectors.latest_run()
    if run is not None:
        run.percent = round(100 * run.units_done / run.units_total) if run.units_total else 0
        if run.state == ReconciliationRunState.COMPLETED:
            run.percent = 100
        labels = dict(CaseKind.choices)
        run.found = sorted(
            (labels.get(kind, kind), count) for kind, count in (run.found_by_kind or {}).items()
        )
    return {
        "run": run,
        "is_running": run is not None and run.state == ReconciliationRunState.RUNNING,
        "now": clock.now(),
        "refresh_ms": PROGRESS_REFRESH_MS,
    }


def dashboard(request):
    """Open cases by class and their revenue at risk, the 30-day trend, the last run."""
    by_kind = revenue_selectors.open_cases_by_kind()
    trend = revenue_selectors.case_trend(today=clock.now().date())
    context = {
        "by_kind": by_kind,
        "totals": revenue_selectors.amounts_by_currency(by_kind),
        "open_count": sum(row.count for row in by_kind),
        "trend": trend,
        "chart": trend_chart(trend),
        **_run_context(),
    }
    return render(request, "billing/revenue/dashboard.html", context)


def run_progress(request):
    """The last run's block alone (what the dashboard fetches while a run is going)."""
    return render(request, "billing/revenue/_run.html", _run_context())


def _reconciliation():
    # Imported when used: the reconciliation engine is its own module, and may run long imports.
    from billing.services import reconciliation

    return reconciliation


@require_POST
def run_start(request):
    """Start a reconciliation run on the workers; the dashboard follows it live."""
    try:
        run = _reconciliation().reconciliation_start(by=_by(request))
    except DomainError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, f"Reconciliation {run.pk} started.")
    return redirect("finance:revenue-assurance")


@require_POST
def run_resume(request, pk: int):
    """Carry a stopped run on where it was."""
    run = get_object_or_404(ReconciliationRun, pk=pk)
    try:
        _reconciliation().reconciliation_resume(run)
    except DomainError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, f"Reconciliation {run.pk} resumed.")
    return redirect("finance:revenue-assurance")


# --- cases -------------------------------------------------------------------------------


def case_list(request):
    """Cases by class, state, owner, fraud or reconciliation and text, a page at a time."""
    filterset = CaseFilter(
        request.GET or None, queryset=revenue_selectors.case_list(), request=request
    )
    valid = not filterset.is_bound or filterset.is_valid()
    queryset = filterset.qs if valid else filterset.queryset.none()
    query = request.GET.copy()
    query.pop("page", None)
    context = {
        "filter": filterset,
        "page": reports.page_of(queryset, request.GET.get("page")),
        "query": query.urlencode(),
        "can_open_customers": may_use_portal(request.user),
    }
    return render(request, "billing/revenue/case_list.html", context, status=200 if valid else 400)


class CaseStateForm(forms.Form):
    state = forms.ChoiceField(choices=CaseState.choices, label="New state")
    note = forms.CharField(
        required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 2})
    )


class CaseAssignForm(forms.Form):
    owner = forms.ModelChoiceField(
        queryset=revenue_selectors.case_owners(), required=False, empty_label="No owner"
    )


class CaseNoteForm(forms.Form):
    text = forms.CharField(max_length=2000, widget=forms.Textarea(attrs={"rows": 3}), label="Note")


class CaseActionForm(forms.Form):
    action = forms.CharField(max_length=40)


FORMS = {
    "state": CaseStateForm,
    "assign": CaseAssignForm,
    "note": CaseNoteForm,
    "action": CaseActionForm,
}


def _case_page(request, pk: int, bound: dict | None = None, status: int = 200):
    case = get_object_or_404(revenue_selectors.case_with_events(), pk=pk)
    page_forms = {name: form_class() for name, form_class in FORMS.items()}
    page_forms["assign"] = CaseAssignForm(initial={"owner": case.owner_id})
    page_forms.update(bound or {})
    allowed = sorted(CASE_TRANSITIONS.get(case.state, ()))
    page_forms["state"].fields["state"].choices = [
        (value, label) for value, label in CaseState.choices if value in allowed
    ]
    context = {
        "case": case,
        "forms": page_forms,
        "actions": case_actions_for(case),
        "evidence_rows": evidence_rows(case.evidence),
        # Linked only where the user may open the page (the portal's 360, the NOC's service).
        "opens": {
            "customer": may_use_portal(request.user),
            "service": has_role(request.user, NOC),
        },
    }
    return render(request, "billing/revenue/case_detail.html", context, status=status)


def case_detail(request, pk: int):
    """What the case is about, its evidence and history, and what can be done with it."""
    return _case_page(request, pk)


def _apply(case, name: str, data: dict, by: str) -> str:
    """Call the service the form names; the message to show on success."""
    if name == "state":
        cases.case_set_state(case, data["state"], by=by, note=data["note"])
        return f"Case moved to {data['state']}."
    if name == "assign":
        cases.case_assign(case, data["owner"], by=by)
        owner = data["owner"]
        return f"Case assigned to {owner.get_username()}." if owner else "Case has no owner now."
    if name == "note":
        cases.case_note(case, data["text"], by=by)
        return "Note added."
    case_act(case, data["action"], by=by)
    return "Done: " + data["action"] + "."


@require_POST
def case_change(request, pk: int, name: str):
    """One of the case page's forms (state, assign, note, action): on success back to the
    page; on refusal the page again, with the error beside the form (400, or 409 for a move the
    state machine refuses)."""
    if name not in FORMS:
        raise Http404
    case = get_object_or_404(revenue_selectors.case_list(), pk=pk)
    form = FORMS[name](request.POST)
    if not form.is_valid():
        return _case_page(request, pk, bound={name: form}, status=400)
    try:
        message = _apply(case, name, form.cleaned_data, _by(request))
    except DomainError as error:
        field = error.field if error.field in form.fields else None
        form.add_error(field, error.message)
        return _case_page(request, pk, bound={name: form}, status=error.status_code)
    messages.success(request, message)
    return redirect("finance:revenue-case", pk=pk)


def evidence_rows(evidence) -> dict:
    """The evidence readably: a drift's settings as expected against reported, each key once;
    anything else as label and value."""
    if not isinstance(evidence, dict):
        return {"facts": [("Evidence", evidence)], "compared": []}
    expected = evidence.get("expected")
    reported = evidence.get("reported")
    compared = []
    if isinstance(expected, dict) or isinstance(reported, dict):
        expected, reported = expected or {}, reported or {}

        def key_differs(key) -> bool:
            return key not in expected or key not in reported or expected[key] != reported[key]

        compared = [
            (
                key,
                readable(expected.get(key)),
                readable(reported.get(key)),
                expected.get(key) != reported.get(key),
            )
            for key in sorted(set(expected) | set(reported))
        ]
    facts = [
        (_label(key), readable(value))
        for key, value in sorted(evidence.items())
        # The compared settings are the table; a drift's list of differing keys repeats it.
        if not (compared and key in ("expected", "reported", "keys"))
    ]
    return {"facts": facts, "compared": compared}


def readable(value) -> str:
    """A JSON value as a line of text: a mapping as `key: value; ...` by key (PostgreSQL keeps
    no order), nested in brackets; a list comma-separated; nothing as a dash."""
    if value is None or value == "":
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, dict):
        return "; ".join(
            f"{key}: ({readable(each)})" if isinstance(each, dict) else f"{key}: {readable(each)}"
            for key, each in sorted(value.items())
        )
    if isinstance(value, list | tuple):
        return ", ".join(readable(each) for each in value)
    return str(value)


def _label(key: str) -> str:
    """`usageVolume` or `usage_volume` as "Usage volume"."""
    spaced = "".join(f" {c.lower()}" if c.isupper() else c for c in str(key)).replace("_", " ")
    return spaced.strip().capitalize()


urlpatterns = [
    path("revenue-assurance/", dashboard, name="revenue-assurance"),
    path("revenue-assurance/run/", run_start, name="revenue-run-start"),
    path("revenue-assurance/run/progress/", run_progress, name="revenue-run-progress"),
    path("revenue-assurance/run/<int:pk>/resume/", run_resume, name="revenue-run-resume"),
    path("revenue-assurance/cases/", case_list, name="revenue-cases"),
    path("revenue-assurance/cases/<int:pk>/", case_detail, name="revenue-case"),
    path(
        "revenue-assurance/cases/<int:pk>/<str:name>/",
        case_change,
        name="revenue-case-change",
    ),
]
