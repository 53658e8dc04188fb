"""Trouble tickets and the incident: an enterprise customer whose product has an SLA gets one
ticket opened automatically; a ticket an agent opens for an impacted customer is linked to the
incident; resolving the incident resolves the linked tickets with a note. The 360's live block
and product rows show the incident, its state and the ETA the NOC set."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse

from assurance import notices
from assurance.models.notices import NoticeKind
from assurance.tests.test_notices import confirmed_incident
from catalog.models import ServiceLevelAgreement
from crm.choices import Segment, TicketStatus
from crm.models import TroubleTicket
from crm.services import trouble_ticket_create
from telco import clock

pytestmark = pytest.mark.django_db


def related(ticket, incident) -> bool:
    return {"id": str(incident.pk), "@referredType": "ServiceProblem"}.items() <= {
        k: v for e in ticket.related_entities for k, v in e.items() if k in ("id", "@referredType")
    }.items()


def test_sla_ticket_once_agent_ticket_linked_and_resolved_with_the_incident():
    incident, subscriptions = confirmed_incident(2)
    enterprise, consumer = subscriptions
    enterprise.customer.segment = Segment.ENTERPRISE
    enterprise.customer.save(update_fields=["segment"])
    ServiceLevelAgreement.objects.create(
        offering=enterprise.product.product_offering,
        name="Gold",
        availability_target=Decimal("99.9"),
        credit_bands=[{"availabilityBelow": "99.9", "creditPercent": "10"}],
    )
    for _ in range(2):  # planned and sent twice: one ticket
        notices.notices_send(notices.notices_plan(incident.pk, NoticeKind.CONFIRMED))
    auto = TroubleTicket.objects.get(customer=enterprise.customer)
    assert related(auto, incident)
    assert not TroubleTicket.objects.filter(customer=consumer.customer).exists()

    # An agent opens a ticket for the consumer during the incident: linked automatically.
    agent_ticket = trouble_ticket_create(
        customer=consumer.customer,
        description="No service since this morning",
        ticket_type="complaint",
        severity="major",
        by="agent1",
    )
    assert related(agent_ticket, incident)

    incident.state = "resolved"
    incident.resolved_at = clock.now()
    incident.save()
    notices.notices_plan(incident.pk, NoticeKind.RESOLVED)
    for ticket in (auto, agent_ticket):
        ticket.refresh_from_db()
        assert ticket.status == TicketStatus.RESOLVED
        assert f"INC{incident.pk}" in ticket.notes[-1]["text"]


def test_the_360_shows_the_incident_state_and_eta(agent_client):
    incident, (subscription,) = confirmed_incident(1)
    incident.expected_restore_time = clock.now() + timedelta(hours=2)
    incident.save()
    response = agent_client.get(reverse("crm:customer-products", args=[subscription.customer.pk]))
    body = response.content.decode()
    assert f"INC{incident.pk}" in body
    assert "Network incidents affecting this customer" in body
    assert incident.expected_restore_time.strftime("%Y-%m-%d %H:%M") in body
    assert f'data-product-incident="{incident.pk}"' in body
