"""The demo's care data (crm.demo): contact details per customer and a care history."""

import random

import pytest
from django.utils import timezone

from catalog.demo import ensure_catalog
from crm import demo
from crm.models import (
    BillingAccount,
    ContactMedium,
    CreditProfile,
    PartyIdentification,
    PartyInteraction,
    TroubleTicket,
)
from crm.tests.factories import BillingAccountFactory, CustomerFactory, OrganizationFactory
from inventory.demo import ensure_network
from telco.management.commands.seed_demo import ensure_customers

pytestmark = pytest.mark.django_db


def test_contact_details_follow_the_customer_number():
    person = CustomerFactory(party__street="1 Road", party__city="Bath")
    company = CustomerFactory(party=OrganizationFactory(phone="+441130000001"))
    ContactMedium.objects.all().delete()
    demo._contact_details([5, 6], [person.party, company.party], [person, company], timezone.now())
    assert sorted(person.party.contact_media.values_list("medium_type", "preferred")) == [
        ("email", False),
        ("email", True),
        ("mobile", True),
        ("postalAddress", True),
    ]
    assert list(
        PartyIdentification.objects.order_by("id").values_list(
            "party_id", "identification_type", "identification_id"
        )
    ) == [
        (person.party_id, "passport", "500000005"),
        (company.party_id, "companyRegistration", "00000006"),
        (company.party_id, "vat", "GB000000006"),
    ]
    assert CreditProfile.objects.count() == 2


def test_care_history_is_written_once():
    for n in range(7):
        BillingAccountFactory(account_number=f"{demo.DEMO_ACCOUNT_PREFIX}{n:08d}")
    created = demo.ensure_care(count=7)
    assert created == PartyInteraction.objects.count() > 7
    # Customers 0, 3 and 6 get tickets: in progress, acknowledged, resolved (and told so).
    assert sorted(TroubleTicket.objects.values_list("status", flat=True)) == [
        "acknowledged",
        "inProgress",
        "resolved",
    ]
    resolved = TroubleTicket.objects.get(status="resolved")
    assert [h.to_state for h in resolved.history.all()] == [
        "acknowledged",
        "inProgress",
        "resolved",
    ]
    notification = PartyInteraction.objects.get(channel="notification")
    assert (notification.status, notification.customer_id) == ("sent", resolved.customer_id)
    assert demo.ensure_care(count=7) == 0


def test_demo_accounts_name_the_standard_cycle_of_their_day():
    offerings = ensure_catalog()
    network = ensure_network(random.Random(7), 10)
    ensure_customers(random.Random(7), 30, offerings, network, report=lambda line: None)

    accounts = BillingAccount.objects.filter(account_number__startswith=demo.DEMO_ACCOUNT_PREFIX)
    assert accounts.count() == 30
    assert [
        (a.cycle_specification.billing_date_shift, a.cycle_specification.name)
        for a in accounts.select_related("cycle_specification")
    ] == [(a.bill_cycle_day, f"Monthly, day {a.bill_cycle_day}") for a in accounts]
