"""TMF654 transferBalance, reserveBalance and accumulatedBalance through the API: finance moves
and holds balances between one customer's subscriptions, agents read them, every refusal names
its field and changes nothing, and the ledger adds up to every bucket."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from billing.models import BalanceAction, PrepaidBucket, ReserveBalance, TransferBalance
from billing.services import charging, prepaid_provision, prepaid_sweep
from billing.services.balance_operations import balance_reserve, balance_transfer
from billing.tests.factories import active_product
from billing.tests.prepaid_helpers import (
    assert_ledger_balances,
    bucket,
    prepaid_plan,
    prepaid_product,
)
from telco import clock

pytestmark = pytest.mark.django_db

BASE = "/tmf-api/prepayBalanceManagement/v4"
TRANSFERS = f"{BASE}/transferBalance"
RESERVATIONS = f"{BASE}/reserveBalance"
ACCUMULATED = f"{BASE}/accumulatedBalance"


def second_product(product):
    """Another subscription of the same plan on the same account (so the same customer)."""
    other = active_product(
        account=product.billing_account, start_date=clock.now(), offering=product.product_offering
    )
    prepaid_provision(product=other)
    return other


def transfer_body(giver, receiver, amount, **extra) -> dict:
    return {
        "bucket": {"id": str(giver.pk)},
        "receiverBucket": {"id": str(receiver.pk)},
        "usageType": giver.usage_type,
        "receiverBucketUsageType": receiver.usage_type,
        "amount": {"amount": amount, "units": giver.units},
        "reason": "Share with the family tablet",
        **extra,
    }


def reserve_body(target, amount, **extra) -> dict:
    return {
        "bucket": {"id": str(target.pk)},
        "partyAccount": {"id": str(target.billing_account_id)},
        "usageType": target.usage_type,
        "amount": {"amount": amount, "units": target.units},
        "reason": "Video pass purchase",
        **extra,
    }


def remaining(*buckets) -> list[tuple[Decimal, Decimal]]:
    return [
        tuple(PrepaidBucket.objects.values_list("remaining", "reserved").get(pk=b.pk))
        for b in buckets
    ]


def assert_refused(response, field: str, status: int = 400):
    assert response.status_code == status, response.data
    assert response.data["@type"] == "Error"
    assert list(response.data["errors"]) == [field], response.data


# --- transferBalance ---------------------------------------------------------------------


def test_finance_transfers_data_between_two_subscriptions_and_both_ledgers_show_it(
    finance_api, agent_api
):
    phone = prepaid_product()
    tablet = second_product(phone)
    giver, receiver = bucket(phone, "data"), bucket(tablet, "data")
    body = transfer_body(giver, receiver, 1024)

    assert agent_api.post(TRANSFERS, body, format="json").status_code == 403
    response = finance_api.post(TRANSFERS, body, format="json")

    assert response.status_code == 201, response.data
    assert response["Location"] == response.data["href"]
    transfer = TransferBalance.objects.get()
    assert response.data["id"] == str(transfer.pk)
    assert response.data["@type"] == "TransferBalance"
    assert response.data["status"] == "completed"
    assert response.data["amount"] == {"amount": 1024.0, "units": "MB"}
    assert response.data["bucket"]["id"] == str(giver.pk)
    assert response.data["receiverBucket"]["id"] == str(receiver.pk)
    assert response.data["receiverProduct"]["id"] == str(tablet.pk)
    assert response.data["receiver"]["id"] == str(phone.customer_id)
    assert response.data["partyAccount"]["id"] == str(phone.billing_account_id)
    assert response.data["requestor"]["role"] == "operator"
    assert response.data["logicalResource"] == []
    assert remaining(giver, receiver) == [
        (Decimal(20480 - 1024), Decimal(0)),
        (Decimal(20480 + 1024), Decimal(0)),
    ]
    assert assert_ledger_balances(giver.pk)["transferOut"] == Decimal(1024)
    assert assert_ledger_balances(receiver.pk)["transferIn"] == Decimal(1024)

    assert agent_api.get(response.data["href"]).data == response.data
    listed = agent_api.get(TRANSFERS, {"receiverBucket.id": receiver.pk})
    assert [row["id"] for row in listed.data] == [str(transfer.pk)]
    history = agent_api.get(f"{BASE}/balanceActionHistory", {"bucket.id": giver.pk}).data
    assert (history[0]["reason"], history[0]["amount"]["amount"]) == ("transferOut", 1024.0)
    assert history[0]["description"] == f"transferOut: transfer {transfer.pk}"
    history = agent_api.get(f"{BASE}/balanceActionHistory", {"bucket.id": receiver.pk}).data
    assert (history[0]["reason"], history[0]["amount"]["amount"]) == ("transferIn", 1024.0)


def test_money_moves_by_product_references_to_the_cent(finance_api):
    phone = prepaid_product()
    tablet = second_product(phone)
    body = {
        "product": [{"id": str(phone.pk)}],
        "receiverProduct": {"id": str(tablet.pk)},
        "usageType": "monetary",
        "amount": {"amount": 2.55, "units": "EUR"},
        "partyAccount": {"id": str(phone.billing_account_id)},
    }

    response = finance_api.post(TRANSFERS, body, format="json")

    assert response.status_code == 201, response.data
    giver, receiver = bucket(phone, "monetary"), bucket(tablet, "monetary")
    assert remaining(giver, receiver) == [
        (Decimal("7.45"), Decimal(0)),
        (Decimal("12.55"), Decimal(0)),
    ]
    assert_ledger_balances(giver.pk)
    assert_ledger_balances(receiver.pk)


def _expire(target):
    PrepaidBucket.objects.filter(pk=target.pk).update(valid_to=clock.now() - timedelta(seconds=1))


@pytest.mark.parametrize(
    ("case", "field"),
    [
        ("more than held", "amount.amount"),
        ("zero", "amount.amount"),
        ("negative", "amount.amount"),
        ("three decimals of money", "amount.amount"),
        ("other units", "amount.units"),
        ("same bucket", "receiverBucket.id"),
        ("unit to another unit", "receiverBucket.id"),
        ("money in two currencies", "receiverBucket.id"),
        ("another customer's bucket", "receiverBucket.id"),
        ("expired giver", "bucket.id"),
        ("expired receiver", "receiverBucket.id"),
        ("expired by the sweep", "bucket.id"),
        ("unknown bucket", "bucket.id"),
        ("malformed bucket", "bucket.id"),
        ("no receiver", "receiverBucket.id"),
        ("wrong usage type", "usageType"),
        ("wrong receiver usage type", "receiverBucketUsageType"),
        ("another account", "partyAccount.id"),
        ("reserved part", "amount.amount"),
    ],
)
def test_a_refused_transfer_names_the_field_and_writes_nothing(finance_api, case, field):
    phone = prepaid_product()
    tablet = second_product(phone)
    money, data = bucket(phone, "monetary"), bucket(phone, "data")
    receiver = bucket(tablet, "data")
    body = transfer_body(data, receiver, 100)
    if case == "more than held":
        body = transfer_body(data, receiver, 20480.0001)
    elif case == "zero":
        body = transfer_body(data, receiver, 0)
    elif case == "negative":
        body = transfer_body(data, receiver, -5)
    elif case == "three decimals of money":
        body = transfer_body(money, bucket(tablet, "monetary"), 1.001)
    elif case == "other units":
        body["amount"]["units"] = "GB"
    elif case == "same bucket":
        body = transfer_body(data, data, 100)
    elif case == "unit to another unit":
        body = transfer_body(data, bucket(tablet, "voice"), 100)
    elif case == "money in two currencies":
        dollars = prepaid_product(plan=prepaid_plan(currency="USD"))
        dollars.billing_account = phone.billing_account
        PrepaidBucket.objects.filter(product=dollars).update(billing_account=phone.billing_account)
        type(dollars).objects.filter(pk=dollars.pk).update(customer=phone.customer)
        body = transfer_body(money, bucket(dollars, "monetary"), 1)
    elif case == "another customer's bucket":
        body = transfer_body(data, bucket(prepaid_product(), "data"), 100)
    elif case == "expired giver":
        _expire(data)
    elif case == "expired receiver":
        _expire(receiver)
    elif case == "expired by the sweep":
        _expire(data)
        prepaid_sweep()
    elif case == "unknown bucket":
        body["bucket"]["id"] = "987654321"
    elif case == "malformed bucket":
        body["bucket"]["id"] = "x"
    elif case == "no receiver":
        del body["receiverBucket"]
    elif case == "wrong usage type":
        body["usageType"] = "voice"
    elif case == "wrong receiver usage type":
        body["receiverBucketUsageType"] = "sms"
    elif case == "another account":
        body["partyAccount"] = {"id": str(prepaid_product().billing_account_id)}
    elif case == "reserved part":
        balance_reserve(bucket_id=data.pk, usage_type="data", amount=Decimal(20400))
    before = {b.pk: (b.remaining, b.reserved) for b in PrepaidBucket.objects.all()}
    ledger = BalanceAction.objects.count()

    response = finance_api.post(TRANSFERS, body, format="json")

    assert_refused(response, field)
    assert not TransferBalance.objects.exists()
    assert BalanceAction.objects.count() == ledger
    assert {b.pk: (b.remaining, b.reserved) for b in PrepaidBucket.objects.all()} == before


def test_a_transfer_is_done_once_made_only_its_description_changes(finance_api, agent_api):
    phone = prepaid_product()
    giver, receiver = bucket(phone, "sms"), bucket(second_product(phone), "sms")
    created = finance_api.post(TRANSFERS, transfer_body(giver, receiver, 10), format="json")
    href = created.data["href"]

    assert agent_api.patch(href, {"description": "x"}, format="json").status_code == 403
    patched = finance_api.patch(href, {"description": "Asked by phone"}, format="json")
    assert patched.status_code == 200, patched.data
    assert patched.data["description"] == "Asked by phone"
    assert patched.data["amount"] == {"amount": 10.0, "units": "sms"}
    assert_refused(finance_api.patch(href, {"amount": {"amount": 1}}, format="json"), "amount")
    assert_refused(finance_api.patch(href, {"status": "cancelled"}, format="json"), "status")
    assert finance_api.delete(href).status_code == 405
    assert remaining(giver, receiver) == [(Decimal(90), 0), (Decimal(110), 0)]


def test_an_idempotency_key_makes_one_transfer(finance_api):
    phone = prepaid_product()
    giver, receiver = bucket(phone, "data"), bucket(second_product(phone), "data")
    body = transfer_body(giver, receiver, 100)

    first = finance_api.post(TRANSFERS, body, format="json", HTTP_IDEMPOTENCY_KEY="tr-1")
    again = finance_api.post(TRANSFERS, body, format="json", HTTP_IDEMPOTENCY_KEY="tr-1")

    assert (first.status_code, again.status_code) == (201, 201)
    assert again.data["id"] == first.data["id"]
    assert TransferBalance.objects.count() == 1
    assert remaining(giver) == [(Decimal(20380), Decimal(0))]


# --- reserveBalance ----------------------------------------------------------------------


def test_a_reservation_holds_balance_that_charging_cannot_take_until_released(
    finance_api, agent_api
):
    product = prepaid_product(data_mb=Decimal(100), initial_credit=Decimal(0))
    data = bucket(product, "data")

    assert agent_api.post(RESERVATIONS, reserve_body(data, 80), format="json").status_code == 403
    response = finance_api.post(RESERVATIONS, reserve_body(data, 80), format="json")

    assert response.status_code == 201, response.data
    assert response["Location"] == response.data["href"]
    assert response.data["status"] == "created"
    assert response.data["@type"] == "ReserveBalance"
    assert response.data["amount"] == {"amount": 80.0, "units": "MB"}
    # Without a validity of its own it holds as long as the bucket is valid.
    assert response.data["validFor"]["endDateTime"] == data.valid_to.isoformat()
    assert remaining(data) == [(Decimal(20), Decimal(80))]
    bucket_body = agent_api.get(f"{BASE}/bucket/{data.pk}").data
    assert bucket_body["reservedValue"] == {"amount": 80.0, "units": "MB"}

    # A session may take only what is not reserved.
    grant = charging.credit_control_initial(
        session_id="gy-r", product_id=product.pk, usage_type="data", requested_units=50
    )
    assert grant.granted_units == Decimal(20)
    charging.credit_control_terminate(session_id="gy-r", used_units=20)
    assert remaining(data) == [(Decimal(0), Decimal(80))]

    cancelled = finance_api.patch(
        response.data["href"],
        {"status": "cancelled", "reason": "Purchase abandoned"},
        format="json",
    )
    assert cancelled.status_code == 200, cancelled.data
    assert cancelled.data["status"] == "cancelled"
    assert cancelled.data["reason"] == "Purchase abandoned"
    assert cancelled.data["statusChangeReason"] == "Purchase abandoned"
    assert cancelled.data["statusChangeDate"] is not None
    assert remaining(data) == [(Decimal(80), Decimal(0))]
    totals = assert_ledger_balances(data.pk)
    assert (totals["reserve"], totals["release"], totals["commit"]) == (100, 80, 20)
    history = agent_api.get(f"{BASE}/balanceActionHistory", {"bucket.id": data.pk}).data
    assert history[0]["description"] == f"release: reservation {response.data['id']}"

    # Once: the same status again changes nothing; another move is a 409.
    again = finance_api.patch(response.data["href"], {"status": "cancelled"}, format="json")
    assert again.status_code == 200
    used = finance_api.patch(response.data["href"], {"status": "completed"}, format="json")
    assert used.status_code == 409, used.data
    assert remaining(data) == [(Decimal(80), Decimal(0))]
    assert BalanceAction.objects.filter(bucket=data).count() == 5


def test_a_used_reservation_is_consumed_from_the_bucket(finance_api):
    product = prepaid_product()
    money = bucket(product, "monetary")
    created = finance_api.post(RESERVATIONS, reserve_body(money, 4.99), format="json")
    assert created.status_code == 201, created.data

    used = finance_api.patch(created.data["href"], {"status": "completed"}, format="json")

    assert used.status_code == 200, used.data
    assert used.data["status"] == "completed"
    assert remaining(money) == [(Decimal("5.01"), Decimal(0))]
    totals = assert_ledger_balances(money.pk)
    assert (totals["reserve"], totals["commit"]) == (Decimal("4.99"), Decimal("4.99"))
    assert finance_api.delete(created.data["href"]).status_code == 405
    cancel = finance_api.patch(created.data["href"], {"status": "cancelled"}, format="json")
    assert cancel.status_code == 409


def test_a_reservation_is_released_when_its_validity_ends(finance_api, agent_api):
    product = prepaid_product()
    voice = bucket(product, "voice")
    end = clock.now() + timedelta(hours=1)
    body = reserve_body(voice, 30, validFor={"endDateTime": end.isoformat()})
    created = finance_api.post(RESERVATIONS, body, format="json")
    assert created.status_code == 201, created.data
    assert created.data["validFor"]["endDateTime"] == end.isoformat()

    assert prepaid_sweep(now=end - timedelta(seconds=1))["reservationsReleased"] == 0
    assert prepaid_sweep(now=end)["reservationsReleased"] == 1
    assert prepaid_sweep(now=end)["reservationsReleased"] == 0  # once

    body = agent_api.get(created.data["href"]).data
    assert (body["status"], body["statusChangeReason"]) == ("cancelled", "Validity ended")
    assert remaining(voice) == [(Decimal(200), Decimal(0))]
    assert_ledger_balances(voice.pk)


def test_a_reservation_outliving_its_bucket_is_forfeited_with_it(finance_api):
    product = prepaid_product()
    sms = bucket(product, "sms")
    later = sms.valid_to + timedelta(days=2)
    body = reserve_body(sms, 40, validFor={"endDateTime": later.isoformat()})
    assert finance_api.post(RESERVATIONS, body, format="json").status_code == 201

    assert prepaid_sweep(now=sms.valid_to)["expired"] == 3  # the plan's allowances
    assert remaining(sms) == [(Decimal(0), Decimal(40))]
    assert prepaid_sweep(now=later)["reservationsReleased"] == 1

    assert remaining(sms) == [(Decimal(0), Decimal(0))]
    totals = assert_ledger_balances(sms.pk)
    assert (totals["release"], totals["expire"]) == (Decimal(40), Decimal(100))


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"amount": {"amount": 20481, "units": "MB"}}, "amount.amount"),
        ({"amount": {"amount": 0, "units": "MB"}}, "amount.amount"),
        ({"amount": {"amount": 1, "units": "EUR"}}, "amount.units"),
        ({"usageType": "sms"}, "usageType"),
        ({"bucket": {"id": "987654321"}}, "bucket.id"),
        ({"bucket": {"id": "²"}}, "bucket.id"),
        ({"partyAccount": {"id": "987654321"}}, "partyAccount.id"),
        ({"validFor": {"endDateTime": "2020-01-01T00:00:00Z"}}, "validFor.endDateTime"),
        ({"validFor": {"endDateTime": "soon"}}, "validFor.endDateTime"),
        ({"expired": True}, "bucket.id"),
    ],
)
def test_a_refused_reservation_names_the_field_and_writes_nothing(finance_api, change, field):
    product = prepaid_product()
    data = bucket(product, "data")
    if change.pop("expired", False):
        _expire(data)
    ledger = BalanceAction.objects.count()

    response = finance_api.post(RESERVATIONS, {**reserve_body(data, 10), **change}, format="json")

    assert_refused(response, field)
    assert not ReserveBalance.objects.exists()
    assert BalanceAction.objects.count() == ledger
    assert remaining(data) == [(Decimal(20480), Decimal(0))]


def test_a_reservation_patch_refuses_what_cannot_change(finance_api):
    product = prepaid_product()
    data = bucket(product, "data")
    href = finance_api.post(RESERVATIONS, reserve_body(data, 10), format="json").data["href"]

    assert_refused(finance_api.patch(href, {"amount": {"amount": 5}}, format="json"), "amount")
    assert_refused(finance_api.patch(href, {"status": "failed"}, format="json"), "status")
    assert finance_api.patch(f"{RESERVATIONS}/987654321", {"status": "cancelled"}).status_code == (
        404
    )
    assert remaining(data) == [(Decimal(20470), Decimal(10))]


# --- accumulatedBalance ------------------------------------------------------------------


def test_an_accounts_balances_are_summed_per_unit_with_their_buckets(agent_api, noc_api):
    phone = prepaid_product()
    tablet = second_product(phone)
    prepaid_product()  # someone else's
    balance_reserve(bucket_id=bucket(tablet, "data").pk, usage_type="data", amount=Decimal(480))
    _expire(bucket(tablet, "voice"))
    prepaid_sweep()
    account = phone.billing_account_id

    response = agent_api.get(ACCUMULATED, {"partyAccount.id": account})

    assert response.status_code == 200
    assert response["X-Total-Count"] == "4"
    by_type = {row["usageType"]: row for row in response.data}
    data = by_type["data"]
    assert data["id"] == f"{account}-MB"
    assert data["@type"] == "AccumulatedBalance"
    assert data["totalBalance"] == {"amount": 20480.0 * 2 - 480, "units": "MB"}
    assert data["reservedBalance"] == {"amount": 480.0, "units": "MB"}
    assert sorted(ref["id"] for ref in data["bucket"]) == sorted(
        [str(bucket(phone, "data").pk), str(bucket(tablet, "data").pk)]
    )
    assert sorted(ref["id"] for ref in data["product"]) == sorted([str(phone.pk), str(tablet.pk)])
    assert data["partyAccount"]["id"] == str(account)
    assert data["relatedParty"][0]["id"] == str(phone.customer_id)
    # The expired voice bucket counts for nothing and is not listed.
    assert by_type["voice"]["totalBalance"] == {"amount": 200.0, "units": "min"}
    assert [ref["id"] for ref in by_type["voice"]["bucket"]] == [str(bucket(phone, "voice").pk)]
    assert by_type["monetary"]["totalBalance"] == {"amount": 20.0, "units": "EUR"}

    detail = noc_api.get(data["href"])
    assert detail.status_code == 200
    assert detail.data == data
    assert agent_api.get(f"{ACCUMULATED}/{account}-GB").status_code == 404
    assert [row["id"] for row in agent_api.get(ACCUMULATED, {"id": data["id"]}).data] == [
        data["id"]
    ]
    only_sms = agent_api.get(
        ACCUMULATED, {"relatedParty.id": phone.customer_id, "usageType": "sms"}
    )
    assert [row["totalBalance"]["amount"] for row in only_sms.data] == [200.0]
    assert agent_api.post(ACCUMULATED, {}, format="json").status_code == 405


def test_the_lists_cost_the_same_queries_whatever_the_rows(agent_api):
    def counts() -> list[int]:
        found = []
        for path in (TRANSFERS, RESERVATIONS, ACCUMULATED, f"{BASE}/balanceActionHistory"):
            with CaptureQueriesContext(connection) as captured:
                assert agent_api.get(path).status_code == 200
            found.append(len(captured))
        return found

    def activity():
        phone = prepaid_product()
        tablet = second_product(phone)
        balance_transfer(
            bucket_id=bucket(phone, "data").pk,
            receiver_bucket_id=bucket(tablet, "data").pk,
            usage_type="data",
            amount=Decimal(1),
        )
        balance_reserve(bucket_id=bucket(tablet, "sms").pk, usage_type="sms", amount=Decimal(1))

    activity()
    before = counts()
    for _ in range(3):
        activity()
    assert counts() == before


def test_transfers_and_reservations_are_read_only_in_the_admin(admin_client):
    phone = prepaid_product()
    tablet = second_product(phone)
    transfer = balance_transfer(
        bucket_id=bucket(phone, "sms").pk,
        receiver_bucket_id=bucket(tablet, "sms").pk,
        usage_type="sms",
        amount=Decimal(3),
    )
    reservation = balance_reserve(
        bucket_id=bucket(phone, "voice").pk, usage_type="voice", amount=Decimal(2)
    )

    for model, row in (("transferbalance", transfer), ("reservebalance", reservation)):
        assert admin_client.get(f"/admin/billing/{model}/").status_code == 200, model
        page = admin_client.get(f"/admin/billing/{model}/{row.pk}/change/")
        assert page.status_code == 200, model
        assert b'name="_save"' not in page.content
