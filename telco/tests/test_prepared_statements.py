"""The kernel's prepared statements (telco.db): prepared only where the code asks, and planned
at every execution again where it says so."""

import pytest
from django.db import connection

from telco.db import prepared_cursor, statements_planned_each_time, statements_prepared

pytestmark = pytest.mark.django_db

PROBE = "SELECT %s::int + 1 AS probe_of_prepared_statements"


def prepared_probes() -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT COUNT(*) FROM pg_prepared_statements "
            "WHERE statement LIKE '%%probe_of_prepared_statements%%' "
            "AND statement NOT LIKE '%%pg_prepared_statements%%'"
        )
        return cursor.fetchone()[0]


@pytest.fixture(autouse=True)
def postgresql_only():
    if connection.vendor != "postgresql":
        pytest.skip("prepared statements are PostgreSQL's")


def run_probe(times: int = 7) -> list[int]:
    answers = []
    for value in range(times):
        with connection.cursor() as cursor:
            cursor.execute(PROBE, [value])
            answers.append(cursor.fetchone()[0])
    return answers


def test_the_usual_cursor_prepares_nothing_however_often_a_statement_runs():
    assert run_probe() == [1, 2, 3, 4, 5, 6, 7]
    assert prepared_probes() == 0


def test_within_statements_prepared_a_statement_is_prepared_once():
    with statements_prepared():
        assert run_probe() == [1, 2, 3, 4, 5, 6, 7]
        assert prepared_probes() == 1
        with statements_planned_each_time(), connection.cursor() as cursor:
            cursor.execute(PROBE.replace("+ 1", "+ 2"), [1])
            assert cursor.fetchone()[0] == 3
        assert prepared_probes() == 1  # the one planned each time was not prepared
    run_probe()
    assert prepared_probes() == 1  # outside, the usual cursor again


def test_a_prepared_cursor_prepares_its_statement():
    with prepared_cursor() as cursor:
        cursor.execute(PROBE, [41])
        assert cursor.fetchone()[0] == 42
    assert prepared_probes() == 1
