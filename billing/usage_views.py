"""Rejected usage for operations (finance and the NOC): the records that will not be charged,
by reason and day of arrival, with counts per reason, and a button that reprocesses the
matching ones once their cause is fixed (a service created, a product's dates or a price
corrected). Mounted with the finance pages (billing/urls_finance.py): /finance/usage/rejected/.
"""

from datetime import datetime, time, timedelta
from urllib.parse import urlencode

from django import forms
from django.contrib import messages
from django.db.models import Count
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.views.decorators.http import require_POST

from billing import reports
from billing.choices import REPROCESSABLE_REJECTIONS, UsageRejectionReason
from billing.selectors import rejected_usage_list
from billing.services.usage_bulk import usage_reprocess
from telco import clock
from telco.exceptions import DomainError


class RejectedUsageFilter(forms.Form):
    reason = forms.ChoiceField(
        choices=[("", "Any reason"), *UsageRejectionReason.choices], required=False
    )
    day = forms.DateField(required=False, label="Received on", help_text="YYYY-MM-DD")

    def bounds(self) -> tuple[datetime | None, datetime | None]:
        day = self.cleaned_data.get("day")
        if day is None:
            return None, None
        start = datetime.combine(day, time.min, tzinfo=clock.now().tzinfo)
        return start, start + timedelta(days=1)


def _filtered(form: RejectedUsageFilter):
    queryset = rejected_usage_list()
    if form.cleaned_data.get("reason"):
        queryset = queryset.filter(rejection_reason=form.cleaned_data["reason"])
    since, until = form.bounds()
    if since is not None:
        queryset = queryset.filter(received_at__gte=since, received_at__lt=until)
    return queryset


def rejected_usage(request):
    """Rejected usage, newest first, a page at a time, with the count of each reason."""
    form = RejectedUsageFilter(request.GET or None)
    valid = not form.is_bound or form.is_valid()
    if not form.is_bound:
        form.cleaned_data = {}
    queryset = _filtered(form) if valid else rejected_usage_list().none()
    by_reason = (
        queryset.order_by().values("rejection_reason").annotate(count=Count("id")) if valid else []
    )
    query = request.GET.copy()
    query.pop("page", None)
    context = {
        "form": form,
        "rows": reports.page_of(queryset, request.GET.get("page")),
        "by_reason": sorted((r["rejection_reason"], r["count"]) for r in by_reason),
        "query": query.urlencode(),
        "reprocessable": [str(reason) for reason in REPROCESSABLE_REJECTIONS],
    }
    return render(
        request, "billing/finance/rejected_usage.html", context, status=200 if valid else 400
    )


@require_POST
def rejected_usage_reprocess(request):
    """Reprocess what the page's filter shows (reprocessable reasons only), set-based."""
    form = RejectedUsageFilter(request.POST)
    target = reverse("finance:rejected-usage")
    if not form.is_valid():
        messages.error(request, "The filter is not valid; nothing was reprocessed.")
        return redirect(target)
    since, until = form.bounds()
    try:
        result = usage_reprocess(
            reason=form.cleaned_data.get("reason") or "",
            received_on=since,
            received_before=until,
        )
    except DomainError as error:
        messages.error(request, error.message)
        return redirect(target)
    still = ", ".join(
        f"{count} {reason}" for reason, count in sorted(result.still_rejected.items())
    )
    messages.success(
        request,
        f"Reprocessed {result.tried}: {result.charged} now chargeable"
        + (f"; still rejected: {still}." if still else "."),
    )
    query = {k: v for k, v in request.POST.items() if k in ("reason", "day") and v}
    return redirect(f"{target}?{urlencode(query)}" if query else target)


urlpatterns = [
    path("usage/rejected/", rejected_usage, name="rejected-usage"),
    path(
        "usage/rejected/reprocess/",
        rejected_usage_reprocess,
        name="rejected-usage-reprocess",
    ),
]
