"""The NOC pages: live alarms by severity with their impact, alarm detail, ack and clear."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from assurance import selectors, services
from assurance.choices import SEVERITY_RANK
from assurance.models import Alarm
from telco.exceptions import DomainError
from telco.roles import NOC, has_role

# A storm can hold 100,000 active alarms; the page shows the most urgent ones and says so.
DASHBOARD_ROWS = 200


def _require_noc(request) -> None:
    if not has_role(request.user, NOC):
        raise PermissionDenied


@login_required
def noc_dashboard(request):
    """Active alarms, most urgent first, with the customers each one hurts."""
    _require_noc(request)
    counts = selectors.active_alarm_counts_by_severity()
    alarms = list(selectors.active_alarms_with_impact()[:DASHBOARD_ROWS])
    total = sum(counts.values())
    largest = max(counts.values(), default=0) or 1
    chart = [
        {"severity": severity, "count": count, "width": round(300 * count / largest), "y": 26 * i}
        for i, (severity, count) in enumerate(counts.items())
    ]
    context = {
        "alarms": alarms,
        "total": total,
        "chart": chart,
        "chart_height": 26 * len(SEVERITY_RANK),
        "truncated": total > len(alarms),
    }
    return render(request, "assurance/noc_dashboard.html", context)


@login_required
def alarm_detail(request, pk: int):
    """One alarm: what it is on, whom it affects, and everything that happened to it."""
    _require_noc(request)
    try:
        alarm = selectors.alarm_detail(pk)
    except Alarm.DoesNotExist:
        raise Http404 from None
    return render(request, "assurance/alarm_detail.html", {"alarm": alarm})


def _back(request, fallback: str):
    target = request.POST.get("next", "")
    if url_has_allowed_host_and_scheme(target, {request.get_host()}, request.is_secure()):
        return redirect(target)
    return redirect(fallback)


@login_required
@require_POST
def alarm_acknowledge(request, pk: int):
    _require_noc(request)
    alarm = get_object_or_404(Alarm, pk=pk)
    services.alarm_acknowledge(alarm=alarm, by=request.user.get_username())
    messages.success(request, f"Alarm {alarm.pk} acknowledged.")
    return _back(request, "assurance:noc-dashboard")


@login_required
@require_POST
def alarm_clear(request, pk: int):
    _require_noc(request)
    alarm = get_object_or_404(Alarm, pk=pk)
    try:
        services.alarm_clear(alarm=alarm, by=request.user.get_username())
    except DomainError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, f"Alarm {alarm.pk} cleared.")
    return _back(request, "assurance:noc-dashboard")
