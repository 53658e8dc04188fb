"""Customer care in Debian's Chromium: an agent handles a ticket end to end and logs a contact."""

import pytest
from django.core import mail

from crm.models import PartyInteraction, TroubleTicket
from crm.tests.page_factories import make_active_product, make_customer, make_gnb, make_offering
from telco.testing import browser_login

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def ada(transactional_db):
    customer, account = make_customer(
        given_name="Ada", family_name="Lovelace", email="ada@example.org"
    )
    product, service = make_active_product(account, offering=make_offering(), gnb=make_gnb())
    return customer, service


def test_agent_handles_a_ticket_and_logs_an_interaction(ada, agent_user, browser_page):
    customer, service = ada
    page = browser_page
    browser_login(page, "agent1", "pw-agent")

    # Find the customer as the agent types.
    page.fill("input[name=q]", "Lovelace")
    page.locator("#search-results a", has_text="Ada Lovelace").click()
    page.wait_for_url(f"**/portal/customers/{customer.pk}/")

    # Open a ticket about her service.
    page.click("[data-action=open-ticket]")
    page.wait_for_url(f"**/portal/customers/{customer.pk}/tickets/new/")
    page.select_option("select[name=ticket_type]", "fault")
    page.select_option("select[name=severity]", "major")
    page.fill("input[name=name]", "No data")
    page.fill("textarea[name=description]", "No mobile data since noon.")
    page.select_option("select[name=related]", f"Service:{service.pk}")
    page.click("[data-form=ticket] button[type=submit]")
    ticket = TroubleTicket.objects.get()
    page.wait_for_url(f"**/portal/tickets/{ticket.pk}/")
    assert page.locator("[data-ticket-status]").inner_text() == "acknowledged"

    # Work on it: start, note, resolve; only the allowed moves are offered.
    page.fill("textarea[name=reason]", "Checking the cell")
    page.click("[data-move=inProgress]")
    page.wait_for_load_state()
    assert page.locator("[data-ticket-status]").inner_text() == "inProgress"
    assert page.locator("[data-move=closed]").count() == 0
    page.fill("textarea[name=text]", "Cell restart booked.")
    page.click("[data-form=note] button[type=submit]")
    page.wait_for_load_state()
    assert "Cell restart booked." in page.locator("[data-notes]").inner_text()
    page.fill("textarea[name=reason]", "Cell restarted.")
    page.click("[data-move=resolved]")
    page.wait_for_load_state()
    assert page.locator("[data-ticket-status]").inner_text() == "resolved"
    assert [m.to for m in mail.outbox] == [["ada@example.org"]]

    # Her timeline shows the ticket's moves and the resolution email.
    page.get_by_role("link", name="Ada Lovelace").first.click()
    page.wait_for_url(f"**/portal/customers/{customer.pk}/")
    timeline = page.locator("[data-timeline]").inner_text()
    assert f"Ticket TT{ticket.pk} No data: inProgress → resolved" in timeline
    assert f"Your trouble ticket TT{ticket.pk} is resolved" in timeline

    # Log a chat from the 360 page.
    page.select_option("select[name=channel]", "chat")
    page.select_option("select[name=direction]", "inbound")
    page.fill("input[name=reason]", "Confirmed data works")
    page.click("[data-form=interaction] button[type=submit]")
    page.wait_for_url(f"**/portal/customers/{customer.pk}/")
    assert "Chat inbound: Confirmed data works" in page.locator("[data-timeline]").inner_text()
    assert PartyInteraction.objects.filter(channel="chat", created_by="agent1").count() == 1
