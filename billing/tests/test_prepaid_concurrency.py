"""Zero overspend: 100 sessions at once, driven by parallel clients (threads, each with its own
PostgreSQL connection), drain one balance: together they use exactly what it held, never
more, and its ledger balances to the cent."""

import threading
import time
from decimal import Decimal

import pytest
from django.db import connection

from billing.models import ChargingSession
from billing.services import charging
from billing.tests.prepaid_helpers import assert_ledger_balances, bucket, prepaid_product

CLIENTS = 25  # parallel connections (the server allows 100 for every suite running at once)
SESSIONS_PER_CLIENT = 4  # 100 sessions open at the same time
HELD = Decimal(700)


@pytest.mark.django_db(transaction=True)
def test_one_hundred_concurrent_sessions_never_take_more_than_the_balance_held(settings):
    settings.CHARGING_QUOTA_CHUNKS = 3
    product = prepaid_product(data_mb=HELD, initial_credit=Decimal(0))
    data = bucket(product, "data")
    barrier = threading.Barrier(CLIENTS)
    used_by_client: list[Decimal] = []
    opened: list[str] = []
    errors: list[BaseException] = []

    def client(number: int) -> None:
        try:
            names = [f"c{number}-s{n}" for n in range(SESSIONS_PER_CLIENT)]
            barrier.wait()
            granted = {}
            for name in names:
                answer = charging.credit_control_initial(
                    session_id=name, product_id=product.pk, usage_type="data", requested_units=1
                )
                # Refused at once (the others drained it first): no session to end.
                if answer.result_code == charging.SUCCESS:
                    granted[name] = answer.granted_units
                    opened.append(name)
            used = Decimal(0)
            while granted:
                for name in list(granted):
                    # The network uses everything it was granted, then reports it.
                    used += granted[name]
                    if granted[name] == 0:
                        charging.credit_control_terminate(session_id=name, used_units=0)
                        del granted[name]
                        continue
                    answer = charging.credit_control_update(
                        session_id=name, used_units=granted[name], requested_units=1
                    )
                    granted[name] = answer.granted_units
            used_by_client.append(used)
        except BaseException as exc:  # reported by the test thread below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=client, args=(n,)) for n in range(CLIENTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert len(used_by_client) == CLIENTS
    assert sum(used_by_client) == HELD  # every unit used, and not one more
    data.refresh_from_db()
    assert (data.remaining, data.reserved) == (Decimal(0), Decimal(0))
    sessions = ChargingSession.objects.filter(product=product)
    assert sessions.count() == len(opened)
    assert set(sessions.values_list("state", flat=True)) == {"terminated"}
    assert sum(sessions.values_list("used", flat=True)) == HELD
    totals = assert_ledger_balances(data.pk)
    assert totals["commit"] == HELD
    assert totals["topup"] == HELD


def test_the_beat_task_releases_silent_sessions_on_a_real_worker(
    restartable_celery_worker, settings
):
    from billing.prepaid_tasks import sweep_prepaid
    from telco.testing import wait_for

    settings.CHARGING_STORE_ENABLED = False  # the worker reads the session's row
    restartable_celery_worker.restart(CHARGING_SESSION_TIMEOUT_SECONDS="1")
    product = prepaid_product()
    charging.credit_control_initial(
        session_id="silent", product_id=product.pk, usage_type="data", requested_units=2
    )
    charging.credit_control_update(session_id="silent", used_units=2, requested_units=2)
    time.sleep(1.2)

    sweep_prepaid.delay()

    def released():
        session = ChargingSession.objects.get(session_id="silent")
        return session if session.state == "timedOut" else None

    session = wait_for(released, timeout=20)
    assert session.used == 2
    data = bucket(product, "data")
    assert (data.remaining, data.reserved) == (Decimal(20480 - 2), Decimal(0))
    assert_ledger_balances(data.pk)
