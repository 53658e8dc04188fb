"""TMF621 trouble tickets: the lifecycle, deadlines and breaches, and the HTTP API."""

from datetime import datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from crm import services
from crm.choices import TICKET_TRANSITIONS, TicketStatus
from crm.models import TroubleTicket, TroubleTicketStatusChange
from crm.tests.factories import CustomerFactory, TroubleTicketFactory
from telco.exceptions import InvalidTransition

pytestmark = pytest.mark.django_db

TICKET = "/tmf-api/troubleTicket/v4/troubleTicket"


def parse(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def new_ticket(**fields) -> TroubleTicket:
    defaults = {
        "customer": CustomerFactory(),
        "description": "Broadband drops every evening.",
        "ticket_type": "fault",
        "severity": "major",
    }
    return services.trouble_ticket_create(**{**defaults, **fields}, by="agent1")


def ticket_in(status: str) -> TroubleTicket:
    """A ticket brought to `status` through legal moves."""
    paths = {
        "acknowledged": [],
        "inProgress": ["inProgress"],
        "rejected": ["rejected"],
        "cancelled": ["cancelled"],
        "pending": ["inProgress", "pending"],
        "held": ["inProgress", "held"],
        "resolved": ["inProgress", "resolved"],
        "closed": ["inProgress", "resolved", "closed"],
    }
    ticket = new_ticket()
    for step in paths[status]:
        ticket = services.trouble_ticket_set_status(ticket=ticket, status=step, by="agent1")
    return ticket


@pytest.mark.parametrize(
    ("severity", "respond", "resolve", "priority"),
    [("critical", 1, 4, "1"), ("major", 4, 24, "2"), ("minor", 24, 72, "3")],
)
def test_create_sets_deadlines_from_severity(agent_api, severity, respond, resolve, priority):
    customer = CustomerFactory()
    response = agent_api.post(
        TICKET,
        {
            "name": "No signal",
            "description": "No mobile signal at home.",
            "severity": severity,
            "ticketType": "fault",
            "relatedParty": [{"id": str(customer.pk), "@referredType": "Customer"}],
            "relatedEntity": [
                {"id": "42", "@referredType": "Service", "name": "mobile", "role": "affected"}
            ],
            "note": [{"text": "Customer called at 9:00."}],
        },
        format="json",
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    ticket = TroubleTicket.objects.get()
    assert response["Location"] == f"http://testserver{TICKET}/{ticket.pk}"
    assert body["href"] == response["Location"]
    created = parse(body["creationDate"])
    assert parse(body["expectedResponseDate"]) - created == timedelta(hours=respond)
    assert parse(body["expectedResolutionDate"]) - created == timedelta(hours=resolve)
    assert ticket.expected_resolution_date - ticket.created_at == timedelta(hours=resolve)
    assert (body["status"], body["priority"], body["severity"], body["ticketType"]) == (
        "acknowledged",
        priority,
        severity,
        "fault",
    )
    assert body["relatedParty"][0]["id"] == str(customer.pk)
    assert body["relatedParty"][0]["@referredType"] == "Customer"
    assert body["relatedEntity"] == [
        {"id": "42", "@referredType": "Service", "name": "mobile", "role": "affected"}
    ]
    assert [(n["author"], n["text"]) for n in body["note"]] == [
        ("agent1", "Customer called at 9:00.")
    ]
    assert [s["status"] for s in body["statusChange"]] == ["acknowledged"]
    assert (body["responseBreached"], body["resolutionBreached"]) == (False, False)
    assert body["@type"] == "TroubleTicket"


@pytest.mark.parametrize(
    ("source", "target"),
    sorted((str(s), str(t)) for s, targets in TICKET_TRANSITIONS.items() for t in targets),
)
def test_every_allowed_move(source, target):
    ticket = ticket_in(source)
    before = ticket.history.count()
    ticket = services.trouble_ticket_update(
        ticket=ticket,
        changes={"status": target, "status_change_reason": "why not"},
        by="agent1",
    )
    ticket.refresh_from_db()
    assert ticket.status == target
    assert ticket.status_change_reason == "why not"
    last = ticket.history.last()
    assert (last.from_state, last.to_state, last.changed_by, last.reason) == (
        source,
        target,
        "agent1",
        "why not",
    )
    assert ticket.history.count() == before + 1


@pytest.mark.parametrize(
    ("source", "target"),
    [("acknowledged", "resolved"), ("closed", "inProgress"), ("cancelled", "inProgress")],
)
def test_forbidden_move_changes_nothing(source, target):
    ticket = ticket_in(source)
    before = (TroubleTicket.objects.values().get(pk=ticket.pk), ticket.history.count())
    with pytest.raises(InvalidTransition):
        services.trouble_ticket_update(
            ticket=ticket,
            changes={"status": target, "priority": 4, "notes": [{"text": "try"}]},
            by="agent1",
        )
    assert (TroubleTicket.objects.values().get(pk=ticket.pk), ticket.history.count()) == before


def test_response_and_resolution_stamps_and_reopen():
    ticket = ticket_in("resolved")
    ticket.refresh_from_db()
    started, resolved = (h.changed_at for h in ticket.history.all()[1:])
    # Responded when work started (the first move), resolved when it was resolved.
    assert ticket.created_at <= ticket.responded_at <= started
    assert started <= ticket.resolution_date <= resolved
    responded_at = ticket.responded_at
    ticket = services.trouble_ticket_set_status(ticket=ticket, status="inProgress")
    ticket.refresh_from_db()
    assert (ticket.resolution_date, ticket.responded_at) == (None, responded_at)


def test_patch_moves_status_and_appends_note(agent_api):
    ticket = new_ticket(notes=[{"text": "first"}])
    response = agent_api.patch(
        f"{TICKET}/{ticket.pk}",
        {
            "status": "inProgress",
            "statusChangeReason": "Engineer assigned",
            "assignee": "noc-jane",
            "note": [{"text": "Looking at the cell site."}],
        },
        format="json",
    )
    assert response.status_code == 200, response.json()
    body = response.json()
    assert (body["status"], body["statusChangeReason"], body["assignee"]) == (
        "inProgress",
        "Engineer assigned",
        "noc-jane",
    )
    assert [n["text"] for n in body["note"]] == ["first", "Looking at the cell site."]
    assert [(s["status"], s["changeReason"]) for s in body["statusChange"]] == [
        ("acknowledged", ""),
        ("inProgress", "Engineer assigned"),
    ]
    # Echoing the whole array back (merge patch) does not duplicate the notes.
    response = agent_api.patch(f"{TICKET}/{ticket.pk}", {"note": body["note"]}, format="json")
    assert [n["text"] for n in response.json()["note"]] == ["first", "Looking at the cell site."]


def test_patch_illegal_move_is_409_and_changes_nothing(agent_api):
    ticket = new_ticket()
    before = TroubleTicket.objects.values().get(pk=ticket.pk)
    response = agent_api.patch(
        f"{TICKET}/{ticket.pk}",
        {"status": "closed", "priority": "4", "note": [{"text": "x"}]},
        format="json",
    )
    assert response.status_code == 409
    assert response.json()["code"] == "invalidStateTransition"
    assert TroubleTicket.objects.values().get(pk=ticket.pk) == before
    assert TroubleTicketStatusChange.objects.count() == 1


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"relatedParty": None}, "relatedParty"),
        ({"relatedParty": [{"id": "999999", "@referredType": "Customer"}]}, "relatedParty[0].id"),
        ({"severity": "catastrophic"}, "severity"),
        ({"ticketType": "gossip"}, "ticketType"),
        ({"priority": 9}, "priority"),
        ({"description": None}, "description"),
        ({"status": "closed"}, "status"),
        (
            {"relatedEntity": [{"id": "1", "@referredType": "Customer"}]},
            "relatedEntity[0].@referredType",
        ),
    ],
)
def test_bad_input_is_400_naming_the_field(agent_api, change, field):
    customer = CustomerFactory()
    payload = {
        "description": "Slow internet",
        "severity": "minor",
        "ticketType": "complaint",
        "relatedParty": [{"id": str(customer.pk), "@referredType": "Customer"}],
        **change,
    }
    payload = {k: v for k, v in payload.items() if v is not None}
    response = agent_api.post(TICKET, payload, format="json")
    assert response.status_code == 400
    assert field in response.json()["errors"], response.json()
    assert TroubleTicket.objects.count() == 0


def test_breach_flags():
    past = timezone.now() - timedelta(hours=5)
    late = TroubleTicketFactory(severity="critical", created_at=past)
    assert (late.is_response_breached, late.is_resolution_breached) == (True, True)
    fresh = TroubleTicketFactory(severity="minor", created_at=past)
    assert (fresh.is_response_breached, fresh.is_resolution_breached) == (False, False)
    on_time = TroubleTicketFactory(
        severity="critical",
        created_at=past,
        responded_at=past + timedelta(minutes=30),
        resolution_date=past + timedelta(hours=3),
        status=TicketStatus.RESOLVED,
    )
    assert (on_time.is_response_breached, on_time.is_resolution_breached) == (False, False)
    cancelled = TroubleTicketFactory(
        severity="critical",
        created_at=past,
        responded_at=past + timedelta(hours=2),
        status=TicketStatus.CANCELLED,
    )
    assert (cancelled.is_response_breached, cancelled.is_resolution_breached) == (True, False)


def test_breach_flags_in_api(finance_api):
    two_hours_ago = timezone.now() - timedelta(hours=2)
    ticket = TroubleTicketFactory(severity="critical", created_at=two_hours_ago)
    body = finance_api.get(f"{TICKET}/{ticket.pk}").json()
    assert (body["responseBreached"], body["resolutionBreached"]) == (True, False)


def test_permissions(finance_api, anonymous_api, noc_api):
    customer = CustomerFactory()
    payload = {
        "description": "Dead line",
        "severity": "major",
        "ticketType": "fault",
        "relatedParty": [{"id": str(customer.pk)}],
    }
    assert finance_api.post(TICKET, payload, format="json").status_code == 403
    assert anonymous_api.get(TICKET).status_code == 401
    assert finance_api.get(TICKET).status_code == 200
    assert noc_api.post(TICKET, payload, format="json").status_code == 201
    complaint = {**payload, "ticketType": "complaint"}
    assert noc_api.post(TICKET, complaint, format="json").status_code == 403
    assert TroubleTicket.objects.count() == 1


def test_filters(agent_api):
    customer = CustomerFactory()
    TroubleTicketFactory(customer=customer, severity="critical")
    TroubleTicketFactory(severity="minor", ticket_type="inquiry")
    assert len(agent_api.get(TICKET, {"severity": "critical"}).json()) == 1
    assert len(agent_api.get(TICKET, {"ticketType": "inquiry,fault"}).json()) == 2
    assert len(agent_api.get(TICKET, {"relatedParty.id": customer.pk}).json()) == 1
    assert len(agent_api.get(TICKET, {"status": "inProgress"}).json()) == 0
    since = (timezone.now() - timedelta(minutes=5)).isoformat()
    assert len(agent_api.get(TICKET, {"creationDate.gte": since}).json()) == 2


def test_list_query_count_is_constant(agent_api):
    def count_queries(n: int) -> int:
        TroubleTicket.objects.all().delete()
        for _ in range(n):
            ticket = new_ticket()
            services.trouble_ticket_set_status(ticket=ticket, status="inProgress")
        with CaptureQueriesContext(connection) as queries:
            response = agent_api.get(TICKET)
        assert len(response.json()) == n
        return len(queries)

    assert count_queries(2) == count_queries(8)
