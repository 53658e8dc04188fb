"""CRM factories: parties, customers, billing accounts, trouble tickets."""

import factory
from django.utils import timezone

from crm.choices import TICKET_DEADLINES, PartyKind, TicketSeverity, TicketType
from crm.models import BillingAccount, Customer, Party, TroubleTicket


class IndividualFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Party

    kind = PartyKind.INDIVIDUAL
    given_name = "Ada"
    family_name = factory.Sequence(lambda n: f"Lovelace{n}")
    email = factory.Sequence(lambda n: f"ada{n}@example.com")
    phone = factory.Sequence(lambda n: f"+447700900{n:03d}")


class OrganizationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Party

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
