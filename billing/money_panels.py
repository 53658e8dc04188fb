"""On the customer 360 (telco.panels): the customer's bills in dunning with the steps taken,
and their credit notes, for agents and finance."""

from django.db.models import Prefetch

from billing.models import CreditNote, DunningAction, DunningCase
from telco.panels import Panel, register

RECENT_CREDIT_NOTES = 10


def money_owed_context(request, customer) -> dict:
    """Open dunning cases (with their steps) and the latest credit notes: three queries."""
    cases = (
        DunningCase.objects.filter(billing_account__customer_id=customer.pk, closed_at__isnull=True)
        .select_related("bill")
        .prefetch_related(Prefetch("actions", queryset=DunningAction.objects.order_by("id")))
        .order_by("id")
    )
    notes = (
        CreditNote.objects.filter(billing_account__customer_id=customer.pk)
        .select_related("bill")
        .order_by("-id")[:RECENT_CREDIT_NOTES]
    )
    return {"cases": list(cases), "credit_notes": list(notes)}


def register_money_owed_panels() -> None:
    """Called by billing.panels.register_panels."""
    register(
        "crm.customer",
        Panel(
            name="billing.money_owed",
            title="Dunning and credit notes",
            template="billing/panels/customer_money_owed.html",
            context=money_owed_context,
            order=25,
        ),
    )
