"""Online charging: sessions reserve quota chunks, update within them, commit and release at
the end; refusals when the balance cannot cover; silent sessions released by the sweep; the
ledger balances to the cent."""

from datetime import timedelta
from decimal import Decimal

import pytest

from billing.models import ChargingSession
from billing.services import charging, prepaid_sweep
from billing.tests.prepaid_helpers import assert_ledger_balances, bucket, prepaid_product
from telco import clock

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True, params=[True, False], ids=["redis", "row"])
def store(request, settings):
    """Every test twice: sessions counting in Redis, and in their row (no Redis)."""
    settings.CHARGING_STORE_ENABLED = request.param
    return request.param


def test_session_reserves_a_chunk_updates_within_it_and_settles_on_terminate(settings):
    settings.CHARGING_QUOTA_CHUNKS = 10
    product = prepaid_product()
    data = bucket(product, "data")

    grant = charging.credit_control_initial(
        session_id="s1", product_id=product.pk, usage_type="data", requested_units="5"
    )
    assert (grant.result_code, grant.granted_units, grant.units) == (2001, Decimal(5), "MB")
    data.refresh_from_db()
    assert (data.remaining, data.reserved) == (Decimal(20480 - 50), Decimal(50))

    for _ in range(9):
        grant = charging.credit_control_update(session_id="s1", used_units="5", requested_units="5")
        assert grant.granted_units == 5
    data.refresh_from_db()
    assert data.reserved == 50  # nine updates inside the chunk: the bucket did not move

    grant = charging.credit_control_update(session_id="s1", used_units="5", requested_units="5")
    assert grant.granted_units == 5
    data.refresh_from_db()
    assert (data.remaining, data.reserved) == (Decimal(20480 - 100), Decimal(100))

    grant = charging.credit_control_terminate(session_id="s1", used_units="3.5")
    assert grant.result_code == 2001
    data.refresh_from_db()
    assert (data.remaining, data.reserved) == (Decimal(20480) - Decimal("53.5"), Decimal(0))
    session = ChargingSession.objects.get(session_id="s1")
    assert (session.state, session.used, session.request_number) == (
        "terminated",
        Decimal("53.5"),
        12,
    )
    totals = assert_ledger_balances(data.pk)
    assert totals["commit"] == Decimal("53.5")
    assert totals["release"] == Decimal("46.5")


def test_used_up_allowance_charges_money_at_the_plan_price_then_refuses():
    product = prepaid_product(data_mb=Decimal(0), initial_credit=Decimal("0.50"))
    money = bucket(product, "monetary")

    grant = charging.credit_control_initial(
        session_id="m1", product_id=product.pk, usage_type="data", requested_units="20"
    )
    # 0.50 EUR at 0.01 EUR/MB holds 50 MB: 20 granted, the chunk is what the money holds.
    assert (grant.result_code, grant.granted_units) == (2001, Decimal(20))
    money.refresh_from_db()
    assert (money.remaining, money.reserved) == (Decimal(0), Decimal("0.50"))
    grant = charging.credit_control_update(session_id="m1", used_units="20", requested_units="20")
    assert grant.granted_units == 20
    grant = charging.credit_control_update(session_id="m1", used_units="20", requested_units="20")
    assert grant.granted_units == 10
    grant = charging.credit_control_update(session_id="m1", used_units="10", requested_units="20")
    assert (grant.result_code, grant.result_name, grant.granted_units) == (
        4012,
        "DIAMETER_CREDIT_LIMIT_REACHED",
        Decimal(0),
    )
    charging.credit_control_terminate(session_id="m1", used_units="0")
    money.refresh_from_db()
    assert (money.remaining, money.reserved) == (Decimal(0), Decimal(0))
    assert assert_ledger_balances(money.pk)["commit"] == Decimal("0.50")

    refused = charging.credit_control_initial(
        session_id="m2", product_id=product.pk, usage_type="data", requested_units="1"
    )
    assert (refused.result_code, refused.granted_units) == (4012, Decimal(0))
    assert not ChargingSession.objects.filter(session_id="m2").exists()


def test_silent_sessions_are_released_by_the_sweep(settings):
    settings.CHARGING_SESSION_TIMEOUT_SECONDS = 300
    product = prepaid_product()
    voice = bucket(product, "voice")
    charging.credit_control_initial(
        session_id="v1", product_id=product.pk, usage_type="voice", requested_units="2"
    )
    charging.credit_control_update(session_id="v1", used_units="2", requested_units="2")
    charging.credit_control_initial(
        session_id="v2", product_id=product.pk, usage_type="voice", requested_units="2"
    )

    assert prepaid_sweep(now=clock.now() + timedelta(seconds=200))["released"] == 0
    assert prepaid_sweep(now=clock.now() + timedelta(seconds=400))["released"] == 2
    voice.refresh_from_db()
    assert (voice.remaining, voice.reserved) == (Decimal(198), Decimal(0))
    assert set(ChargingSession.objects.values_list("state", flat=True)) == {"timedOut"}
    assert_ledger_balances(voice.pk)
    with pytest.raises(charging.NotFound):
        charging.credit_control_update(session_id="v1", used_units="1")


def test_a_session_id_is_used_once_and_bad_units_are_refused():
    product = prepaid_product()
    charging.credit_control_initial(
        session_id="d1", product_id=product.pk, usage_type="sms", requested_units="1"
    )
    with pytest.raises(charging.Conflict):
        charging.credit_control_initial(
            session_id="d1", product_id=product.pk, usage_type="sms", requested_units="1"
        )
    with pytest.raises(charging.DomainError) as error:
        charging.credit_control_update(session_id="d1", used_units="-1")
    assert error.value.field == "usedUnits"
    sms = bucket(product, "sms")
    assert (sms.remaining, sms.reserved) == (Decimal(90), Decimal(10))
