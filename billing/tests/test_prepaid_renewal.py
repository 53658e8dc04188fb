"""Prepaid plans renew: at the end of each validity period the plan's fee comes off the money
and the allowances are granted again; without the money they expire, and renew at the first
sweep after a top-up covers the fee."""

from datetime import timedelta
from decimal import Decimal

import pytest

from billing.models import BalanceAction
from billing.services import prepaid_sweep, topup_balance_create, voucher_create
from billing.services.prepaid import balance_adjust
from billing.tests.prepaid_helpers import assert_ledger_balances, bucket, prepaid_product
from telco import clock

pytestmark = pytest.mark.django_db


def _after_validity(product):
    return bucket(product, "data").valid_to + timedelta(minutes=1)


def test_the_fee_comes_off_the_money_and_the_allowances_start_again(settings):
    product = prepaid_product(renewal_price=Decimal("10.00"))  # 10.00 opening credit
    data = bucket(product, "data")
    balance_adjust(bucket_id=data.pk, amount=Decimal(-20000), reason="Used")  # 480 MB left
    later = _after_validity(product)

    assert prepaid_sweep(now=later)["renewed"] == 1

    data.refresh_from_db()
    money = bucket(product, "monetary")
    assert money.remaining == 0
    assert (data.status, data.remaining) == ("active", Decimal(20480))
    assert (data.valid_from, data.valid_to) == (later, later + timedelta(days=30))
    assert bucket(product, "sms").remaining == 100
    # The 480 MB left were forfeited, on the ledger like every other movement.
    assert BalanceAction.objects.filter(bucket=data, kind="expire").get().amount == 480
    assert BalanceAction.objects.filter(bucket=money, kind="renew").get().amount == 10
    for each in product.prepaid_buckets.all():
        assert_ledger_balances(each.pk)
    # Swept again at the same instant: nothing is due, nothing is taken twice.
    assert prepaid_sweep(now=later)["renewed"] == 0
    assert BalanceAction.objects.filter(kind="renew").count() == 1


def test_without_the_money_the_allowances_expire_then_renew_after_a_top_up():
    product = prepaid_product(renewal_price=Decimal("15.00"))  # 10.00 cannot pay 15.00
    later = _after_validity(product)

    swept = prepaid_sweep(now=later)
    assert (swept["renewed"], swept["expired"]) == (0, 3)  # data, voice and SMS
    data = bucket(product, "data")
    assert (data.status, data.remaining) == ("expired", 0)
    assert bucket(product, "monetary").remaining == Decimal("10.00")

    voucher = voucher_create(amount=Decimal("10.00"))
    topup_balance_create(bucket_id=bucket(product, "monetary").pk, voucher=voucher.code)
    assert prepaid_sweep(now=clock.now())["renewed"] == 1
    data.refresh_from_db()
    assert (data.status, data.remaining) == ("active", Decimal(20480))
    assert bucket(product, "monetary").remaining == Decimal("5.00")
    for each in product.prepaid_buckets.all():
        assert_ledger_balances(each.pk)


def test_plans_without_a_fee_and_ended_products_do_not_renew():
    no_fee = prepaid_product()
    ended = prepaid_product(renewal_price=Decimal("1.00"))
    type(ended).objects.filter(pk=ended.pk).update(status="terminated")
    later = max(_after_validity(no_fee), _after_validity(ended))

    assert prepaid_sweep(now=later)["renewed"] == 0
    assert bucket(no_fee, "data").status == "expired"
    assert bucket(ended, "monetary").remaining == Decimal("10.00")
