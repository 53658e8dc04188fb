"""The History section on the pages of audited objects (registered, as every panel is, so the
pages render it without importing this app)."""

from telco import panels
from telco.audit import selectors


def related_ids(obj) -> dict:
    """What else a page's history includes: a customer's party and accounts, an order's items."""
    label = obj._meta.label_lower
    if label == "crm.customer":
        return {
            "crm.party": [obj.party_id],
            "crm.billingaccount": list(obj.accounts.values_list("pk", flat=True)),
        }
    if label == "orders.productorder":
        return {"orders.productorderitem": list(obj.items.values_list("pk", flat=True))}
    return {}


def history_context(request, obj) -> dict:
    return {
        "audit_events": selectors.history_of(obj, related=related_ids(obj)),
        "audit_recorded": selectors.recorded(),
    }


# The pages that show a History section: customer 360, product order, bill, incident, RA case.
HISTORY_PAGES = (
    "crm.customer",
    "orders.productorder",
    "billing.customerbill",
    "assurance.incident",
    "billing.revenuecase",
)


def register_history_panels() -> None:
    for object_type in HISTORY_PAGES:
        panels.register(
            object_type,
            panels.Panel(
                name="audit.history",
                title="History",
                template="audit/panels/history.html",
                context=history_context,
                # Last on the page: the record of what happened, below what is.
                order=1000,
            ),
        )
