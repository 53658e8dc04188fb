"""Zero overspend with transfers and reservations: parallel clients (threads, each with its own
PostgreSQL connection) transfer out of, reserve on and open charging sessions against one
bucket at once; together they take exactly what it held, never more. Transfers both ways
between two buckets never deadlock (both are locked in id order) and lose nothing. The minute
sweep, on a real worker, releases reservations whose validity ended."""

import threading
import time
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection

from billing.models import ReserveBalance, TransferBalance
from billing.prepaid_tasks import sweep_prepaid
from billing.services import charging, prepaid_provision
from billing.services.balance_operations import balance_reserve, balance_transfer
from billing.tests.factories import active_product
from billing.tests.prepaid_helpers import assert_ledger_balances, bucket, prepaid_product
from telco import clock
from telco.exceptions import DomainError
from telco.testing import wait_for

CLIENTS = 25
HELD = Decimal(700)


def _family(count: int):
    """`count` subscriptions of one customer, each holding HELD MB and nothing else."""
    first = prepaid_product(data_mb=HELD, voice_minutes=0, sms=0, initial_credit=Decimal(0))
    products = [first]
    for _ in range(count - 1):
        other = active_product(
            account=first.billing_account, start_date=clock.now(), offering=first.product_offering
        )
        prepaid_provision(product=other)
        products.append(other)
    return products


def _run(clients: int, work) -> list[BaseException]:
    barrier = threading.Barrier(clients)
    errors: list[BaseException] = []

    def client(number: int) -> None:
        try:
            barrier.wait()
            work(number)
        except BaseException as exc:  # reported by the test thread
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return errors


@pytest.mark.django_db(transaction=True)
def test_parallel_transfers_reservations_and_sessions_never_take_more_than_the_bucket_held(
    settings,
):
    # A session reserves just what it asks for and uses it all: nothing flows back to the
    # bucket once a client has found it empty, so "drained" is final.
    settings.CHARGING_QUOTA_CHUNKS = 1
    phone, tablet = _family(2)
    giver, receiver = bucket(phone, "data"), bucket(tablet, "data")
    taken = {"transfer": [], "reserve": [], "session": []}

    def transfer(number: int, step: int) -> bool:
        balance_transfer(
            bucket_id=giver.pk, receiver_bucket_id=receiver.pk, usage_type="data", amount=Decimal(7)
        )
        taken["transfer"].append(Decimal(7))
        return True

    def reserve(number: int, step: int) -> bool:
        balance_reserve(bucket_id=giver.pk, usage_type="data", amount=Decimal(5))
        taken["reserve"].append(Decimal(5))
        return True

    def session(number: int, step: int) -> bool:
        name = f"c{number}-{step}"
        answer = charging.credit_control_initial(
            session_id=name, product_id=phone.pk, usage_type="data", requested_units=3
        )
        if answer.result_code != charging.SUCCESS:
            return False
        # The network uses what it was granted, then ends the session.
        charging.credit_control_terminate(session_id=name, used_units=answer.granted_units)
        taken["session"].append(answer.granted_units)
        return True

    def work(number: int) -> None:
        # Each client starts with another way, so every way takes its share (the first round
        # of first moves is far less than the bucket holds), then tries all until refused.
        ways = [transfer, reserve, session]
        ways = ways[number % 3 :] + ways[: number % 3]
        step = 0
        while ways:
            step += 1
            for way in list(ways):
                try:
                    done = way(number, step)
                except DomainError:  # not enough left for a transfer or reservation this size
                    done = False
                if not done:
                    ways.remove(way)

    assert _run(CLIENTS, work) == []

    transferred, reserved, used = (sum(amounts) for amounts in taken.values())
    assert transferred + reserved + used == HELD  # all of it, and not one unit more
    assert min(transferred, reserved, used) > 0
    giver.refresh_from_db()
    receiver.refresh_from_db()
    assert (giver.remaining, giver.reserved) == (Decimal(0), reserved)
    assert (receiver.remaining, receiver.reserved) == (HELD + transferred, Decimal(0))
    assert sum(TransferBalance.objects.values_list("amount", flat=True)) == transferred
    assert sum(ReserveBalance.objects.values_list("amount", flat=True)) == reserved
    totals = assert_ledger_balances(giver.pk)
    assert (totals["transferOut"], totals["commit"]) == (transferred, used)
    assert assert_ledger_balances(receiver.pk)["transferIn"] == transferred


@pytest.mark.django_db(transaction=True)
def test_transfers_both_ways_at_once_never_deadlock_and_lose_nothing():
    first, second = (bucket(product, "data") for product in _family(2))
    moved = []

    def work(number: int) -> None:
        giver, receiver = (first, second) if number % 2 else (second, first)
        for _ in range(8):
            try:
                balance_transfer(
                    bucket_id=giver.pk,
                    receiver_bucket_id=receiver.pk,
                    usage_type="data",
                    amount=Decimal(7),
                )
                moved.append(number)
            except DomainError:  # the giver was emptied meanwhile: fine, nothing moved
                pass

    assert _run(CLIENTS, work) == []  # a deadlock would be an OperationalError here

    first.refresh_from_db()
    second.refresh_from_db()
    assert first.remaining + second.remaining == 2 * HELD
    assert TransferBalance.objects.count() == len(moved) > 0
    assert_ledger_balances(first.pk)
    assert_ledger_balances(second.pk)


def test_the_beat_task_releases_reservations_past_their_validity_on_a_real_worker(celery_worker):
    product = prepaid_product()
    data = bucket(product, "data")
    reservation = balance_reserve(
        bucket_id=data.pk,
        usage_type="data",
        amount=Decimal(512),
        valid_to=clock.now() + timedelta(seconds=1),
    )
    time.sleep(1.2)

    sweep_prepaid.delay()

    def released():
        reservation.refresh_from_db()
        return reservation if reservation.status == "cancelled" else None

    assert wait_for(released, timeout=20).close_reason == "Validity ended"
    data.refresh_from_db()
    assert (data.remaining, data.reserved) == (Decimal(20480), Decimal(0))
    assert assert_ledger_balances(data.pk)["release"] == Decimal(512)
