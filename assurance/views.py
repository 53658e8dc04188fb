"""The NOC pages: open incidents first, then active alarms (filtered, paginated, refreshed in
place), an incident's detail, and the buttons and forms that act on incidents and alarms."""

from datetime import datetime

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from assurance import dashboard, incident_actions, selectors, services
from assurance.choices import OPEN_INCIDENT_STATES, SEVERITY_RANK
from assurance.models import Alarm, Incident
from telco.exceptions import DomainError

# How often the live blocks of the dashboard re-fetch themselves (milliseconds).
REFRESH_MS = 5000


def _severity_chart() -> tuple[list[dict], int]:
    counts = selectors.active_alarm_counts_by_severity()
    largest = max(counts.values(), default=0) or 1
    chart = [
        {"severity": severity, "count": count, "width": round(300 * count / largest), "y": 26 * i}
        for i, (severity, count) in enumerate(counts.items())
    ]
    return chart, sum(counts.values())


def _incidents_context(request, filters) -> dict:
    return {
        "incidents": dashboard.incident_page(filters, request.GET.get("ipage")),
        "assignees": incident_actions.assignable_usernames(),
        "filters": filters,
    }


def _alarms_context(request, filters) -> dict:
    return {
        "alarms": dashboard.alarm_page(filters, request.GET.get("page")),
        "filters": filters,
    }


@login_required
def noc_dashboard(request):
    """Open incidents with their impact, then active alarms, most urgent first."""
    filters = dashboard.Filters.from_query(request.GET)
    chart, total = _severity_chart()
    context = {
        **_incidents_context(request, filters),
        **_alarms_context(request, filters),
        **dashboard.filter_choices(),
        "total": total,
        "chart": chart,
        "chart_height": 26 * len(SEVERITY_RANK),
        "refresh_ms": REFRESH_MS,
    }
    return render(request, "assurance/noc_dashboard.html", context)


@login_required
def noc_incidents_block(request):
    """The dashboard's incident table alone: what the page re-fetches every few seconds."""
    filters = dashboard.Filters.from_query(request.GET)
    return render(request, "assurance/noc_incidents.html", _incidents_context(request, filters))


@login_required
def noc_alarms_block(request):
    """The dashboard's alarm table alone: what the page re-fetches every few seconds."""
    filters = dashboard.Filters.from_query(request.GET)
    return render(request, "assurance/noc_alarms.html", _alarms_context(request, filters))


@login_required
def incident_detail(request, pk: int):
    """One incident: root cause, impact, alarms under the root, services hit, history, notes."""
    try:
        incident = dashboard.incident_detail(pk)
    except Incident.DoesNotExist:
        raise Http404 from None
    alarms = dashboard.alarm_page(
        dashboard.Filters(), request.GET.get("page"), queryset=dashboard.incident_alarms(incident)
    )
    context = {
        "incident": incident,
        "alarms": alarms,
        "impacted": dashboard.impacted_services(incident),
        "open_states": OPEN_INCIDENT_STATES,
        "assignees": incident_actions.assignable_usernames(),
        "refresh_ms": REFRESH_MS,
    }
    return render(request, "assurance/incident_detail.html", context)


@login_required
def alarm_detail(request, pk: int):
    """One alarm: what it is on, whom it affects, and everything that happened to it."""
    try:
        alarm = selectors.alarm_detail(pk)
    except Alarm.DoesNotExist:
        raise Http404 from None
    return render(request, "assurance/alarm_detail.html", {"alarm": alarm})


def _back(request, fallback: str, **kwargs):
    target = request.POST.get("next", "")
    if url_has_allowed_host_and_scheme(target, {request.get_host()}, request.is_secure()):
        return redirect(target)
    return redirect(fallback, **kwargs)


@login_required
@require_POST
def alarm_acknowledge(request, pk: int):
    alarm = get_object_or_404(Alarm, pk=pk)
    services.alarm_acknowledge(alarm=alarm, by=request.user.get_username())
    messages.success(request, f"Alarm {alarm.pk} acknowledged.")
    return _back(request, "assurance:noc-dashboard")


@login_required
@require_POST
def alarm_clear(request, pk: int):
    alarm = get_object_or_404(Alarm, pk=pk)
    try:
        services.alarm_clear(alarm=alarm, by=request.user.get_username())
    except DomainError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, f"Alarm {alarm.pk} cleared.")
    return _back(request, "assurance:noc-dashboard")


def parse_eta(value: str) -> datetime | None:
    """A restore time typed in a form (`datetime-local`, the operator's time zone) or ISO 8601;
    empty withdraws it. Unreadable text is a DomainError on `expectedRestoreTime`."""
    value = (value or "").strip()
    if not value:
        return None
    parsed = parse_datetime(value)
    if parsed is None:
        raise DomainError(
            f"'{value}' is not a date and time (YYYY-MM-DD HH:MM).", field="expectedRestoreTime"
        )
    if timezone.is_naive(parsed):
        parsed = timezone.make_aware(parsed)
    return parsed


def _incident_action(request, pk: int, act, done: str):
    """Run `act(incident, by)` for the NOC; its DomainError becomes the page's error message."""
    incident = get_object_or_404(Incident, pk=pk)
    try:
        act(incident, request.user.get_username())
    except DomainError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, f"Incident {incident.pk} {done}.")
    return _back(request, "assurance:incident-detail", pk=incident.pk)


@login_required
@require_POST
def incident_acknowledge(request, pk: int):
    return _incident_action(
        request, pk, lambda i, by: incident_actions.incident_acknowledge(i, by=by), "acknowledged"
    )


@login_required
@require_POST
def incident_assign(request, pk: int):
    to = request.POST.get("assignee", "")
    return _incident_action(
        request,
        pk,
        lambda i, by: incident_actions.incident_assign(i, to=to, by=by),
        f"assigned to {to}" if to.strip() else "unassigned",
    )


@login_required
@require_POST
def incident_comment(request, pk: int):
    text = request.POST.get("text", "")
    return _incident_action(
        request,
        pk,
        lambda i, by: incident_actions.incident_comment(i, text=text, by=by),
        "noted",
    )


@login_required
@require_POST
def incident_set_eta(request, pk: int):
    def act(incident, by):
        incident_actions.incident_set_eta(incident, eta=parse_eta(request.POST.get("eta")), by=by)

    return _incident_action(request, pk, act, "restore time set")
