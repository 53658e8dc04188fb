"""CRM factories: parties (with contact media), customers, billing accounts, trouble tickets,
interactions."""

import factory
from django.utils import timezone

from crm import services
from crm.choices import TICKET_DEADLINES, PartyKind, TicketSeverity, TicketType
from crm.models import (
    BillingAccount,
    ContactMedium,
    Customer,
    Party,
    PartyInteraction,
    TroubleTicket,
)


def media_from_columns(party: Party) -> list[ContactMedium]:
    """The contact media the services would have written for the party's columns."""
    rows = []
    if party.email:
        rows.append(
            ContactMedium(
                party=party, medium_type="email", preferred=True, email_address=party.email
            )
        )
    if party.phone:
        rows.append(
            ContactMedium(
                party=party, medium_type="phone", preferred=True, phone_number=party.phone
            )
        )
    if party.street and party.city:
        rows.append(
            ContactMedium(
                party=party,
                medium_type="postalAddress",
                preferred=True,
                street1=party.street,
                city=party.city,
                post_code=party.postcode,
                country=party.country,
            )
        )
    return ContactMedium.objects.bulk_create(rows)


class PartyFactory(factory.django.DjangoModelFactory):
    """A party whose email, phone and address columns are also its preferred contact media,
    as `crm.services.party_create` keeps them."""

    class Meta:
        model = Party
        skip_postgeneration_save = True

    @factory.post_generation
    def contact_media(self, create, extracted, **kwargs):
        if create:
            media_from_columns(self)


class IndividualFactory(PartyFactory):
    kind = PartyKind.INDIVIDUAL
    given_name = "Ada"
    family_name = factory.Sequence(lambda n: f"Lovelace{n}")
    email = factory.Sequence(lambda n: f"ada{n}@example.com")
    phone = factory.Sequence(lambda n: f"+447700900{n:03d}")


class OrganizationFactory(PartyFactory):
    kind = PartyKind.ORGANIZATION
    organization_name = factory.Sequence(lambda n: f"Acme {n} Ltd")
    email = factory.Sequence(lambda n: f"ops{n}@acme.example")


class CustomerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Customer

    party = factory.SubFactory(IndividualFactory)
    name = factory.LazyAttribute(lambda o: o.party.display_name)


class BillingAccountFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = BillingAccount

    customer = factory.SubFactory(CustomerFactory)
    account_number = factory.Sequence(lambda n: f"TA{n:08d}")
    name = factory.LazyAttribute(lambda o: f"{o.customer.name} account")
    currency = "EUR"
    bill_cycle_day = 1
    # As the services set it: the standard monthly cycle of the account's day.
    cycle_specification = factory.LazyAttribute(
        lambda o: services.standard_cycle_specification(o.bill_cycle_day)
    )


class TroubleTicketFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = TroubleTicket

    customer = factory.SubFactory(CustomerFactory)
    name = factory.Sequence(lambda n: f"No signal {n}")
    description = "No mobile signal at home since this morning."
    ticket_type = TicketType.FAULT
    severity = TicketSeverity.MAJOR
    priority = 2
    created_at = factory.LazyFunction(timezone.now)
    last_update = factory.LazyAttribute(lambda o: o.created_at)
    expected_response_date = factory.LazyAttribute(
        lambda o: o.created_at + TICKET_DEADLINES[o.severity]["respond"]
    )
    expected_resolution_date = factory.LazyAttribute(
        lambda o: o.created_at + TICKET_DEADLINES[o.severity]["resolve"]
    )


class InteractionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = PartyInteraction

    customer = factory.SubFactory(CustomerFactory)
    channel = "phone"
    direction = "inbound"
    reason = factory.Sequence(lambda n: f"Billing question {n}")
    description = "Asked why the last bill was higher."
    created_by = "agent1"
    interaction_date = factory.LazyFunction(timezone.now)
