"""Interactions (TMF683), customer notifications by email, and the customer timeline."""

from datetime import timedelta

import pytest
from django.core import mail
from django.core.mail.backends import locmem
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from crm import selectors, services
from crm.models import PartyInteraction, TroubleTicket
from crm.tests.factories import CustomerFactory, InteractionFactory, TroubleTicketFactory
from telco.exceptions import InvalidTransition

pytestmark = pytest.mark.django_db

INTERACTION = "/tmf-api/partyInteraction/v4/partyInteraction"
HOST = "http://testserver"


def post_interaction(api, customer, **extra):
    body = {
        "channel": [{"id": "phone"}],
        "direction": "inbound",
        "reason": "Bill too high",
        "description": "Asked about roaming charges.",
        "relatedParty": [{"id": str(customer.pk), "@referredType": "Customer"}],
        **extra,
    }
    return api.post(INTERACTION, body, format="json")


def test_agent_records_an_interaction(agent_api):
    customer = CustomerFactory(name="Ada")
    ticket = TroubleTicketFactory(customer=customer)
    response = post_interaction(
        agent_api,
        customer,
        interactionDate={
            "startDateTime": "2026-11-20T09:00:00Z",
            "endDateTime": "2026-11-20T09:07:00Z",
        },
        relatedEntity=[{"id": str(ticket.pk), "@referredType": "TroubleTicket", "name": "TT"}],
        note=[{"text": "Promised a call back."}],
    )
    assert response.status_code == 201, response.json()
    interaction = PartyInteraction.objects.get()
    body = response.json()
    assert response["Location"] == f"{HOST}{INTERACTION}/{interaction.pk}"
    assert body == {
        "id": str(interaction.pk),
        "href": f"{HOST}{INTERACTION}/{interaction.pk}",
        "description": "Asked about roaming charges.",
        "reason": "Bill too high",
        "direction": "inbound",
        "relatedEntity": [{"id": str(ticket.pk), "@referredType": "TroubleTicket", "name": "TT"}],
        "status": "completed",
        "statusReason": "",
        "subject": "",
        "recipient": "",
        "createdBy": "agent1",
        "channel": [{"id": "phone", "name": "Phone", "@referredType": "Channel"}],
        "interactionDate": {
            "startDateTime": "2026-11-20T09:00:00Z",
            "endDateTime": "2026-11-20T09:07:00Z",
        },
        "relatedParty": [
            {
                "id": str(customer.pk),
                "href": f"{HOST}/tmf-api/customerManagement/v4/customer/{customer.pk}",
                "name": "Ada",
                "@referredType": "Customer",
                "role": "customer",
            }
        ],
        "note": [
            {
                "author": "agent1",
                "date": interaction.notes[0]["date"],
                "text": "Promised a call back.",
            }
        ],
        "@type": "PartyInteraction",
    }


@pytest.mark.parametrize(
    ("extra", "field"),
    [
        ({"channel": [{"id": "pigeon"}]}, "channel[0].id"),
        ({"channel": [{"id": "notification"}]}, "channel[0].id"),
        ({"channel": [{"id": "phone"}, {"id": "chat"}]}, "channel"),
        ({"direction": "sideways"}, "direction"),
        ({"reason": ""}, "reason"),
        ({"relatedParty": [{"id": "999999", "@referredType": "Customer"}]}, "relatedParty[0].id"),
        (
            {"relatedEntity": [{"id": "1", "@referredType": "Spaceship"}]},
            "relatedEntity[0].@referredType",
        ),
        (
            {
                "interactionDate": {
                    "startDateTime": "2026-11-20T09:00:00Z",
                    "endDateTime": "2026-11-20T08:00:00Z",
                }
            },
            "interactionDate.endDateTime",
        ),
    ],
)
def test_bad_interaction_is_400_naming_the_field(agent_api, extra, field):
    response = post_interaction(agent_api, CustomerFactory(), **extra)
    assert response.status_code == 400
    assert list(response.json()["errors"]) == [field]
    assert not PartyInteraction.objects.exists()


def test_patch_appends_notes_only(agent_api):
    interaction = InteractionFactory(
        reason="Original", notes=[{"author": "a", "date": "2026-01-01", "text": "One"}]
    )
    url = f"{INTERACTION}/{interaction.pk}"
    response = agent_api.patch(
        url,
        {"note": [{"author": "a", "date": "2026-01-01", "text": "One"}, {"text": "Two"}]},
        format="json",
    )
    assert response.status_code == 200, response.json()
    assert [n["text"] for n in response.json()["note"]] == ["One", "Two"]
    assert response.json()["note"][1]["author"] == "agent1"
    response = agent_api.patch(url, {"reason": "Rewritten"}, format="json")
    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["reason"]
    response = agent_api.patch(url, {"note": [{"text": " "}]}, format="json")
    assert response.status_code == 400
    interaction.refresh_from_db()
    assert (interaction.reason, len(interaction.notes)) == ("Original", 2)


def test_roles_agents_write_noc_and_finance_read(agent_api, noc_api, finance_api, admin_api):
    customer = CustomerFactory()
    interaction = InteractionFactory(customer=customer)
    for api in (noc_api, finance_api):
        assert api.get(INTERACTION).status_code == 200
        assert api.get(f"{INTERACTION}/{interaction.pk}").status_code == 200
        assert post_interaction(api, customer).status_code == 403
        response = api.patch(
            f"{INTERACTION}/{interaction.pk}", {"note": [{"text": "x"}]}, format="json"
        )
        assert response.status_code == 403
    assert post_interaction(admin_api, customer).status_code == 201
    assert post_interaction(agent_api, customer).status_code == 201
    assert PartyInteraction.objects.count() == 3


def test_list_filters_by_customer_and_has_a_fixed_query_count(agent_api):
    ada, grace = CustomerFactory(), CustomerFactory()
    mine = InteractionFactory(customer=ada, channel="chat")
    InteractionFactory(customer=grace)
    response = agent_api.get(INTERACTION, {"relatedParty.id": ada.pk})
    assert [i["id"] for i in response.json()] == [str(mine.pk)]
    assert response["X-Total-Count"] == "1"
    assert [i["id"] for i in agent_api.get(INTERACTION, {"channel.id": "chat"}).json()] == [
        str(mine.pk)
    ]

    def count():
        with CaptureQueriesContext(connection) as ctx:
            assert agent_api.get(INTERACTION).status_code == 200
        return len(ctx)

    few = count()
    InteractionFactory.create_batch(6)
    assert count() == few


# Notifications


def test_notify_emails_the_preferred_address_and_records_it():
    customer = CustomerFactory(party__email="ada@example.org", name="Ada")
    interaction = services.customer_notify(
        customer=customer,
        subject="Planned work\ntonight",
        body="Your service may drop between 01:00 and 03:00.",
        reason="plannedWork",
        by="noc1",
        related_entities=[{"id": "7", "@referredType": "Incident"}],
    )
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert (message.to, message.subject, message.body, message.from_email) == (
        ["ada@example.org"],
        "Planned work tonight",
        "Your service may drop between 01:00 and 03:00.",
        "Telco Care <care@telco.example>",
    )
    interaction.refresh_from_db()
    assert (
        interaction.channel,
        interaction.direction,
        interaction.status,
        interaction.recipient,
        interaction.reason,
        interaction.error,
        interaction.related_entities,
    ) == (
        "notification",
        "outbound",
        "sent",
        "ada@example.org",
        "plannedWork",
        "",
        [{"id": "7", "@referredType": "Incident"}],
    )


def test_notify_a_customer_without_email_records_a_failure():
    customer = CustomerFactory(party__email="")
    interaction = services.customer_notify(
        customer=customer, subject="Outage", body="Sorry.", reason="incident", by="noc1"
    )
    assert mail.outbox == []
    assert (interaction.status, interaction.error, interaction.recipient) == (
        "failed",
        "The customer has no email address.",
        "",
    )


def test_notify_records_the_mail_server_error(settings):
    # A real SMTP connection to a port nobody listens on: the connection is refused.
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", 9, 2
    customer = CustomerFactory(party__email="ada@example.org")
    interaction = services.customer_notify(
        customer=customer, subject="Outage", body="Sorry.", reason="incident", by="noc1"
    )
    assert interaction.status == "failed"
    assert interaction.error.startswith("ConnectionRefusedError")
    assert PartyInteraction.objects.get().status == "failed"


def test_resolving_a_ticket_tells_the_customer(django_capture_on_commit_callbacks):
    customer = CustomerFactory(party__email="ada@example.org")
    ticket = services.trouble_ticket_create(
        customer=customer,
        name="No signal",
        description="No signal at home.",
        ticket_type="fault",
        severity="major",
        by="agent1",
    )
    ticket = services.trouble_ticket_set_status(ticket=ticket, status="inProgress", by="agent1")
    assert mail.outbox == []
    with django_capture_on_commit_callbacks(execute=True):
        services.trouble_ticket_update(
            ticket=ticket,
            changes={"status": "resolved", "status_change_reason": "Antenna realigned."},
            by="agent1",
        )
    assert len(mail.outbox) == 1
    assert mail.outbox[0].subject == f"Your trouble ticket TT{ticket.pk} is resolved"
    assert "Resolution: Antenna realigned." in mail.outbox[0].body
    notification = PartyInteraction.objects.get()
    assert (notification.status, notification.reason, notification.related_entities) == (
        "sent",
        "troubleTicketResolved",
        [{"id": str(ticket.pk), "@referredType": "TroubleTicket", "name": f"TT{ticket.pk}"}],
    )


def test_a_refused_resolution_sends_nothing(django_capture_on_commit_callbacks):
    ticket = TroubleTicketFactory()  # acknowledged: resolving needs inProgress first
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(InvalidTransition):
        services.trouble_ticket_set_status(ticket=ticket, status="resolved", by="agent1")
    assert mail.outbox == []
    assert TroubleTicket.objects.get().status == "acknowledged"


# Timeline


def test_timeline_merges_interactions_notifications_and_ticket_moves_newest_first():
    customer = CustomerFactory(party__email="ada@example.org")
    now = timezone.now()
    call = InteractionFactory(
        customer=customer, reason="Called about the bill", interaction_date=now - timedelta(hours=3)
    )
    ticket = services.trouble_ticket_create(
        customer=customer, description="Slow", ticket_type="fault", severity="minor", by="agent1"
    )
    services.trouble_ticket_set_status(ticket=ticket, status="inProgress", by="agent2")
    services.customer_notify(
        customer=customer, subject="We are on it", body="...", reason="update", by="agent2"
    )
    InteractionFactory(reason="Someone else's call")
    entries = selectors.customer_timeline(customer.pk)
    assert [(e.kind, e.status, e.by) for e in entries] == [
        ("notification", "sent", "agent2"),
        ("ticket", "inProgress", "agent2"),
        ("ticket", "acknowledged", "agent1"),
        ("interaction", "completed", "agent1"),
    ]
    assert entries[1].title == f"Ticket TT{ticket.pk} Slow: acknowledged → inProgress"
    assert entries[3].interaction == call
    assert entries[0].title == "Notification outbound: We are on it"


def test_timeline_is_two_queries_and_bounded():
    customer = CustomerFactory()
    for _ in range(4):
        InteractionFactory(customer=customer)
        TroubleTicketFactory(customer=customer).history.create(to_state="acknowledged")
    with CaptureQueriesContext(connection) as ctx:
        entries = selectors.customer_timeline(customer.pk, limit=5)
    assert len(ctx) == 2
    assert len(entries) == 5
    assert entries == sorted(entries, key=lambda e: e.when, reverse=True)


class CountingBackend(locmem.EmailBackend):
    """Django's test outbox, counting the connections opened to it."""

    opened = 0

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        type(self).opened += 1


def test_notifying_many_customers_shares_one_mail_connection(settings):
    settings.EMAIL_BACKEND = f"{__name__}.CountingBackend"
    CountingBackend.opened = 0
    customers = [CustomerFactory(party__email=f"c{i}@example.org") for i in range(3)]
    with mail.get_connection() as connection:
        for customer in customers:
            services.customer_notify(
                customer=customer,
                subject="Outage",
                body="Fibre cut near you.",
                reason="incident",
                by="noc1",
                connection=connection,
            )
    assert [m.to for m in mail.outbox] == [[f"c{i}@example.org"] for i in range(3)]
    assert CountingBackend.opened == 1
    assert PartyInteraction.objects.filter(status="sent").count() == 3
