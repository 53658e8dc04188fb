"""Mediation against billing, one usage day at a time: what was received, rated and billed per
rating group (the figures kept on the cases' evidence), usage that should have been billed and
was not, and rejected usage by cause. Two grouped queries per day."""

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.db.models import Count, Exists, OuterRef, Q, Sum

from billing.choices import CaseKind, UsageStatus
from billing.models import CustomerBill, UsageEvent
from billing.services.cases import Finding

MEDIATION_KINDS = (CaseKind.USAGE_NOT_RATED, CaseKind.USAGE_REJECTED)
UNBILLED = (UsageStatus.RECEIVED, UsageStatus.RATED)


def day_bounds(day: date) -> tuple[datetime, datetime]:
    start = datetime(day.year, day.month, day.day, tzinfo=UTC)
    return start, start + timedelta(days=1)


def usage_day_figures(day: date) -> dict[str, dict]:
    """Per rating group of the usage dated `day`: received (every record), rated (chargeable:
    received, rated or billed), billed and rejected, counts and volumes, in one query."""
    start, end = day_bounds(day)
    chargeable = Q(status__in=(*UNBILLED, UsageStatus.BILLED))
    rows = (
        UsageEvent.objects.filter(usage_date__gte=start, usage_date__lt=end)
        .values("rating_group")
        .annotate(
            received=Count("id"),
            receivedVolume=Sum("volume"),
            rated=Count("id", filter=chargeable),
            ratedVolume=Sum("rated_volume", filter=chargeable),
            billed=Count("id", filter=Q(status=UsageStatus.BILLED)),
            billedVolume=Sum("rated_volume", filter=Q(status=UsageStatus.BILLED)),
            rejected=Count("id", filter=Q(status=UsageStatus.REJECTED)),
        )
        .order_by("rating_group")
    )
    return {
        row.pop("rating_group"): {key: _plain(value) for key, value in row.items()} for row in rows
    }


def _plain(value):
    if isinstance(value, Decimal):
        return format(value.normalize(), "f") if value else "0"
    return value if value is not None else "0"


def unbilled_after_bill(day: date, as_of: datetime):
    """The usage of `day` still unbilled although it arrived more than the grace period ago
    and a bill of its account was made after it arrived (it should have charged it, as usage
    of its period or as late usage)."""
    start, end = day_bounds(day)
    grace = timedelta(hours=int(getattr(settings, "RECONCILIATION_USAGE_GRACE_HOURS", 24)))
    later_bill = CustomerBill.objects.filter(
        billing_account_id=OuterRef("billing_account_id"),
        bill_date__gt=OuterRef("received_at"),
        period_end__gt=OuterRef("usage_date"),
    )
    return UsageEvent.objects.filter(
        usage_date__gte=start,
        usage_date__lt=end,
        status__in=UNBILLED,
        received_at__lt=as_of - grace,
    ).filter(Exists(later_bill))


def mediation_findings(*, day: str, as_of: datetime):

    usage_day = date.fromisoformat(day)
    figures = usage_day_figures(usage_day)
    findings = []
    not_billed = (
        unbilled_after_bill(usage_day, as_of)
        .values("rating_group")
        .annotate(count=Count("id"), volume=Sum("rated_volume"))
        .order_by("rating_group")
    )
    for row in not_billed:
        group = row["rating_group"]
        findings.append(
            Finding(
                kind=CaseKind.USAGE_NOT_RATED,
                fingerprint=f"{CaseKind.USAGE_NOT_RATED}:{day}:{group}",
                summary=(
                    f"{row['count']} usage record(s) of {day} ({group}) were never billed, "
                    "though a bill was made since they arrived."
                ),
                day=usage_day,
                rating_group=group,
                evidence={
                    "records": row["count"],
                    "ratedVolume": _plain(row["volume"]),
                    "day": figures.get(group, {}),
                },
            )
        )
    start, end = day_bounds(usage_day)
    rejected = (
        UsageEvent.objects.filter(
            usage_date__gte=start, usage_date__lt=end, status=UsageStatus.REJECTED
        )
        .values("rejection_reason")
        .annotate(count=Count("id"))
        .order_by("rejection_reason")
    )
    for row in rejected:
        reason = row["rejection_reason"]
        findings.append(
            Finding(
                kind=CaseKind.USAGE_REJECTED,
                fingerprint=f"{CaseKind.USAGE_REJECTED}:{day}:{reason}",
                summary=f"{row['count']} usage record(s) of {day} rejected: {reason}.",
                day=usage_day,
                evidence={"reason": reason, "records": row["count"], "byRatingGroup": figures},
            )
        )
    return findings, Q(kind__in=MEDIATION_KINDS, day=usage_day)
