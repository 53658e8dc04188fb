"""Orders billing places on an account's products: dunning's suspensions, resumptions and
terminations, fraud's bars and lifts. Orders sit above billing, so billing calls the function
orders registers at ACCOUNT_ORDER_LOOKUP (telco.panels.register_lookup)."""

from telco.exceptions import DomainError
from telco.panels import lookups_for

# orders registers here: place(*, billing_account_id, product_ids, change, reason, reference, by)
# -> the TMF622 order's id; `change` is "suspend", "resume" or "terminate", `reason` goes into
# the order's description ("nonPayment: ...", "fraud: ..."), `reference` (the order's
# externalId) makes it idempotent. It raises DomainError when the order is refused.
ACCOUNT_ORDER_LOOKUP = "billing.account_order"


def account_order_place(
    *,
    billing_account_id: int,
    product_ids: list[int],
    change: str,
    reason: str,
    reference: str,
    by: str,
) -> str:
    """Order `change` of the account's `product_ids` through orders; the order's id."""
    placers = lookups_for(ACCOUNT_ORDER_LOOKUP)
    if not placers:
        raise DomainError("No app places product orders (orders is not installed).")
    return str(
        placers[0](
            billing_account_id=billing_account_id,
            product_ids=product_ids,
            change=change,
            reason=reason,
            reference=reference,
            by=by,
        )
    )
