"""Billing reads shared by the API, the pages and other apps."""

from decimal import Decimal

from django.db.models import DecimalField, Prefetch, Q, QuerySet, Sum, Value
from django.db.models.functions import Coalesce

from billing.choices import BillState
from billing.models import AppliedCharge, BillRun, CustomerBill, UsageEvent
from crm.models import BillingAccount


def usage_list() -> QuerySet[UsageEvent]:
    """Usage events with their customer, product and the bill that charged them."""
    return UsageEvent.objects.select_related(
        "billing_account__customer", "product", "applied_charge__bill"
    ).order_by("id")


def bill_list() -> QuerySet[CustomerBill]:
    """Bills with their account, customer and lines (for the tax breakdown)."""
    return (
        CustomerBill.objects.select_related("billing_account__customer")
        .prefetch_related(
            Prefetch("lines", queryset=AppliedCharge.objects.select_related("product"))
        )
        .order_by("id")
    )


def bills_for_customer(customer_id: int) -> QuerySet[CustomerBill]:
    """A customer's bills, newest first, lines and their products prefetched."""
    return (
        bill_list().filter(billing_account__customer_id=customer_id).order_by("-bill_date", "-id")
    )


def applied_charge_list() -> QuerySet[AppliedCharge]:
    """Bill lines with their bill, product and account."""
    return AppliedCharge.objects.select_related("bill", "product", "billing_account").order_by("id")


def bill_run_list() -> QuerySet[BillRun]:
    """Bill runs, newest first, with the account a run was limited to."""
    return BillRun.objects.select_related("billing_account").order_by("-id")


def accounts_with_balance(accounts: QuerySet[BillingAccount]) -> QuerySet[BillingAccount]:
    """Annotate `balance`: what each account owes, the sum of its unpaid (not settled) bills."""
    return accounts.annotate(
        balance=Coalesce(
            Sum("bills__tax_included_amount", filter=~Q(bills__state=BillState.SETTLED)),
            Value(Decimal("0")),
            output_field=DecimalField(max_digits=18, decimal_places=4),
        )
    )


def account_balance(account: BillingAccount) -> Decimal:
    """What the account owes: the sum of its unpaid (not settled) bill totals."""
    return accounts_with_balance(BillingAccount.objects.filter(pk=account.pk)).get().balance
