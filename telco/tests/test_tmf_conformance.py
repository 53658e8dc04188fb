"""Rules every TM Forum API shares (shared/tmf/CONFORMANCE.md, TMF630), held by the shared base.

Each collection the app serves under `/tmf-api/` is found in the URL resolver, so a new API is
covered by these tests the day it is routed.
"""

import threading
from collections import Counter
from datetime import timedelta
from io import StringIO

import pytest
import requests
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from billing.models import Payment
from crm.tests.factories import BillingAccountFactory, TroubleTicketFactory
from orders.models import ProductOrder
from orders.tests.factories import five_g_world, product_order_body
from telco import clock
from telco.api import idempotency
from telco.api.views import TMFViewSet
from telco.models import IdempotentRequest
from telco.roles import FINANCE

PAYMENTS = "/tmf-api/paymentManagement/v4/payment"
ORDERS = "/tmf-api/productOrderingManagement/v4/productOrder"
TICKETS = "/tmf-api/troubleTicket/v4/troubleTicket"
ACCOUNTS = "/tmf-api/accountManagement/v4/billingAccount"
BIGINT_MAX = 2**63 - 1


def tmf_collections() -> list[str]:
    """The path of every list route of a TMFViewSet under `tmf-api/`."""
    found = []

    def walk(patterns, namespace: str, prefix: str):
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                inner = namespace
                if pattern.namespace:
                    inner = f"{namespace}:{pattern.namespace}" if namespace else pattern.namespace
                walk(pattern.url_patterns, inner, prefix + str(pattern.pattern))
            elif isinstance(pattern, URLPattern) and prefix.startswith("tmf-api/"):
                view_class = getattr(pattern.callback, "cls", None)
                actions = getattr(pattern.callback, "actions", None) or {}
                if view_class and issubclass(view_class, TMFViewSet) and "list" in actions.values():
                    name = f"{namespace}:{pattern.name}" if namespace else pattern.name
                    found.append(reverse(name))

    walk(get_resolver().url_patterns, "", "")
    return sorted(set(found))


COLLECTIONS = tmf_collections()


def test_the_collections_are_found():
    assert len(COLLECTIONS) >= 25
    assert {PAYMENTS, ORDERS, TICKETS, ACCOUNTS, "/tmf-api/alarm/v4/alarm"} <= set(COLLECTIONS)


def ids_of(response) -> list[str]:
    assert response.status_code == 200, response.content
    return [row["id"] for row in response.json()]


# --- Filtering by id and href (TMF630) ---------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("url", COLLECTIONS)
def test_an_unknown_or_malformed_id_or_href_filters_to_nothing(admin_api, url):
    for value in ["987654321", "abc", "²", "٣", "-1", "1.5", str(BIGINT_MAX + 1), "1\x00", ""]:
        response = admin_api.get(url, {"id": value})
        assert (response.status_code, response.json()) == (200, []), (url, value)
        assert (response["X-Total-Count"], response["X-Result-Count"]) == ("0", "0")
    for href in [f"{url}/987654321", "/tmf-api/nowhere/v4/thing/1", "http://x/%00", "\x00"]:
        response = admin_api.get(url, {"href": href})
        assert (response.status_code, response.json()) == (200, []), (url, href)


@pytest.mark.django_db
def test_id_and_href_find_exactly_that_row_in_every_collection(admin_api):
    # The demo holds no orders: one, through the API, then the demo's rows.
    offering, account, _ = five_g_world()
    body = product_order_body(offering_id=offering.pk, party_id=account.customer_id)
    assert admin_api.post(ORDERS, body, format="json").status_code == 201
    call_command("seed_demo", customers=2, stdout=StringIO())
    failures, empty = {}, []
    for url in COLLECTIONS:
        rows = admin_api.get(url, {"limit": 3}).json()
        if not rows:
            empty.append(url)
            continue
        first, last = rows[0], rows[-1]
        path = first["href"].removeprefix("http://testserver")
        checks = {
            "id": ids_of(admin_api.get(url, {"id": first["id"]})) == [first["id"]],
            "id,id": sorted(ids_of(admin_api.get(url, {"id": f"{first['id']},{last['id']}"})))
            == sorted({first["id"], last["id"]}),
            "id,unknown": ids_of(admin_api.get(url, {"id": f"{first['id']},x,987654321"}))
            == [first["id"]],
            "href": ids_of(admin_api.get(url, {"href": first["href"]})) == [first["id"]],
            "href path": ids_of(admin_api.get(url, {"href": path})) == [first["id"]],
            "href path/": ids_of(admin_api.get(url, {"href": path + "/"})) == [first["id"]],
            "id and other href": ids_of(
                admin_api.get(url, {"id": first["id"], "href": last["href"]})
            )
            == ([first["id"]] if first["id"] == last["id"] else []),
            "body": admin_api.get(url, {"id": first["id"]}).json() == [first],
        }
        failed = [name for name, passed in checks.items() if not passed]
        if failed:
            failures[url] = failed

    assert failures == {}
    # The rule is exercised where it matters: the demo fills the key collections.
    key_collections = {PAYMENTS, ORDERS, ACCOUNTS, TICKETS, "/tmf-api/alarm/v4/alarm"}
    assert key_collections.isdisjoint(empty), empty
    assert len(COLLECTIONS) - len(empty) >= 20, empty


@pytest.mark.django_db
def test_an_href_of_another_collection_finds_nothing(admin_api):
    ticket = TroubleTicketFactory()
    account = BillingAccountFactory()
    ticket_href = f"http://testserver{TICKETS}/{ticket.pk}"

    assert ids_of(admin_api.get(TICKETS, {"href": ticket_href})) == [str(ticket.pk)]
    # Same id, other resource: not this row.
    assert ids_of(admin_api.get(ACCOUNTS, {"href": f"{TICKETS}/{account.pk}"})) == []
    assert ids_of(admin_api.get(ACCOUNTS, {"href": f"{ACCOUNTS}/{account.pk}"})) == [
        str(account.pk)
    ]


@pytest.mark.django_db
def test_id_combines_with_the_other_filters(admin_api):
    open_ticket = TroubleTicketFactory(priority=1)
    TroubleTicketFactory(priority=2)

    assert ids_of(admin_api.get(TICKETS, {"id": open_ticket.pk, "priority": "1"})) == [
        str(open_ticket.pk)
    ]
    assert ids_of(admin_api.get(TICKETS, {"id": open_ticket.pk, "priority": "2"})) == []


# --- Malformed input reaching the base is a 4xx naming the parameter ------------------------


def assert_error(response, status: int, field: str | None = None):
    assert response.status_code == status, response.content
    body = response.json()
    assert (body["@type"], body["status"]) == ("Error", str(status))
    if field is not None:
        assert list(body["errors"]) == [field], body


@pytest.mark.django_db
@pytest.mark.parametrize("url", COLLECTIONS)
def test_a_malformed_id_in_the_path_is_unknown(admin_api, url):
    for value in ["²", "٣", "1²", str(BIGINT_MAX + 1), "99999999999999999999", "1%00", "%00"]:
        assert_error(admin_api.get(f"{url}/{value}"), 404)


@pytest.mark.django_db
@pytest.mark.parametrize("parameter", ["offset", "limit"])
@pytest.mark.parametrize(
    "value", [str(BIGINT_MAX + 1), "99999999999999999999", "1" * 5000, "٣", "²", "1_0", "-1"]
)
def test_offset_and_limit_out_of_range_are_refused(admin_api, parameter, value):
    assert_error(admin_api.get(PAYMENTS, {parameter: value}), 400, parameter)


@pytest.mark.django_db
def test_an_offset_past_the_end_is_an_empty_page(admin_api):
    TroubleTicketFactory()

    for offset in ["1", str(BIGINT_MAX)]:
        response = admin_api.get(TICKETS, {"offset": offset, "limit": "1000"})
        assert (response.status_code, response.json()) == (200, [])
        assert (response["X-Total-Count"], response["X-Result-Count"]) == ("1", "0")


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("url", "parameter", "value"),
    [
        (PAYMENTS, "correlatorId", "BANK\x00-1"),
        (PAYMENTS, "status", "received,\x00"),
        (TICKETS, "status", "acknowledged\x00"),
        (TICKETS, "creationDate.gte", "2026-01-01\x00"),
        (TICKETS, "priority", "1\x00"),
        (ACCOUNTS, "name", "\x00"),
    ],
)
def test_a_nul_byte_in_a_filter_value_is_refused(admin_api, url, parameter, value):
    TroubleTicketFactory()

    assert_error(admin_api.get(url, {parameter: value}), 400, parameter)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("url", "parameter", "value"),
    [
        (TICKETS, "priority", "32768"),  # a smallint column
        (TICKETS, "priority", "1,99999999999999999999"),
        (TICKETS, "priority", "-1"),  # a positive column
        (TICKETS, "priority", "٣"),  # int() reads it as 3; a client meant no such thing
        (TICKETS, "relatedParty.id", str(BIGINT_MAX + 1)),
        (TICKETS, "relatedParty.id.gt", "99999999999999999999"),
        (TICKETS, "creationDate.gte", "9999-12-31T23:59:59-05:00"),
        (TICKETS, "creationDate.lt", "0001-01-01T00:00:00+01:00"),
        (TICKETS, "creationDate", "10000-01-01"),
    ],
)
def test_a_filter_value_the_column_cannot_hold_is_refused(admin_api, url, parameter, value):
    TroubleTicketFactory()

    assert_error(admin_api.get(url, {parameter: value}), 400, parameter)


# --- Idempotency-Key: claimed before the work, so twins never duplicate -------------------


def payment_body(account_id, value=25) -> dict:
    return {
        "account": {"id": str(account_id), "@referredType": "BillingAccount"},
        "paymentMethod": {"id": "bankTransfer"},
        "totalAmount": {"unit": "EUR", "value": value},
    }


def post_in_parallel(url: str, token: str, body: dict, key: str, count: int = 20) -> list:
    """`count` identical POSTs, each on its own connection, released at the same instant."""
    start = threading.Barrier(count)
    answers = [None] * count

    def post(index: int):
        start.wait()
        response = requests.post(
            url,
            json=body,
            headers={"Authorization": f"Token {token}", "Idempotency-Key": key},
            timeout=60,
        )
        answers[index] = (response.status_code, response.json(), response.headers.get("Location"))

    threads = [threading.Thread(target=post, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=90)
    return answers


def test_parallel_twins_of_a_payment_create_it_once(transactional_db, live_server, finance_user):
    account = BillingAccountFactory()
    token = Token.objects.create(user=finance_user).key

    answers = post_in_parallel(
        live_server.url + PAYMENTS, token, payment_body(account.pk), "pay-twins"
    )

    payment = Payment.objects.get()
    assert Counter(status for status, _, _ in answers) == {201: 20}
    assert all(answer == answers[0] for answer in answers)
    assert answers[0][1]["id"] == str(payment.pk)
    assert answers[0][2] == f"{live_server.url}{PAYMENTS}/{payment.pk}"
    assert IdempotentRequest.objects.get().state == "done"


def test_parallel_twins_of_a_product_order_create_it_once(
    transactional_db, live_server, agent_user
):
    offering, account, _ = five_g_world()
    token = Token.objects.create(user=agent_user).key
    body = product_order_body(offering_id=offering.pk, party_id=account.customer_id)

    answers = post_in_parallel(live_server.url + ORDERS + "/", token, body, "order-twins")

    order = ProductOrder.objects.get()
    assert Counter(status for status, _, _ in answers) == {201: 20}
    assert all(answer[1]["id"] == str(order.pk) for answer in answers)
    assert all(answer == answers[0] for answer in answers)


@pytest.mark.django_db
def test_the_key_is_one_with_and_without_the_trailing_slash(finance_api):
    account = BillingAccountFactory()
    headers = {"Idempotency-Key": "slash"}

    first = finance_api.post(PAYMENTS, payment_body(account.pk), format="json", headers=headers)
    again = finance_api.post(
        PAYMENTS + "/", payment_body(account.pk), format="json", headers=headers
    )

    assert (first.status_code, again.status_code) == (201, 201)
    assert again.json() == first.json()
    assert again["Location"] == first["Location"]
    assert Payment.objects.count() == 1
    assert IdempotentRequest.objects.get().path == PAYMENTS


@pytest.mark.django_db
def test_the_key_with_another_body_is_refused_and_changes_nothing(finance_api):
    account = BillingAccountFactory()
    headers = {"Idempotency-Key": "k-body"}
    first = finance_api.post(PAYMENTS, payment_body(account.pk, 25), format="json", headers=headers)

    other = finance_api.post(PAYMENTS, payment_body(account.pk, 26), format="json", headers=headers)

    assert first.status_code == 201
    assert_error(other, 422, "Idempotency-Key")
    assert "different request body" in other.json()["message"]
    assert list(Payment.objects.values_list("amount", flat=True)) == [25]


@pytest.mark.django_db
def test_a_failed_attempt_releases_the_key_for_a_retry(finance_api):
    account = BillingAccountFactory()
    headers = {"Idempotency-Key": "k-retry"}
    bad = payment_body(account.pk)
    bad["totalAmount"] = None

    refused = finance_api.post(PAYMENTS, bad, format="json", headers=headers)
    assert_error(refused, 400, "totalAmount")
    assert IdempotentRequest.objects.count() == 0
    assert Payment.objects.count() == 0

    retried = finance_api.post(PAYMENTS, payment_body(account.pk), format="json", headers=headers)
    assert retried.status_code == 201
    assert Payment.objects.count() == 1


@pytest.mark.django_db
def test_the_key_is_per_client(finance_api, roles):
    colleague = get_user_model().objects.create_user(username="finance2")
    colleague.groups.add(roles[FINANCE])
    colleague_api = APIClient()
    colleague_api.force_authenticate(colleague)
    account = BillingAccountFactory()
    headers = {"Idempotency-Key": "shared-key"}

    mine = finance_api.post(PAYMENTS, payment_body(account.pk), format="json", headers=headers)
    theirs = colleague_api.post(PAYMENTS, payment_body(account.pk), format="json", headers=headers)

    assert (mine.status_code, theirs.status_code) == (201, 201)
    assert mine.json()["id"] != theirs.json()["id"]
    assert Payment.objects.count() == 2


@pytest.mark.django_db
def test_an_overlong_key_is_refused(finance_api):
    account = BillingAccountFactory()

    response = finance_api.post(
        PAYMENTS, payment_body(account.pk), format="json", headers={"Idempotency-Key": "k" * 201}
    )

    assert_error(response, 400, "Idempotency-Key")
    assert Payment.objects.count() == 0


@pytest.mark.django_db
def test_a_twin_still_in_progress_past_the_wait_is_a_conflict(
    finance_api, finance_user, monkeypatch
):
    monkeypatch.setattr(idempotency, "WAIT_SECONDS", 0.2)
    account = BillingAccountFactory()
    body = payment_body(account.pk)
    IdempotentRequest.objects.create(
        user=finance_user,
        path=PAYMENTS,
        key="k-slow",
        state="inProgress",
        request_hash=idempotency.request_fingerprint(body),
    )

    response = finance_api.post(
        PAYMENTS, body, format="json", headers={"Idempotency-Key": "k-slow"}
    )

    assert_error(response, 409, "Idempotency-Key")
    assert "still in progress" in response.json()["message"]
    assert Payment.objects.count() == 0


@pytest.mark.django_db
def test_a_claim_abandoned_by_a_dead_process_is_taken_over(finance_api, finance_user):
    account = BillingAccountFactory()
    body = payment_body(account.pk)
    IdempotentRequest.objects.create(
        user=finance_user,
        path=PAYMENTS,
        key="k-dead",
        state="inProgress",
        request_hash=idempotency.request_fingerprint(body),
        created_at=clock.now() - timedelta(minutes=6),
    )

    response = finance_api.post(
        PAYMENTS, body, format="json", headers={"Idempotency-Key": "k-dead"}
    )

    assert response.status_code == 201
    payment = Payment.objects.get()
    claim = IdempotentRequest.objects.get()
    assert (claim.state, claim.status_code, claim.body["id"]) == ("done", 201, str(payment.pk))
