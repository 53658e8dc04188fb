"""Customer search is served by the trigram indexes of migration crm 0003 (PostgreSQL only).

The plans are the planner's own choice on analyzed tables of a few thousand customers: no
`enable_seqscan = off` or other nudging.
"""

import pytest
from django.db import connection

from crm import selectors
from crm.models import BillingAccount, Customer, Party

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="trigram indexes are PostgreSQL"),
]

CUSTOMERS = 8000
TRIGRAM_INDEXES = [
    "crm_customer_name_trgm",
    "crm_party_email_trgm",
    "crm_party_phone_trgm",
    "crm_billingaccount_number_trgm",
]
SURNAMES = ["Smith", "Jones", "Taylor", "Brown", "Williams", "Wilson", "Evans", "Thomas"]


@pytest.fixture
def many_customers():
    parties = Party.objects.bulk_create(
        Party(
            kind="individual",
            given_name=f"Given{i}",
            family_name=SURNAMES[i % len(SURNAMES)],
            email=f"given{i}.{SURNAMES[i % len(SURNAMES)].lower()}{i}@mail.example",
            phone=f"+447{i:09d}",
        )
        for i in range(CUSTOMERS)
    )
    customers = Customer.objects.bulk_create(
        Customer(party=party, name=f"{party.given_name} {party.family_name} {i}")
        for i, party in enumerate(parties)
    )
    BillingAccount.objects.bulk_create(
        BillingAccount(customer=customer, account_number=f"TST{i:08d}", name=customer.name)
        for i, customer in enumerate(customers)
    )
    with connection.cursor() as cursor:
        # What autovacuum does on a live database: fold the GIN pending lists into the indexes
        # and refresh the statistics the planner costs plans with.
        for index in TRIGRAM_INDEXES:
            cursor.execute("SELECT gin_clean_pending_list(%s::regclass)", [index])
        cursor.execute("ANALYZE crm_party, crm_customer, crm_billingaccount")
    return customers


def plan(query: str) -> str:
    return selectors.customer_search(query).explain()


def test_trigram_indexes_exist():
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE indexname LIKE %s", ["crm_%_trgm"]
        )
        indexes = dict(cursor.fetchall())
    assert set(indexes) == {
        "crm_customer_name_trgm",
        "crm_party_email_trgm",
        "crm_party_phone_trgm",
        "crm_billingaccount_number_trgm",
    }
    # The same expression Django's icontains compares, so the planner can match it.
    assert all("gin" in d and "upper" in d and "gin_trgm_ops" in d for d in indexes.values())


def test_search_plans_use_the_trigram_indexes(many_customers):
    # A fragment that could be in any of the fields: each UNION branch scans its own index.
    explained = plan("given1234.sm")
    for index in TRIGRAM_INDEXES:
        assert f"Bitmap Index Scan on {index}" in explained, explained
    assert "Seq Scan" not in explained, explained
    # What agents type: surnames, partial emails, phone and account number fragments.
    for query, index in [
        ("Taylor", "crm_customer_name_trgm"),
        ("given2345.", "crm_party_email_trgm"),
        ("00002345", "crm_party_phone_trgm"),
        ("TST00001234", "crm_billingaccount_number_trgm"),
    ]:
        explained = plan(query)
        assert f"Bitmap Index Scan on {index}" in explained, (query, explained)


def test_search_results_keep_icontains_semantics(many_customers):
    customer = many_customers[1234]
    assert not selectors.customer_search("no such customer").exists()
    family = customer.party.family_name
    assert customer in selectors.customer_search(f"given1234.{family.upper()}")
    assert list(selectors.customer_search("tst00001234")) == [customer]
    assert list(selectors.customer_search("+447000001234")) == [customer]
    assert customer in selectors.customer_search(f"Given1234 {family}".lower())
