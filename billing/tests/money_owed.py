"""Test data for dunning, credit notes, refunds: bills laid down as a bill run leaves them,
and the demo-like dunning policy."""

from datetime import UTC, datetime
from decimal import Decimal

from billing.models import AppliedCharge, CustomerBill, DunningPolicy, DunningStep


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


POLICY_STEPS = (
    (1, 1, "reminder"),
    (2, 7, "secondReminder"),
    (3, 14, "suspend"),
)


def dunning_policy(steps=POLICY_STEPS, minimum: str = "0") -> DunningPolicy:
    """The default policy, in place of the one migrations install."""
    DunningPolicy.objects.all().delete()
    policy = DunningPolicy.objects.create(
        name="Standard", is_default=True, minimum_amount=Decimal(minimum)
    )
    DunningStep.objects.bulk_create(
        DunningStep(policy=policy, position=position, days_after_due=days, action=action)
        for position, days, action in steps
    )
    return policy


def sent_bill(
    product, *, bill_no: str, start: datetime, end: datetime, due: datetime, net: str
) -> CustomerBill:
    """A sent bill of one 20%-taxed recurring line of `net` for the product's account."""
    net = Decimal(net)
    tax = net * Decimal("0.2")
    account = product.billing_account
    bill = CustomerBill.objects.create(
        billing_account=account,
        bill_no=bill_no,
        period_start=start,
        period_end=end,
        bill_date=end,
        payment_due_date=due,
        state="sent",
        tax_excluded_amount=net,
        tax_amount=tax,
        tax_included_amount=net + tax,
        remaining_amount=net + tax,
    )
    AppliedCharge.objects.create(
        bill=bill,
        billing_account=account,
        product=product,
        charge_type="recurring",
        name="5G monthly",
        period_start=start,
        period_end=end,
        tax_rate=Decimal("0.2"),
        tax_excluded_amount=net,
        tax_amount=tax,
        tax_included_amount=net + tax,
        charge_key=f"test:{bill_no}",
    )
    return bill
