"""Payments: allocation to bills oldest first, settlement, credit, idempotency, refusals."""

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from billing.models import CustomerBill, CustomerBillStateChange, Payment, PaymentAllocation
from billing.selectors import account_standing, payments_for_customer
from billing.services import bill_run_start, payment_create
from billing.tests.factories import active_product
from crm.tests.factories import BillingAccountFactory
from telco.exceptions import Conflict, DomainError

pytestmark = pytest.mark.django_db


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


@pytest.fixture
def account():
    """September: 49.00 + 30.00 + 20% = 94.80; October: 30.00 + 20% = 36.00."""
    product = active_product(start_date=utc(2026, 9, 1))
    bill_run_start(as_of=date(2026, 11, 1))
    return product.billing_account


def pay(account, amount, **kwargs):
    kwargs.setdefault("currency", "EUR")
    kwargs.setdefault("method", "bankTransfer")
    return payment_create(billing_account_id=account.pk, amount=Decimal(amount), **kwargs)


def bills(account):
    return [
        (bill.state, bill.remaining_amount)
        for bill in CustomerBill.objects.filter(billing_account=account).order_by("period_start")
    ]


def test_payment_settles_the_oldest_bill_first_and_part_pays_the_next(account):
    payment, created = pay(account, "100.00", reference="BANK-1", created_by="fin.ops")

    assert created
    assert bills(account) == [("settled", Decimal("0")), ("partiallyPaid", Decimal("30.80"))]
    assert list(payment.allocations.order_by("id").values_list("bill__period_start", "amount")) == [
        (utc(2026, 9, 1), Decimal("94.80")),
        (utc(2026, 10, 1), Decimal("5.20")),
    ]
    payment.refresh_from_db()
    assert (payment.state, payment.unallocated_amount) == ("allocated", Decimal("0"))
    assert account_standing(account) == (Decimal("30.80"), Decimal("0"))
    reason = f"Payment {payment.pk} of 100 EUR"
    assert list(
        CustomerBillStateChange.objects.order_by("bill__period_start").values_list(
            "from_state", "to_state", "changed_by", "reason"
        )
    ) == [("new", "settled", "fin.ops", reason), ("new", "partiallyPaid", "fin.ops", reason)]

    # The rest pays October exactly: settled, nothing left over.
    second, _ = pay(account, "30.80")
    assert bills(account) == [("settled", Decimal("0")), ("settled", Decimal("0"))]
    assert second.allocations.get().amount == Decimal("30.80")
    assert account_standing(account) == (Decimal("0"), Decimal("0"))


def test_overpayment_is_credit_that_pays_the_next_bill():
    account = BillingAccountFactory(bill_cycle_day=15)
    active_product(account=account, start_date=utc(2026, 9, 15))
    bill_run_start(as_of=date(2026, 10, 15))  # Sep 15 - Oct 15: 94.80

    payment, _ = pay(account, "100.00")

    payment.refresh_from_db()
    assert (payment.state, payment.unallocated_amount) == ("received", Decimal("5.20"))
    assert bills(account) == [("settled", Decimal("0"))]
    assert account_standing(account) == (Decimal("-5.20"), Decimal("0"))

    bill_run_start(as_of=date(2026, 11, 15))  # Oct 15 - Nov 15: 36.00, 5.20 paid by credit

    assert bills(account) == [("settled", Decimal("0")), ("partiallyPaid", Decimal("30.80"))]
    payment.refresh_from_db()
    assert (payment.state, payment.unallocated_amount) == ("allocated", Decimal("0"))
    assert payment.allocations.count() == 2
    assert account_standing(account) == (Decimal("30.80"), Decimal("0"))


def test_overdue_counts_what_is_left_after_payments(account):
    CustomerBill.objects.filter(billing_account=account).update(
        payment_due_date=timezone.now() - timedelta(days=1)
    )
    assert account_standing(account) == (Decimal("130.80"), Decimal("130.80"))

    pay(account, "100.00")

    assert account_standing(account) == (Decimal("30.80"), Decimal("30.80"))


def test_a_bill_on_hold_is_not_paid(account):
    CustomerBill.objects.filter(period_start=utc(2026, 9, 1)).update(state="onHold")

    payment, _ = pay(account, "40.00")

    assert bills(account) == [("onHold", Decimal("94.80")), ("settled", Decimal("0"))]
    payment.refresh_from_db()
    assert payment.unallocated_amount == Decimal("4.00")


def test_the_same_reference_again_returns_the_stored_payment(account):
    first, created = pay(account, "50.00", reference="BANK-7")
    again, created_again = pay(account, "50.00", reference="BANK-7")

    assert (created, created_again, again.pk) == (True, False, first.pk)
    assert Payment.objects.count() == 1
    assert bills(account)[0] == ("partiallyPaid", Decimal("44.80"))
    with pytest.raises(Conflict) as refused:
        pay(account, "60.00", reference="BANK-7")
    assert refused.value.field == "correlatorId"
    # Another account may use the same reference.
    other = BillingAccountFactory()
    assert pay(other, "60.00", reference="BANK-7")[1] is True


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"amount": "0"}, "totalAmount.value"),
        ({"amount": "-5"}, "totalAmount.value"),
        ({"amount": "1.005"}, "totalAmount.value"),
        ({"currency": "USD"}, "totalAmount.unit"),
        ({"method": "bitcoin"}, "paymentMethod"),
    ],
)
def test_bad_payment_is_refused_naming_the_field_and_nothing_is_written(account, kwargs, field):
    kwargs = {"amount": "10.00", **kwargs}
    with pytest.raises(DomainError) as refused:
        pay(account, kwargs.pop("amount"), **kwargs)

    assert refused.value.field == field
    assert (Payment.objects.count(), PaymentAllocation.objects.count()) == (0, 0)
    assert bills(account) == [("new", Decimal("94.80")), ("new", Decimal("36.00"))]


def test_unknown_account_is_refused():
    with pytest.raises(DomainError) as refused:
        payment_create(billing_account_id=999999, amount=Decimal(1), currency="EUR", method="cash")
    assert refused.value.field == "account.id"


def test_payments_for_customer_newest_first_in_one_query(account, django_assert_num_queries):
    older, _ = pay(account, "10.00", payment_date=utc(2026, 11, 2))
    newer, _ = pay(account, "20.00", payment_date=utc(2026, 11, 20))
    pay(BillingAccountFactory(), "5.00")

    with django_assert_num_queries(1):
        rows = [
            (p.pk, p.billing_account.account_number)
            for p in payments_for_customer(account.customer_id)
        ]

    assert rows == [(newer.pk, account.account_number), (older.pk, account.account_number)]
