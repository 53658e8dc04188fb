"""Events (telco.events): the /hub of every TMF API, the outbox the triggers write, and delivery
to a real listener (an HTTP server this test starts) by a real Celery worker."""

import hashlib
import hmac
import json
import threading
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.db import transaction

from assurance.services.alarms import alarm_raise
from inventory.tests.factories import GnbFactory
from orders.tests.factories import five_g_world, product_order_body
from telco.events.models import EventListener, ListenerState, OutboxEvent
from telco.events.registry import tmf_apis
from telco.testing import wait_for

ORDERS = "/tmf-api/productOrderingManagement/v4/productOrder"
ALARMS = "/tmf-api/alarmManagement/v4/alarm"
# Every TMF API base path the product serves has a hub; a new API without one fails here.
APIS = [
    "accountManagement",
    "alarm",
    "alarmManagement",
    "customerBillManagement",
    "customerManagement",
    "party",
    "partyInteraction",
    "paymentManagement",
    "prepayBalanceManagement",
    "productCatalogManagement",
    "productInventory",
    "productOrderingManagement",
    "resourceCatalogManagement",
    "resourceInventoryManagement",
    "serviceCatalogManagement",
    "serviceInventory",
    "serviceOrdering",
    "serviceProblemManagement",
    "serviceQualificationManagement",
    "serviceQualityManagement",
    "troubleTicket",
    "usageManagement",
]


class Listener:
    """A listener system: records every post; answers `status` (500: down for a while)."""

    def __init__(self):
        self.received: list[dict] = []
        self.status = 200
        self.lock = threading.Lock()
        listener = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers["Content-Length"]))
                with listener.lock:
                    status = listener.status
                    if status == 200:
                        listener.received.append(
                            {
                                "path": self.path,
                                "signature": self.headers.get("X-Hub-Signature-256"),
                                "raw": body,
                                "body": json.loads(body),
                            }
                        )
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def events(self, event_type: str | None = None) -> list[dict]:
        with self.lock:
            bodies = [each["body"] for each in self.received]
        return [b for b in bodies if event_type is None or b["eventType"] == event_type]


@pytest.fixture
def listener():
    server = Listener()
    yield server
    server.server.shutdown()


def _subscribe(client, api: str, callback: str, query: str = "") -> dict:
    answer = client.post(
        f"/tmf-api/{api}/v4/hub", {"callback": callback, "query": query}, format="json"
    )
    assert answer.status_code == 201, answer.data
    return answer.data


def test_every_tmf_api_has_a_hub():
    assert sorted(tmf_apis()) == APIS


@pytest.mark.parametrize("api", APIS)
def test_hub_registers_and_deletes_a_listener(api, admin_api, anonymous_api):
    hub = f"/tmf-api/{api}/v4/hub"
    assert anonymous_api.post(hub, {"callback": "http://x.test/"}, format="json").status_code == 401

    bad = admin_api.post(hub, {"callback": "ftp://x.test/"}, format="json")
    assert bad.status_code == 400
    assert list(bad.data["errors"]) == ["callback"]
    assert not EventListener.objects.exists()

    created = admin_api.post(hub, {"callback": "https://crm.example/hooks"}, format="json")
    assert created.status_code == 201
    assert created.data["callback"] == "https://crm.example/hooks"
    assert created.data["query"] == ""
    assert len(created.data["secret"]) == 64
    assert created["Location"].endswith(f"{hub}/{created.data['id']}")
    assert EventListener.objects.get().api == api

    assert admin_api.delete(f"{hub}/{created.data['id']}").status_code == 204
    assert admin_api.delete(f"{hub}/{created.data['id']}").status_code == 404
    assert not EventListener.objects.exists()


def test_who_may_listen_and_what_a_query_may_say(agent_api, noc_api, finance_api, risk_api):
    hub = "/tmf-api/alarmManagement/v4/hub"
    # A role that may read the API may listen to it; finance and risk may not read alarms.
    assert finance_api.post(hub, {"callback": "http://x.test"}, format="json").status_code == 403
    assert risk_api.post(hub, {"callback": "http://x.test"}, format="json").status_code == 403
    created = _subscribe(noc_api, "alarmManagement", "http://x.test", "eventType=AlarmCreateEvent")
    assert EventListener.objects.get(pk=created["id"]).event_types == ["AlarmCreateEvent"]
    # Someone else's API: another role's listener is not found through it.
    assert agent_api.delete(f"/tmf-api/party/v4/hub/{created['id']}").status_code == 404
    assert noc_api.post("/tmf-api/nothing/v4/hub", {"callback": "http://x"}).status_code == 404

    for query in ("eventType=ProductOrderCreateEvent", "colour=blue", "eventType="):
        refused = noc_api.post(hub, {"callback": "http://x.test", "query": query}, format="json")
        assert refused.status_code == 400, query
        assert list(refused.data["errors"]) == ["query"]
    states = _subscribe(agent_api, "productOrderingManagement", "http://x.test", "state=completed")
    assert EventListener.objects.get(pk=states["id"]).states == ["completed"]
    assert EventListener.objects.count() == 2


def test_the_outbox_is_written_only_while_someone_listens_and_only_on_commit(admin_api):
    gnb = GnbFactory()

    def raise_alarm(problem: str):
        return alarm_raise(
            source_system_id="ems-1",
            alarmed_object_id=str(gnb.pk),
            alarm_type="communicationsAlarm",
            perceived_severity="major",
            probable_cause="lossOfSignal",
            alarm_raised_time=datetime(2026, 11, 24, 10, tzinfo=UTC),
            specific_problem=problem,
            by="test",
        )[0]

    raise_alarm("nobody listens")
    assert not OutboxEvent.objects.exists()

    _subscribe(admin_api, "productInventory", "http://x.test")
    raise_alarm("only a product listener")
    assert not OutboxEvent.objects.exists()

    _subscribe(admin_api, "alarm", "http://x.test")
    with transaction.atomic():
        raise_alarm("rolled back")
        assert OutboxEvent.objects.filter(kind="create").count() == 1
        transaction.set_rollback(True)
    assert not OutboxEvent.objects.exists()

    alarm = raise_alarm("kept")
    # Raised, then (same transaction) its impact written on it: a create, then a change.
    assert list(
        OutboxEvent.objects.order_by("id").values_list("resource_type", "resource_id", "kind")
    )[0] == ("alarm", str(alarm.pk), "create")
    assert set(OutboxEvent.objects.values_list("resource_id", flat=True)) == {str(alarm.pk)}


def _verified(listener: Listener, secret: str) -> list[dict]:
    for each in listener.received:
        expected = "sha256=" + hmac.new(secret.encode(), each["raw"], hashlib.sha256).hexdigest()
        assert each["signature"] == expected
        name = each["body"]["eventType"]
        assert each["path"] == f"/hooks/listener/{name[0].lower()}{name[1:]}"
    return listener.events()


def test_an_order_and_an_alarm_storm_arrive_once_in_order_and_signed(
    celery_worker, agent_api, noc_api, listener
):
    orders = _subscribe(agent_api, "productOrderingManagement", listener.url)
    completed_only = Listener()
    _subscribe(agent_api, "productOrderingManagement", completed_only.url, "state=completed")
    offering, account, gnb = five_g_world()
    created = agent_api.post(
        ORDERS,
        product_order_body(offering_id=offering.pk, party_id=account.customer_id),
        format="json",
    )
    assert created.status_code == 201
    order_id = created.data["id"]

    def order_events():
        events = listener.events()
        done = [e for e in events if e["eventType"] == "ProductOrderStateChangeEvent"]
        return events if done and done[-1]["event"]["productOrder"]["state"] == "completed" else []

    events = wait_for(order_events, timeout=40)
    events = _verified(listener, orders["secret"])
    ids = [int(e["eventId"]) for e in events]
    assert ids == sorted(set(ids))  # once each, in order
    mine = [e for e in events if "productOrder" in e["event"]]
    assert {e["event"]["productOrder"]["id"] for e in mine} == {order_id}
    assert mine[0]["eventType"] == "ProductOrderCreateEvent"
    assert mine[0]["event"]["productOrder"]["state"] == "acknowledged"
    states = [
        e["event"]["productOrder"]["state"]
        for e in mine
        if e["eventType"] == "ProductOrderStateChangeEvent"
    ]
    assert states == ["inProgress", "completed"]
    kinds = {e["eventType"] for e in mine}
    assert kinds <= {
        "ProductOrderCreateEvent",
        "ProductOrderStateChangeEvent",
        "ProductOrderAttributeValueChangeEvent",
    }
    assert mine[-1]["event"]["productOrder"]["completionDate"] is not None
    # The filtered listener got the completion only.
    wait_for(lambda: completed_only.events(), timeout=10)
    assert [e["event"]["productOrder"]["state"] for e in completed_only.events()] == ["completed"]
    completed_only.server.shutdown()

    # An attribute change (the customer's name, by PATCH) reaches a customer listener.
    customers = Listener()
    _subscribe(agent_api, "customerManagement", customers.url)
    patched = agent_api.patch(
        f"/tmf-api/customerManagement/v4/customer/{account.customer_id}",
        {"name": "Renamed Ltd"},
        format="json",
    )
    assert patched.status_code == 200, patched.data
    change = wait_for(lambda: customers.events(), timeout=10)
    assert [(e["eventType"], e["event"]["customer"]["name"]) for e in change] == [
        ("CustomerAttributeValueChangeEvent", "Renamed Ltd")
    ]
    customers.server.shutdown()

    # A batch of alarms (one request, set-based) arrives as one AlarmCreateEvent each.
    alarms = Listener()
    alarm_hub = _subscribe(noc_api, "alarmManagement", alarms.url, "eventType=AlarmCreateEvent")
    batch = [_alarm(gnb.pk, f"problem {n}") for n in range(20)]
    stored = noc_api.post(ALARMS, batch, format="json")
    assert stored.status_code in (200, 201), stored.data
    wait_for(lambda: len(alarms.events()) >= 20, timeout=15)
    created_alarms = _verified(alarms, alarm_hub["secret"])
    assert len(created_alarms) == 20
    assert {e["eventType"] for e in created_alarms} == {"AlarmCreateEvent"}
    assert sorted(e["event"]["alarm"]["specificProblem"] for e in created_alarms) == sorted(
        f"problem {n}" for n in range(20)
    )
    alarms.server.shutdown()


def _alarm(object_id, problem: str) -> dict:
    return {
        "alarmRaisedTime": "2026-11-24T10:00:00Z",
        "alarmType": "communicationsAlarm",
        "alarmedObject": {"id": str(object_id)},
        "perceivedSeverity": "critical",
        "probableCause": "lossOfSignal",
        "specificProblem": problem,
        "sourceSystemId": "ems-north",
        "state": "raised",
    }


def test_a_listener_down_gets_everything_later_and_one_that_keeps_failing_is_suspended(
    restartable_celery_worker, noc_api, admin_client, listener
):
    restartable_celery_worker.restart(
        EVENT_RETRY_BACKOFF_SECONDS="0.2",
        EVENT_RETRY_BACKOFF_MAX_SECONDS="0.5",
        EVENT_MAX_FAILURES="6",
    )
    gnb = GnbFactory()
    hub = _subscribe(noc_api, "alarmManagement", listener.url, "eventType=AlarmCreateEvent")
    record = EventListener.objects.get(pk=hub["id"])

    # Down for a while (500s), then back: everything arrives, in order, once.
    listener.status = 500
    for n in range(5):
        assert noc_api.post(ALARMS, _alarm(gnb.pk, f"down {n}"), format="json").status_code == 201
    wait_for(lambda: EventListener.objects.get(pk=record.pk).failures >= 2, timeout=10)
    listener.status = 200
    wait_for(lambda: len(listener.events()) >= 5, timeout=15)
    events = _verified(listener, hub["secret"])
    assert [e["event"]["alarm"]["specificProblem"] for e in events] == [
        f"down {n}" for n in range(5)
    ]
    # The worker records the delivery once the listener has answered: wait for its commit.
    wait_for(lambda: EventListener.objects.get(pk=record.pk).delivered_count >= 5, timeout=15)
    record.refresh_from_db()
    assert (record.state, record.failures, record.delivered_count) == ("active", 0, 5)

    # Failing past the limit: suspended, its events kept (dead letters), replayed on resume.
    listener.status = 500
    for n in range(3):
        noc_api.post(ALARMS, _alarm(gnb.pk, f"dead {n}"), format="json")
    wait_for(
        lambda: EventListener.objects.get(pk=record.pk).state == ListenerState.SUSPENDED,
        timeout=20,
    )
    record.refresh_from_db()
    assert record.failures == 6
    assert "HTTP 500" in record.last_error
    from telco.events.delivery import pending_count

    assert pending_count(record) >= 3
    listing = admin_client.get("/admin/telco/eventlistener/")
    assert listing.status_code == 200
    assert b"suspended" in listing.content

    listener.status = 200
    resumed = admin_client.post(
        "/admin/telco/eventlistener/",
        {"action": "resume_and_replay", "_selected_action": [record.pk]},
    )
    assert resumed.status_code == 302
    wait_for(lambda: len(listener.events()) >= 8, timeout=15)
    problems = [e["event"]["alarm"]["specificProblem"] for e in listener.events()]
    assert problems == [f"down {n}" for n in range(5)] + [f"dead {n}" for n in range(3)]
    record.refresh_from_db()
    assert (record.state, record.failures) == ("active", 0)


def test_every_published_resource_renders_as_its_api_shows_it(admin_api):
    from billing.tests.factories import active_product, usage_event
    from crm.tests.factories import OrganizationFactory, TroubleTicketFactory
    from telco.events.delivery import render
    from telco.events.models import EventKind
    from telco.events.registry import resources

    offering, account, gnb = five_g_world()
    body = product_order_body(offering_id=offering.pk, party_id=account.customer_id)
    assert admin_api.post(ORDERS, body, format="json").status_code == 201
    started = datetime(2026, 11, 1, tzinfo=UTC)
    product = active_product(account=account, start_date=started, offering=offering)
    usage_event(product=product, usage_date=started, gigabytes="1.5")
    TroubleTicketFactory()
    OrganizationFactory()
    noc_alarm = _alarm(gnb.pk, "render")
    assert admin_api.post(ALARMS, noc_alarm, format="json").status_code == 201
    published = resources()
    events, missing = [], []
    for number, (name, resource) in enumerate(sorted(published.items())):
        row = resource.read_queryset().first()
        if row is None:
            missing.append(name)
            continue
        for kind in (EventKind.CREATE, EventKind.DELETE):
            events.append(
                OutboxEvent(
                    id=2 * number + (kind == EventKind.DELETE),
                    txid=1,
                    resource_type=name,
                    resource_id=str(row.pk),
                    kind=kind,
                    new_state=None,
                    occurred_at=datetime(2026, 11, 24, tzinfo=UTC),
                )
            )
    envelopes = render(events, published)
    # (With `seed_demo` these render too; it costs seconds this test need not spend.)
    assert set(missing) <= {
        "cancelProductOrder",
        "customerBill",
        "payment",
        "serviceOrder",
        "serviceProblem",
    }
    for envelope, event in zip(envelopes, events, strict=True):
        ((name, shown),) = envelope["event"].items()
        assert name == event.resource_type
        assert envelope["eventId"] == str(event.id)
        assert envelope["eventType"].startswith(name[0].upper() + name[1:])
        assert shown["id"] == event.resource_id
        if event.kind == EventKind.DELETE:
            assert set(shown) == {"id", "href"}
            assert shown["href"].endswith(f"/{name}/{event.resource_id}"), shown
        else:
            # The API's own representation: the same as a GET of its href.
            assert admin_api.get(shown["href"]).json()["id"] == shown["id"], name


def test_retention_keeps_what_a_listener_has_not_passed(admin_api):
    from datetime import timedelta

    from django.utils import timezone

    from telco.events.services import outbox_prune

    old = timezone.now() - timedelta(days=8)
    rows = OutboxEvent.objects.bulk_create(
        OutboxEvent(
            txid=1,
            resource_type="alarm",
            resource_id=str(n),
            kind="create",
            occurred_at=old if n < 3 else timezone.now(),
        )
        for n in range(4)
    )
    hub = _subscribe(admin_api, "alarmManagement", "http://x.test")
    EventListener.objects.filter(pk=hub["id"]).update(cursor=rows[1].id)

    assert outbox_prune(days=7) == 2  # old and passed; the third is old but still pending
    assert list(OutboxEvent.objects.values_list("resource_id", flat=True).order_by("id")) == [
        "2",
        "3",
    ]
    EventListener.objects.all().delete()
    assert outbox_prune(days=7) == 1


def test_an_event_committed_later_below_a_delivered_one_is_never_skipped(
    transactional_db, admin_api, listener
):
    """Ids are taken in trigger order, commits happen in another: delivery waits for the
    writer still running below, then posts both, in id order."""
    from django.db import connection

    from assurance.models import Alarm
    from telco.events.delivery import deliver_listener

    gnb = GnbFactory()
    for problem in ("first", "second"):
        assert admin_api.post(ALARMS, _alarm(gnb.pk, problem), format="json").status_code == 201
    first, second = Alarm.objects.order_by("id").values_list("id", flat=True)
    hub = _subscribe(admin_api, "alarmManagement", listener.url)
    first_written, may_commit = threading.Event(), threading.Event()

    def slow_writer():
        with transaction.atomic():
            Alarm.objects.filter(pk=first).update(alarm_details="written first, committed last")
            first_written.set()
            may_commit.wait(10)
        connection.close()

    writer = threading.Thread(target=slow_writer)
    writer.start()
    assert first_written.wait(10)
    Alarm.objects.filter(pk=second).update(alarm_details="written last, committed first")

    assert deliver_listener(int(hub["id"])) == 0  # the second waits behind the first
    assert listener.events() == []
    may_commit.set()
    writer.join(10)
    assert deliver_listener(int(hub["id"])) == 2
    events = _verified(listener, hub["secret"])
    assert [(e["eventType"], e["event"]["alarm"]["id"]) for e in events] == [
        ("AlarmAttributeValueChangeEvent", str(first)),
        ("AlarmAttributeValueChangeEvent", str(second)),
    ]
