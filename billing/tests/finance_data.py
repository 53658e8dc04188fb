"""Bills, lines and payments written as the bill run and payments leave them, for the finance
pages' tests: any number, on any dates, in any state, without running a bill run."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from billing.choices import BillState, ChargeType, PaymentMethodType
from billing.models import AppliedCharge, CustomerBill, Payment, PaymentAllocation
from catalog.tests.factories import CategoryFactory, ProductOfferingFactory
from crm.models import BillingAccount
from inventory.choices import ProductStatus
from inventory.models import ProductInstance
from inventory.tests.factories import ProductInstanceFactory

TAX_RATE = Decimal("0.2")


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


def offering_in(line: str, *, sub_category: str = ""):
    """An offering in the category `line` (or in `sub_category` under it)."""
    category = CategoryFactory(name=line)
    if sub_category:
        category = CategoryFactory(name=sub_category, parent=category)
    offering = ProductOfferingFactory()
    offering.categories.add(category)
    return offering


def product_of(account: BillingAccount, offering) -> ProductInstance:
    return ProductInstanceFactory(
        billing_account=account,
        customer=account.customer,
        product_offering=offering,
        status=ProductStatus.ACTIVE,
        start_date=utc(2026, 1, 1),
    )


def make_bill(
    account: BillingAccount,
    *,
    lines: list[tuple[ProductInstance, str]],
    period_start: datetime,
    bill_date: datetime | None = None,
    due: datetime | None = None,
    paid: str = "0",
    state: str = BillState.NEW,
) -> CustomerBill:
    """A bill of `lines` (product, net amount) with 20 % tax; `paid` of its total already paid."""
    net = sum((Decimal(amount) for _, amount in lines), Decimal(0))
    tax = (net * TAX_RATE).quantize(Decimal("0.01"))
    period_end = (period_start + timedelta(days=32)).replace(day=1)
    bill_date = bill_date or period_end
    number = CustomerBill.objects.count() + 1
    bill = CustomerBill.objects.create(
        billing_account=account,
        bill_no=f"INV-{number:06d}",
        period_start=period_start,
        period_end=period_end,
        bill_date=bill_date,
        payment_due_date=due or bill_date + timedelta(days=14),
        state=state,
        currency=account.currency,
        tax_excluded_amount=net,
        tax_amount=tax,
        tax_included_amount=net + tax,
        remaining_amount=net + tax - Decimal(paid),
    )
    AppliedCharge.objects.bulk_create(
        AppliedCharge(
            bill=bill,
            billing_account=account,
            product=product,
            charge_type=ChargeType.RECURRING,
            name="Monthly fee",
            period_start=period_start,
            period_end=period_end,
            currency=account.currency,
            tax_rate=TAX_RATE,
            tax_excluded_amount=Decimal(amount),
            tax_amount=(Decimal(amount) * TAX_RATE).quantize(Decimal("0.01")),
            tax_included_amount=Decimal(amount)
            + (Decimal(amount) * TAX_RATE).quantize(Decimal("0.01")),
            charge_key=f"{bill.pk}-{i}",
        )
        for i, (product, amount) in enumerate(lines)
    )
    return bill


def make_payment(
    account: BillingAccount,
    *,
    amount: str,
    paid_at: datetime,
    bills: list[tuple[CustomerBill, str]] = (),
    method: str = PaymentMethodType.BANK_TRANSFER,
    reference: str = "",
) -> Payment:
    """A payment of `amount` allocated to `bills` (bill, amount); the rest is credit."""
    allocated = sum((Decimal(part) for _, part in bills), Decimal(0))
    payment = Payment.objects.create(
        billing_account=account,
        amount=Decimal(amount),
        currency=account.currency,
        unallocated_amount=Decimal(amount) - allocated,
        payment_date=paid_at,
        method=method,
        reference=reference,
    )
    PaymentAllocation.objects.bulk_create(
        PaymentAllocation(payment=payment, bill=bill, amount=Decimal(part)) for bill, part in bills
    )
    return payment
