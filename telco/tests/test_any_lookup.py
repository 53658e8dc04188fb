"""The kernel's `__any` lookup (telco.db.AnyOf): the rows `__in` finds, the list sent as one
array parameter on PostgreSQL, on plain fields and relations alike."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from crm.models import BillingAccount
from crm.tests.factories import BillingAccountFactory

pytestmark = pytest.mark.django_db


def test_any_finds_the_rows_of_the_list_in_one_array_parameter():
    first, _, third = (BillingAccountFactory() for _ in range(3))
    wanted = [third.pk, first.pk, 10**12]  # any order, and an id that names no row
    with CaptureQueriesContext(connection) as queries:
        found = list(BillingAccount.objects.filter(pk__any=wanted).values_list("pk", flat=True))
    assert sorted(found) == sorted([first.pk, third.pk])
    (query,) = queries.captured_queries
    assert "= ANY(" in query["sql"]
    assert " IN (" not in query["sql"]


def test_any_on_a_relation_and_a_text_field_matches_in():
    accounts = [BillingAccountFactory() for _ in range(3)]
    customers = [accounts[0].customer_id, accounts[1].customer_id]
    by_relation = BillingAccount.objects.filter(customer_id__any=customers)
    assert sorted(by_relation.values_list("pk", flat=True)) == sorted(
        BillingAccount.objects.filter(customer_id__in=customers).values_list("pk", flat=True)
    )
    numbers = [accounts[2].account_number]
    assert list(
        BillingAccount.objects.filter(account_number__any=numbers).values_list("pk", flat=True)
    ) == [accounts[2].pk]


def test_any_of_an_empty_list_finds_nothing_without_a_query(django_assert_num_queries):
    BillingAccountFactory()
    with django_assert_num_queries(0):
        assert list(BillingAccount.objects.filter(pk__any=[])) == []
