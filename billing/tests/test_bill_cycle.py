"""A change of bill cycle day re-anchors the periods after the last billed one; a run that meets
an account it cannot bill records why and carries on."""

from datetime import UTC, date, datetime
from decimal import Decimal
from io import StringIO
from itertools import pairwise

import pytest
import time_machine
from django.core.management import call_command

from billing.models import AppliedCharge, BillRun, CustomerBill, UsageEvent
from billing.services import bill_run_resume, bill_run_start
from billing.tests.factories import active_product, usage_event
from crm.tests.factories import BillingAccountFactory
from telco import clock

pytestmark = pytest.mark.django_db
ACCOUNT = "/tmf-api/accountManagement/v4/billingAccount"


@pytest.fixture(autouse=True)
def billing_clock():
    """After every run these tests make (the last as of January 2027)."""
    with time_machine.travel(datetime(2027, 2, 1, 10, tzinfo=UTC), tick=False) as traveller:
        yield traveller


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


def periods(account) -> list[tuple[datetime, datetime]]:
    return list(
        CustomerBill.objects.filter(billing_account=account)
        .order_by("period_start")
        .values_list("period_start", "period_end")
    )


def lines(account, start: datetime) -> list[tuple[str, Decimal, datetime, datetime]]:
    return list(
        AppliedCharge.objects.filter(bill__billing_account=account, bill__period_start=start)
        .order_by("id")
        .values_list("charge_type", "tax_excluded_amount", "period_start", "period_end")
    )


def test_cycle_change_through_the_api_bills_a_prorated_transition_then_the_new_cycle(agent_api):
    account = BillingAccountFactory(bill_cycle_day=15)
    product = active_product(account=account, start_date=utc(2026, 9, 20))
    # Accounts after it in id order must be billed whatever happens to it.
    later = active_product(start_date=utc(2026, 9, 1))
    bill_run_start(as_of=date(2026, 11, 15))
    assert periods(account) == [
        (utc(2026, 9, 15), utc(2026, 10, 15)),
        (utc(2026, 10, 15), utc(2026, 11, 15)),
    ]
    usage_event(product=product, usage_date=utc(2026, 11, 20), gigabytes="6")

    response = agent_api.patch(f"{ACCOUNT}/{account.pk}", {"billCycleDay": 1}, format="json")
    assert response.status_code == 200, response.data
    run = bill_run_start(as_of=date(2026, 12, 1))

    assert (run.state, run.accounts_done, run.bills_created, run.error) == ("completed", 2, 2, "")
    assert periods(account)[-1] == (utc(2026, 11, 15), utc(2026, 12, 1))
    # 16 days of November (30 days on the new cycle): 30.00 x 16/30 = 16.00; 6 GB - 5 included.
    assert lines(account, utc(2026, 11, 15)) == [
        ("recurring", Decimal("16.00"), utc(2026, 11, 15), utc(2026, 12, 1)),
        ("usage", Decimal("2.00"), utc(2026, 11, 15), utc(2026, 12, 1)),
    ]
    assert CustomerBill.objects.filter(billing_account=later.billing_account).count() == 3
    assert AppliedCharge.objects.filter(product=product, charge_type="oneTime").count() == 1

    bill_run_start(as_of=date(2027, 1, 1))
    assert periods(account)[-1] == (utc(2026, 12, 1), utc(2027, 1, 1))
    assert lines(account, utc(2026, 12, 1)) == [
        ("recurring", Decimal("30.00"), utc(2026, 12, 1), utc(2027, 1, 1))
    ]
    assert UsageEvent.objects.filter(product=product, status="billed").count() == 1
    assert BillRun.objects.filter(state="completed").count() == 3


def change_cycle_day(account, day: int) -> None:
    account.bill_cycle_day = day
    account.save(update_fields=["bill_cycle_day"])


def recurring_after(account, since: datetime) -> list[tuple[datetime, datetime, Decimal]]:
    return list(
        AppliedCharge.objects.filter(
            bill__billing_account=account, charge_type="recurring", bill__period_start__gte=since
        )
        .order_by("bill__period_start")
        .values_list("bill__period_start", "bill__period_end", "tax_excluded_amount")
    )


@pytest.mark.parametrize(
    ("old_day", "new_day", "as_of", "expected"),
    [
        # The transition is prorated against the whole period on the new day it lies in.
        # [15 Nov, 1 Dec) of [1 Nov, 1 Dec): 30.00 x 16/30
        (15, 1, date(2027, 1, 1), [(utc(2026, 11, 15), utc(2026, 12, 1), "16.00"),
                                   (utc(2026, 12, 1), utc(2027, 1, 1), "30.00")]),
        # [1 Nov, 28 Nov) of [28 Oct, 28 Nov): 30.00 x 27/31 = 26.1290
        (1, 28, date(2026, 12, 28), [(utc(2026, 11, 1), utc(2026, 11, 28), "26.13"),
                                     (utc(2026, 11, 28), utc(2026, 12, 28), "30.00")]),
        # [28 Nov, 1 Dec) of [1 Nov, 1 Dec): 30.00 x 3/30
        (28, 1, date(2027, 1, 1), [(utc(2026, 11, 28), utc(2026, 12, 1), "3.00"),
                                   (utc(2026, 12, 1), utc(2027, 1, 1), "30.00")]),
        # One day: [15 Nov, 16 Nov) of [16 Oct, 16 Nov): 30.00 x 1/31 = 0.9677
        (15, 16, date(2026, 12, 16), [(utc(2026, 11, 15), utc(2026, 11, 16), "0.97"),
                                      (utc(2026, 11, 16), utc(2026, 12, 16), "30.00")]),
        # [15 Nov, 14 Dec) of [14 Nov, 14 Dec): 30.00 x 29/30
        (15, 14, date(2026, 12, 31), [(utc(2026, 11, 15), utc(2026, 12, 14), "29.00")]),
    ],
)  # fmt: skip
def test_cycle_change_bills_a_transition_then_whole_periods_without_overlap_or_gap(
    old_day, new_day, as_of, expected
):
    account = BillingAccountFactory(bill_cycle_day=old_day)
    product = active_product(account=account, start_date=utc(2026, 9, old_day))
    bill_run_start(as_of=date(2026, 11, old_day))
    change_cycle_day(account, new_day)

    first = bill_run_start(as_of=as_of)
    second = bill_run_start(as_of=as_of)

    assert (first.state, first.bills_created) == ("completed", len(expected))
    assert (second.state, second.bills_created) == ("completed", 0)
    assert recurring_after(account, utc(2026, 11, old_day)) == [
        (start, end, Decimal(amount)) for start, end, amount in expected
    ]
    billed = periods(account)
    assert billed[0] == (utc(2026, 9, old_day), utc(2026, 10, old_day))
    assert all(end == next_start for (_, end), (next_start, _) in pairwise(billed))
    assert AppliedCharge.objects.filter(product=product, charge_type="oneTime").count() == 1


def test_usage_is_charged_once_in_its_own_period_across_a_cycle_change():
    account = BillingAccountFactory(bill_cycle_day=15)
    product = active_product(account=account, start_date=utc(2026, 9, 15))
    usage_event(product=product, usage_date=utc(2026, 10, 20), gigabytes="4")
    bill_run_start(as_of=date(2026, 11, 15))
    change_cycle_day(account, 1)
    # Reported after its period [15 Oct, 15 Nov) was billed, with 4 GB of its 5 GB used.
    late = usage_event(product=product, usage_date=utc(2026, 11, 12), gigabytes="3")
    transition = usage_event(product=product, usage_date=utc(2026, 11, 30, 23), gigabytes="1")
    following = usage_event(product=product, usage_date=utc(2026, 12, 1), gigabytes="7")

    bill_run_start(as_of=date(2027, 1, 1))

    usage = list(
        AppliedCharge.objects.filter(product=product, charge_type="usage")
        .order_by("id")
        .values_list("bill__period_start", "period_start", "period_end", "tax_excluded_amount")
    )
    assert usage == [
        (utc(2026, 10, 15), utc(2026, 10, 15), utc(2026, 11, 15), Decimal("0.00")),
        (utc(2026, 11, 15), utc(2026, 11, 15), utc(2026, 12, 1), Decimal("0.00")),
        # The late 3 GB on top of the 4 GB billed: 2 GB beyond the allowance x 2.00.
        (utc(2026, 11, 15), utc(2026, 10, 15), utc(2026, 11, 15), Decimal("4.00")),
        (utc(2026, 12, 1), utc(2026, 12, 1), utc(2027, 1, 1), Decimal("4.00")),
    ]
    for event in (late, transition, following):
        event.refresh_from_db()
        assert event.status == "billed"
    assert [event.applied_charge.bill.period_start for event in (late, transition, following)] == [
        utc(2026, 11, 15),
        utc(2026, 11, 15),
        utc(2026, 12, 1),
    ]


RUNS = "/api/v1/billing/billRun"


@pytest.fixture
def three_accounts():
    """Three accounts in id order, each with a product billed for September and October 2026;
    the middle one bills in USD, which its offering's EUR prices cannot be charged in."""
    first = active_product(start_date=utc(2026, 9, 1))
    broken = active_product(
        account=BillingAccountFactory(currency="USD"), start_date=utc(2026, 9, 1)
    )
    last = active_product(start_date=utc(2026, 9, 1))
    return first.billing_account, broken.billing_account, last.billing_account


def test_an_account_that_cannot_be_billed_is_recorded_and_the_run_carries_on(
    three_accounts, finance_api
):
    first, broken, last = three_accounts

    run = bill_run_start(as_of=date(2026, 11, 1))

    assert (run.state, run.accounts_done, run.accounts_failed, run.bills_created) == (
        "completedWithErrors",
        3,
        1,
        4,
    )
    assert run.last_account_id == last.pk
    assert [len(periods(account)) for account in (first, broken, last)] == [2, 0, 2]
    reason = (
        f"DomainError: Price 'Activation fee' is in EUR but account {broken.account_number} "
        "bills in USD."
    )
    assert list(run.failures.values_list("billing_account", "reason", "resolved_at")) == [
        (broken.pk, reason, None)
    ]
    body = finance_api.get(f"{RUNS}/{run.pk}").data
    assert (body["state"], body["accountsDone"], body["accountsFailed"]) == (
        "completedWithErrors",
        3,
        1,
    )
    assert body["failures"] == [
        {
            "billingAccount": broken.pk,
            "accountNumber": broken.account_number,
            "reason": reason,
            "failedAt": "2027-02-01T10:00:00Z",
            "resolvedAt": None,
        }
    ]
    assert finance_api.get(RUNS, {"state": "completedWithErrors"}).data[0]["id"] == run.pk


def test_resuming_a_run_with_errors_retries_its_failed_accounts(three_accounts):
    first, broken, last = three_accounts
    run = bill_run_start(as_of=date(2026, 11, 1))
    # A later run meets the same refusal, and still bills nobody twice.
    again = bill_run_start(as_of=date(2026, 11, 1))
    assert (again.state, again.accounts_failed, again.bills_created) == (
        "completedWithErrors",
        1,
        0,
    )
    broken.currency = "EUR"
    broken.save(update_fields=["currency"])

    resumed = bill_run_resume(bill_run_id=run.pk)

    assert (resumed.state, resumed.accounts_done, resumed.accounts_failed) == ("completed", 3, 0)
    assert resumed.bills_created == 6
    assert [len(periods(account)) for account in (first, broken, last)] == [2, 2, 2]
    failure = run.failures.get()
    assert (failure.billing_account_id, failure.resolved_at) == (broken.pk, clock.now())
    assert sorted(CustomerBill.objects.values_list("bill_no", flat=True)) == [
        f"INV-{n:06d}" for n in range(1, 7)
    ]
    # Completed: resuming again does nothing.
    assert bill_run_resume(bill_run_id=run.pk).bills_created == 6


def test_run_list_shows_failures_in_constant_queries(
    three_accounts, finance_api, django_assert_num_queries
):
    bill_run_start(as_of=date(2026, 11, 1))
    with django_assert_num_queries(5):
        assert len(finance_api.get(RUNS).data) == 1
    bill_run_start(as_of=date(2026, 11, 1))
    bill_run_start(as_of=date(2026, 11, 1))
    with django_assert_num_queries(5):
        listed = finance_api.get(RUNS).data
    assert [len(run["failures"]) for run in listed] == [1, 1, 1]


def test_bill_run_admin_page_shows_the_failures(three_accounts, admin_client):
    run = bill_run_start(as_of=date(2026, 11, 1))

    page = admin_client.get(f"/admin/billing/billrun/{run.pk}/change/")

    assert page.status_code == 200
    assert b"is in EUR but account" in page.content
    assert b"completedWithErrors" in admin_client.get("/admin/billing/billrun/").content


def test_command_names_the_accounts_it_could_not_bill(three_accounts):
    _, broken, _ = three_accounts
    out = StringIO()

    call_command("bill_run", "--as-of", "2026-11-01", stdout=out)

    run = BillRun.objects.get()
    assert f"Bill run {run.pk} completedWithErrors: accounts 3/3, bills created 4" in (
        out.getvalue()
    )
    assert f"Account {broken.account_number} not billed: DomainError: Price" in out.getvalue()
