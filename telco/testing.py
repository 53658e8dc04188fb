"""Helpers for tests (imported by test modules; fixtures live in the root conftest.py)."""

import threading
import time

import pytest
from django.db import connection


def wait_for(predicate, timeout: float = 30.0, interval: float = 0.1):
    """Poll until `predicate()` returns something truthy; fail the test after `timeout`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = predicate()
        if result:
            return result
        time.sleep(interval)
    pytest.fail(f"condition not met within {timeout}s")
    return None


def run_at_once(call, *, times: int) -> tuple[list, list]:
    """Call `call()` from `times` threads released together, each on its own database
    connection (use in `transaction=True` tests); returns (results, errors raised)."""
    barrier = threading.Barrier(times)
    results, errors = [], []

    def run():
        try:
            barrier.wait()
            results.append(call())
        except Exception as error:  # noqa: BLE001 - returned for the test to assert on
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(times)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results, errors


def browser_login(page, username: str, password: str) -> None:
    page.goto("/accounts/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("button[type=submit], input[type=submit]")
    page.wait_for_load_state()
