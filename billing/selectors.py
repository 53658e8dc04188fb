"""Billing reads shared by the API, the pages and other apps."""

from decimal import Decimal

from django.db.models import (
    DecimalField,
    ExpressionWrapper,
    Model,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
)
from django.db.models.functions import Coalesce

from billing.choices import UsageStatus
from billing.models import (
    AppliedCharge,
    BillRun,
    BillRunFailure,
    CreditNote,
    CustomerBill,
    CustomerBillOnDemand,
    Payment,
    PaymentAllocation,
    UsageEvent,
    UsageSpecification,
)
from crm import selectors as crm_selectors
from telco import clock


def usage_list() -> QuerySet[UsageEvent]:
    """Usage events with their customer, product and the bill that charged them."""
    return UsageEvent.objects.select_related(
        "billing_account__customer", "product", "applied_charge__bill", "usage_specification"
    ).order_by("id")


def rejected_usage_list() -> QuerySet[UsageEvent]:
    """Usage that will not be charged (status rejected), newest first."""
    return UsageEvent.objects.filter(status=UsageStatus.REJECTED).order_by("-received_at", "-id")


def usage_specification_list() -> QuerySet[UsageSpecification]:
    """Usage specifications in id order."""
    return UsageSpecification.objects.order_by("id")


def bill_on_demand_list() -> QuerySet[CustomerBillOnDemand]:
    """Bill-on-demand requests with their account, customer and the bill they produced."""
    return CustomerBillOnDemand.objects.select_related(
        "billing_account__customer", "customer_bill"
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


def bill_list_with_payments() -> QuerySet[CustomerBill]:
    """`bill_list` plus the payment allocations each bill received."""
    return bill_list().prefetch_related(
        Prefetch(
            "allocations",
            queryset=PaymentAllocation.objects.select_related("payment").order_by("id"),
        )
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
    """Bill runs, newest first, with the account a run was limited to and the accounts it
    could not bill."""
    return (
        BillRun.objects.select_related("billing_account")
        .prefetch_related(
            Prefetch(
                "failures",
                queryset=BillRunFailure.objects.select_related("billing_account").order_by("id"),
            )
        )
        .order_by("-id")
    )


MONEY = DecimalField(max_digits=18, decimal_places=4)


def _unpaid(**conditions) -> Coalesce:
    """The sum of the unpaid remainders of an account's bills (those matching `conditions`)."""
    return Coalesce(
        Sum("bills__remaining_amount", filter=Q(bills__remaining_amount__gt=0, **conditions)),
        Value(Decimal("0")),
        output_field=MONEY,
    )


def _credit_of(model) -> Coalesce:
    """The account's unallocated money on `model` rows (payments, approved credit notes)."""
    return Coalesce(
        Subquery(
            model.objects.filter(billing_account=OuterRef("pk"), unallocated_amount__gt=0)
            .order_by()
            .values("billing_account")
            .annotate(total=Sum("unallocated_amount"))
            .values("total"),
            output_field=MONEY,
        ),
        Value(Decimal("0")),
        output_field=MONEY,
    )


def accounts_with_balance(accounts: QuerySet) -> QuerySet:
    """Annotate `balance`, `overdue` and `credit` on each account (a queryset of crm's billing
    accounts), in the same single query.

    `overdue`: the unpaid remainder of bills whose payment due date has passed.
    `credit`: money paid, or credited by a credit note, that no bill has taken yet (it pays
    the next bills).
    `balance`: what the account owes, the unpaid remainder of its bills less its credit
    (negative when the account is in credit).
    """
    credit = _credit_of(Payment) + _credit_of(CreditNote)
    return accounts.annotate(
        credit=credit,
        balance=ExpressionWrapper(_unpaid() - credit, output_field=MONEY),
        overdue=_unpaid(bills__payment_due_date__lt=clock.now()),
    )


def account_standing(account: Model) -> tuple[Decimal, Decimal]:
    """(balance, overdue) of one account, as `accounts_with_balance` annotates them."""
    row = accounts_with_balance(crm_selectors.billing_account_rows().filter(pk=account.pk)).get()
    return row.balance, row.overdue


def account_balance(account: Model) -> Decimal:
    """What the account owes: its bills' unpaid remainder less its credit."""
    return account_standing(account)[0]


def payment_list() -> QuerySet[Payment]:
    """Payments with their account and customer, and the bills they were allocated to."""
    return (
        Payment.objects.select_related("billing_account__customer")
        .prefetch_related(
            Prefetch("allocations", queryset=PaymentAllocation.objects.select_related("bill"))
        )
        .order_by("id")
    )


def payments_for_customer(customer_id: int) -> QuerySet[Payment]:
    """A customer's payments, newest first, with their account."""
    return (
        Payment.objects.filter(billing_account__customer_id=customer_id)
        .select_related("billing_account")
        .order_by("-payment_date", "-id")
    )


def sla_credits_for_customer(customer_id: int) -> QuerySet:
    """A customer's SLA credits (billing.SlaCredit), oldest period first, with the charge key
    of the bill line that carries each (`billed_bill_no`: the bill's number, None while
    unbilled)."""
    from billing.models import AppliedCharge, SlaCredit

    bill_no = AppliedCharge.objects.filter(charge_key=OuterRef("charge_key")).values(
        "bill__bill_no"
    )[:1]
    return (
        SlaCredit.objects.filter(billing_account__customer_id=customer_id)
        .annotate(billed_bill_no=Subquery(bill_no))
        .order_by("period_start", "product_id")
    )
