"""The NOC activation queue: in flight, held and failed orders, Retry and Fail, order detail."""

import contextlib
import re
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from catalog.models import ServiceSpecification
from catalog.tests.factories import shared_five_g_offering
from crm.tests.factories import BillingAccountFactory
from inventory.models import Resource
from inventory.network.base import TransientNetworkError
from inventory.tests.factories import GnbFactory
from orders import services
from orders.models import ActivationStep, ServiceOrder
from orders.services import ItemRequest, PartyRequest

pytestmark = pytest.mark.django_db

QUEUE = "/noc/activation/"


def five_g_world():
    """The 5G offering and one gNB shared by the test's orders, and a new customer account."""
    gnb = Resource.objects.filter(resource_kind="gnb").first() or GnbFactory()
    return shared_five_g_offering(), BillingAccountFactory(), gnb


def submit(offering, account) -> ServiceOrder:
    """A product order accepted and decomposed; its service order waits to run."""
    order = services.product_order_submit(
        items=[ItemRequest("1", "add", str(offering.pk), {"bandwidth": "500Mbps"})],
        parties=[PartyRequest(str(account.customer_id), "Customer")],
    )
    services.product_order_process(product_order_id=order.pk)
    return order.service_orders.get()


def stuck_order(world=None, *, stalled: bool = False) -> ServiceOrder:
    """An order in progress whose configure step hit a transient error and waits for a retry."""
    offering, account, gnb = world or five_g_world()
    service_order = submit(offering, account)
    call_command("labnet", "fail", gnb.name, "--mode", "transient:5")
    with pytest.raises(TransientNetworkError):
        services.service_order_run(service_order_id=service_order.pk)
    if stalled:
        ServiceOrder.objects.filter(pk=service_order.pk).update(
            last_update=timezone.now() - timedelta(minutes=30)
        )
    service_order.refresh_from_db()
    return service_order


def held_order(world=None) -> ServiceOrder:
    """An order held in fallout: its configure step used up its attempts on transient errors."""
    offering, account, gnb = world or five_g_world()
    service_order = submit(offering, account)
    call_command("labnet", "fail", gnb.name, "--mode", "transient:50")
    for _ in range(services.ACTIVATION_MAX_ATTEMPTS):
        with contextlib.suppress(TransientNetworkError):
            services.service_order_run(service_order_id=service_order.pk)
    service_order.refresh_from_db()
    assert service_order.state == "held"
    return service_order


def failed_order(world=None) -> ServiceOrder:
    offering, account, gnb = world or five_g_world()
    service_order = submit(offering, account)
    call_command("labnet", "fail", gnb.name, "--mode", "permanent")
    services.service_order_run(service_order_id=service_order.pk)
    service_order.refresh_from_db()
    return service_order


def row(page: str, order_id: int) -> str:
    return page.split(f'<tr id="order-{order_id}"')[1].split("</tr>")[0]


def section(page: str, key: str) -> str:
    return page.split(f'id="section-{key}"')[1].split("</section>")[0]


def test_queue_shows_in_flight_order_with_step_attempts_and_error(noc_client):
    stuck = stuck_order()
    customer = stuck.product_order.customer

    page = noc_client.get(QUEUE).content.decode()

    stuck_row = row(section(page, "inProgress"), stuck.pk)
    assert 'data-state="inProgress"' in stuck_row
    step = ActivationStep.objects.get(item__order=stuck, state="pending", attempts=1)
    assert f'{step.name} <span class="muted">(pending)</span>' in stuck_row
    assert '<td class="num">1</td>' in stuck_row
    assert step.last_error
    assert step.last_error in stuck_row
    assert "1 of 5 steps done" in stuck_row
    assert f'href="/portal/customers/{customer.pk}/">{customer.name}</a>' in stuck_row
    # Still making progress: nothing for the NOC to do yet.
    assert "/retry/" not in stuck_row
    assert "stalled" not in stuck_row


def test_a_stalled_order_gets_retry_and_fail(noc_client):
    stalled = stuck_order(stalled=True)

    stalled_row = row(noc_client.get(QUEUE).content.decode(), stalled.pk)

    assert '<span class="badge badge-warn">stalled</span>' in stalled_row
    assert f'action="/noc/activation/{stalled.pk}/retry/"' in stalled_row


def test_queue_shows_held_order_with_reason_retry_and_fail(noc_client):
    held = held_order()

    page = noc_client.get(QUEUE).content.decode()

    held_row = row(section(page, "held"), held.pk)
    assert held.failure_reason.startswith("Step 2 'Configure ")
    assert "gave up after 6 attempts" in held.failure_reason
    assert held.failure_reason in held_row.replace("&#x27;", "'")
    assert '<td class="num">6</td>' in held_row
    assert f'action="/noc/activation/{held.pk}/retry/"' in held_row
    assert f'action="/noc/activation/{held.pk}/fail/"' in held_row
    assert 'name="reason" required' in held_row
    assert "csrfmiddlewaretoken" in held_row
    assert 'id="section-held" data-total="1"' in page


def test_queue_lists_recent_failures_with_reason_and_no_actions(noc_client):
    failed = failed_order()

    page = noc_client.get(QUEUE).content.decode()

    failed_row = row(section(page, "failed"), failed.pk)
    assert failed.failure_reason.startswith("Step 2 'Configure ")
    assert failed.failure_reason in failed_row.replace("&#x27;", "'")
    assert "/retry/" not in failed_row
    assert 'id="section-inProgress" data-total="0"' in page


def test_queue_filters_by_state(noc_client):
    stuck = stuck_order()
    held = held_order()
    failed = failed_order()

    def listed(params) -> list[str]:
        page = noc_client.get(QUEUE, params).content.decode()
        return re.findall(r'<tr id="order-(\d+)"', page)

    assert listed({"state": "failed"}) == [str(failed.pk)]
    assert listed({"state": "inProgress"}) == [str(stuck.pk)]
    assert listed({"state": "held"}) == [str(held.pk)]
    # An unknown filter shows every section.
    assert listed({"state": "bogus"}) == [str(stuck.pk), str(held.pk), str(failed.pk)]
    only_failed = noc_client.get(QUEUE, {"state": "failed"}).content.decode()
    assert 'id="section-inProgress"' not in only_failed
    # The table fragment the page polls keeps the filter.
    assert 'data-live-url="/noc/activation/table/?state=failed"' in only_failed
    fragment = noc_client.get(f"{QUEUE}table/", {"state": "failed"}).content.decode()
    assert "<html" not in fragment
    assert re.findall(r'<tr id="order-(\d+)"', fragment) == [str(failed.pk)]


def queue_queries(client, url: str) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200
    return len(queries)


def test_queue_query_count_does_not_grow_with_orders(noc_client):
    stuck_order()
    held_order()
    failed_order()
    one = {url: queue_queries(noc_client, url) for url in (QUEUE, f"{QUEUE}table/")}
    for _ in range(2):
        stuck_order(stalled=True)
        held_order()
        failed_order()
    assert ServiceOrder.objects.count() == 9
    assert {url: queue_queries(noc_client, url) for url in one} == one


# ---------------------------------------------------------------------------------------------
# Retry and Fail
# ---------------------------------------------------------------------------------------------


def test_retry_puts_a_held_order_back_in_progress_and_it_completes(noc_client):
    held = held_order()
    failed_step = ActivationStep.objects.get(item__order=held, state="failed")
    assert failed_step.attempts == 6

    response = noc_client.post(
        f"{QUEUE}{held.pk}/retry/", {"next": f"{QUEUE}?state=held"}, follow=True
    )

    assert response.redirect_chain == [(f"{QUEUE}?state=held", 302)]
    assert f"Service order {held.pk} is being retried." in response.content.decode()
    held.refresh_from_db()
    assert (held.state, held.failure_reason) == ("inProgress", "")
    failed_step.refresh_from_db()
    assert (failed_step.state, failed_step.attempts, failed_step.last_error) == ("pending", 0, "")
    assert held.history.last().changed_by == "noc1"
    # The workflow goes on from that step (what the worker does after commit).
    call_command("labnet", "heal", failed_step.resource.name)
    services.service_order_run(service_order_id=held.pk)
    held.refresh_from_db()
    assert held.state == "completed"


def test_fail_with_a_reason_fails_the_order_and_releases_it(noc_client):
    held = held_order()
    product_order = held.product_order

    response = noc_client.post(
        f"{QUEUE}{held.pk}/fail/", {"reason": "Element replaced"}, follow=True
    )

    assert response.redirect_chain == [(QUEUE, 302)]
    assert f"Service order {held.pk} failed: Element replaced" in response.content.decode()
    held.refresh_from_db()
    product_order.refresh_from_db()
    assert held.state == "failed"
    assert held.failure_reason == "Failed by noc1: Element replaced"
    assert product_order.state == "failed"
    failed_row = row(section(response.content.decode(), "failed"), held.pk)
    assert "Failed by noc1: Element replaced" in failed_row


def test_fail_without_a_reason_changes_nothing(noc_client):
    held = held_order()

    response = noc_client.post(f"{QUEUE}{held.pk}/fail/", {"reason": "  "}, follow=True)

    assert f"Service order {held.pk}: give a reason to fail it." in response.content.decode()
    held.refresh_from_db()
    assert held.state == "held"


def test_wrong_state_is_a_message_and_changes_nothing(noc_client):
    failed = failed_order()
    history = failed.history.count()

    retried = noc_client.post(f"{QUEUE}{failed.pk}/retry/", follow=True).content.decode()
    refused = noc_client.post(f"{QUEUE}{failed.pk}/fail/", {"reason": "again"}, follow=True)

    assert f"Service order {failed.pk}: Service order {failed.pk} is failed: only a held or" in (
        retried
    )
    assert "can be retried." in retried
    assert "can be failed." in refused.content.decode()
    failed.refresh_from_db()
    assert failed.state == "failed"
    assert failed.history.count() == history
    assert noc_client.post(f"{QUEUE}99999/retry/").status_code == 404
    assert noc_client.post(f"{QUEUE}99999/fail/", {"reason": "x"}).status_code == 404


# ---------------------------------------------------------------------------------------------
# Order detail
# ---------------------------------------------------------------------------------------------


def test_order_detail_shows_steps_and_history(noc_client):
    stuck = held_order()

    page = noc_client.get(f"{QUEUE}{stuck.pk}/").content.decode()

    steps = ActivationStep.objects.filter(item__order=stuck).order_by("sequence")
    assert re.findall(r'<tr id="step-(\d+)" data-state="(\w+)"', page) == [
        (str(step.pk), step.state) for step in steps
    ]
    assert "<td>acknowledged</td><td>inProgress</td><td>activation-workflow</td>" in page
    assert "<td>inProgress</td><td>held</td><td>activation-workflow</td>" in page
    assert "gave up after 6 attempts" in page
    assert f'action="/noc/activation/{stuck.pk}/retry/"' in page
    assert noc_client.get(f"{QUEUE}99999/").status_code == 404


def test_order_detail_query_count_does_not_grow_with_steps(noc_client):
    small = stuck_order()
    one = queue_queries(noc_client, f"{QUEUE}{small.pk}/")
    specification = ServiceSpecification.objects.get(name="5G Slice Service")
    big = services.service_order_submit(
        items=[
            ItemRequest(str(n), "add", str(specification.pk), {"bandwidth": "100Mbps"})
            for n in range(1, 4)
        ]
    )
    assert ActivationStep.objects.filter(item__order=big).count() > 10
    assert queue_queries(noc_client, f"{QUEUE}{big.pk}/") == one


def test_queue_pages_are_for_noc_and_admin_only(
    agent_client, finance_client, noc_client, admin_role_client
):
    stuck = stuck_order()
    urls = [QUEUE, f"{QUEUE}table/", f"{QUEUE}{stuck.pk}/"]
    clients = {
        "agent": agent_client,
        "finance": finance_client,
        "noc": noc_client,
        "admin": admin_role_client,
    }
    for url in urls:
        statuses = {role: client.get(url).status_code for role, client in clients.items()}
        assert statuses == {"agent": 403, "finance": 403, "noc": 200, "admin": 200}, url
        anonymous = Client().get(url)
        assert anonymous.status_code == 302
        assert anonymous["Location"].startswith("/accounts/login/")
    for action, data in (("retry", {}), ("fail", {"reason": "x"})):
        url = f"{QUEUE}{stuck.pk}/{action}/"
        assert clients["agent"].post(url, data).status_code == 403
        assert clients["finance"].post(url, data).status_code == 403
        assert Client().post(url, data).status_code == 302
        assert clients["noc"].get(url).status_code == 405
    stuck.refresh_from_db()
    assert stuck.state == "inProgress"
