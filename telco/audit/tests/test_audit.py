"""The audit trail: who changed what, when, from where (api, admin, page, task), with before and
after, through the API, admin, a real worker and set-based SQL; the audit API's filters and
roles; the History sections; bills, lines and payments the database refuses to edit."""

from datetime import UTC, date, datetime, timedelta
from html.parser import HTMLParser

import pytest
from django.db import DatabaseError, connection, transaction
from django.test.utils import CaptureQueriesContext

from assurance.models import Alarm, Incident
from assurance.tests.test_alarm_api import ALARMS, alarm_body
from billing.models import AppliedCharge, BillRun, CustomerBill, Payment
from billing.services import bill_run_start, billing_period
from billing.tests.factories import active_product
from crm.tests.factories import BillingAccountFactory, CustomerFactory, IndividualFactory
from inventory.tests.factories import GnbFactory
from orders.tests.factories import five_g_world, product_order_body
from telco import clock
from telco.testing import wait_for

AUDIT = "/api/v1/audit"
CUSTOMER = "/tmf-api/customerManagement/v4/customer"
PAYMENT = "/tmf-api/paymentManagement/v4/payment"
ACK = "/tmf-api/alarmManagement/v4/ackAlarms"
RUNS = "/api/v1/billing/billRun"
ORDERS = "/tmf-api/productOrderingManagement/v4/productOrder"


def changes(event) -> dict:
    return {change["field"]: (change["before"], change["after"]) for change in event["changes"]}


@pytest.mark.django_db
def test_an_api_change_is_recorded_with_who_and_before_after_and_shown(
    agent_api, agent_user, admin_api, finance_api, anonymous_api, agent_client
):
    customer = CustomerFactory(name="Old name")
    BillingAccountFactory(customer=customer)
    response = agent_api.patch(f"{CUSTOMER}/{customer.pk}", {"name": "New name"}, format="json")
    assert response.status_code == 200, response.json()

    answer = admin_api.get(AUDIT, {"model": "crm.Customer", "objectId": customer.pk})
    assert answer.status_code == 200, answer.json()
    update, insert = answer.json()
    assert (insert["action"], update["action"]) == ("insert", "update")
    assert changes(update)["name"] == ("Old name", "New name")
    assert update["user"] == agent_user.username
    assert update["source"] == "api"
    assert update["context"]["method"] == "PATCH"
    assert update["context"]["url"] == f"{CUSTOMER}/{customer.pk}"
    assert answer["X-Total-Count"] == "2"
    # Filters: by user, by time, by model name alone; paging.
    mine = admin_api.get(AUDIT, {"model": "customer", "user": agent_user.username}).json()
    assert [e["id"] for e in mine] == [update["id"]]
    assert admin_api.get(AUDIT, {"model": "customer", "user": "nobody"}).json() == []
    later = (clock.now() + timedelta(hours=1)).isoformat()
    assert admin_api.get(AUDIT, {"model": "customer", "since": later}).json() == []
    paged = admin_api.get(AUDIT, {"model": "customer", "objectId": customer.pk, "limit": 1})
    assert (paged["X-Total-Count"], paged["X-Result-Count"]) == ("2", "1")
    # Bad input: field-level 400s.
    bad = admin_api.get(AUDIT, {"model": "crm.Nothing"})
    assert bad.status_code == 400
    assert "model" in bad.json()["errors"]
    bad = admin_api.get(AUDIT, {"objectId": customer.pk})
    assert bad.status_code == 400
    assert "objectId" in bad.json()["errors"]
    bad = admin_api.get(AUDIT, {"colour": "red"})
    assert bad.status_code == 400
    assert "colour" in bad.json()["errors"]
    selected = admin_api.get(AUDIT, {"model": "customer", "fields": "action"}).json()
    assert {key for event in selected for key in event} == {"id", "action"}
    bad = admin_api.get(AUDIT, {"since": "yesterday"})
    assert bad.status_code == 400
    assert "since" in bad.json()["errors"]
    # Roles: admins read everything; finance the money models only; others nothing.
    assert finance_api.get(AUDIT, {"model": "crm.Customer"}).status_code == 403
    assert finance_api.get(AUDIT, {"model": "crm.BillingAccount"}).status_code == 200
    assert {e["model"] for e in finance_api.get(AUDIT).json()} == {"crm.billingaccount"}
    assert agent_api.get(AUDIT).status_code == 403
    assert anonymous_api.get(AUDIT).status_code in (401, 403)
    # The customer 360 page shows it.
    page = agent_client.get(f"/portal/customers/{customer.pk}/").content.decode()
    assert "Audit history" in page
    assert "Old name → New name" in page

    # The list reads in a fixed number of queries, however many events and users.
    with CaptureQueriesContext(connection) as few:
        admin_api.get(AUDIT)
    for n in range(5):
        agent_api.patch(f"{CUSTOMER}/{customer.pk}", {"name": f"Name {n}"}, format="json")
        admin_api.patch(f"{CUSTOMER}/{customer.pk}", {"name": f"Admin {n}"}, format="json")
    with CaptureQueriesContext(connection) as many:
        assert len(admin_api.get(AUDIT).json()) > 12
    assert len(many.captured_queries) == len(few.captured_queries)


class _FormFields(HTMLParser):
    """The values a browser would submit from the page's change form."""

    def __init__(self):
        super().__init__()
        self.data, self._select, self._textarea = {}, None, None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        name = attrs.get("name")
        if tag == "input" and name and attrs.get("type") not in ("submit", "button", "file"):
            if attrs.get("type") in ("checkbox", "radio") and "checked" not in attrs:
                return
            checkable = attrs.get("type") in ("checkbox", "radio")
            self.data[name] = attrs.get("value") or ("on" if checkable else "")
        elif tag == "select" and name:
            self._select = name
            self.data.setdefault(name, "")
        elif tag == "option" and self._select and "selected" in attrs:
            self.data[self._select] = attrs.get("value", "")
        elif tag == "textarea" and name:
            self._textarea = name
            self.data[name] = ""

    def handle_endtag(self, tag):
        if tag == "select":
            self._select = None
        elif tag == "textarea":
            self._textarea = None

    def handle_data(self, data):
        if self._textarea:
            self.data[self._textarea] += data.lstrip("\n")


@pytest.mark.django_db
def test_an_admin_change_is_recorded_as_admin_and_shown_in_its_history_tab(
    admin_client, admin_user
):
    party = IndividualFactory(given_name="Ann")
    url = f"/admin/crm/party/{party.pk}/change/"
    form = _FormFields()
    form.feed(admin_client.get(url).content.decode())
    form.data["given_name"] = "Anna"

    response = admin_client.post(url, form.data)

    assert response.status_code == 302
    assert response["Location"] == "/admin/crm/party/"
    history = admin_client.get(f"/admin/crm/party/{party.pk}/history/")
    event = next(e for e in history.context["audit_events"] if e.action == "update")
    assert (event.source, event.user) == ("admin", admin_user.username)
    assert ("given_name", "Ann", "Anna") in [(c.field, c.before, c.after) for c in event.changes]
    assert "Ann → Anna" in history.content.decode()


@pytest.mark.django_db
def test_set_based_alarm_ack_is_recorded_per_alarm_but_not_dedup_bumps(
    noc_api, noc_user, admin_api
):
    gnb = GnbFactory(name="gnb-audit-1")
    raised = [
        noc_api.post(ALARMS, alarm_body(gnb.pk, probableCause=cause), format="json").json()
        for cause in ("lossOfSignal", "powerProblem")
    ]
    # A repeat of the same fault only counts: not a human-relevant change, no event.
    noc_api.post(ALARMS, alarm_body(gnb.pk, probableCause="lossOfSignal"), format="json")
    assert Alarm.objects.get(pk=raised[0]["id"]).occurrence_count == 2

    response = noc_api.post(
        ACK,
        {"ackUserId": "jane", "alarmPattern": [{"alarmedObject": {"id": "gnb-audit-1"}}]},
        format="json",
    )
    assert response.status_code == 201, response.json()

    events = admin_api.get(AUDIT, {"model": "assurance.Alarm"}).json()
    assert sorted(e["action"] for e in events) == ["insert", "insert", "update", "update"]
    for event in (e for e in events if e["action"] == "update"):
        assert changes(event)["ack_state"] == ("unacknowledged", "acknowledged")
        assert changes(event)["ack_user_id"] == ("", "jane")
        assert (event["user"], event["source"]) == (noc_user.username, "api")
        assert event["context"]["url"] == ACK


@pytest.mark.django_db
def test_a_bulk_feed_records_each_severity_change_once_and_correlation_none(noc_api, admin_api):
    gnbs = [GnbFactory(name=f"gnb-audit-bulk-{n}") for n in range(3)]
    first = [alarm_body(gnb.pk, perceivedSeverity="major") for gnb in gnbs]
    assert noc_api.post(ALARMS, first, format="json").status_code == 200
    # Repeats: two raise the severity, one only counts. The statement-level trigger writes the
    # two changes (and nothing for correlation's incident assignment of the three alarms).
    again = [
        alarm_body(gnb.pk, perceivedSeverity=severity)
        for gnb, severity in zip(gnbs, ["critical", "major", "critical"], strict=True)
    ]
    answer = noc_api.post(ALARMS, again, format="json")
    assert answer.status_code == 200, answer.json()
    assert answer.json()["deduplicated"] == 3
    assert Alarm.objects.filter(incident__isnull=False).count() == 3

    events = admin_api.get(AUDIT, {"model": "assurance.Alarm", "limit": 50}).json()
    assert sorted(e["action"] for e in events) == ["insert"] * 3 + ["update"] * 2
    changed = {e["objectId"] for e in events if e["action"] == "update"}
    severities = dict(Alarm.objects.values_list("pk", "perceived_severity"))
    assert {int(pk) for pk in changed} == {pk for pk, s in severities.items() if s == "critical"}
    for event in (e for e in events if e["action"] == "update"):
        assert changes(event)["perceived_severity"] == ("major", "critical")


@pytest.mark.django_db
def test_bills_lines_and_payments_refuse_edits_of_their_money(
    finance_api, admin_api, finance_client
):
    product = active_product(start_date=datetime(2026, 9, 1, tzinfo=UTC))
    bill_run_start(as_of=date(2026, 11, 1))
    bill = CustomerBill.objects.filter(billing_account=product.billing_account).earliest("pk")
    paid = finance_api.post(
        PAYMENT,
        {
            "account": {"id": str(bill.billing_account_id), "@referredType": "BillingAccount"},
            "paymentMethod": {"id": "bankTransfer"},
            "totalAmount": {"unit": bill.currency, "value": str(bill.tax_included_amount)},
        },
        format="json",
    )
    assert paid.status_code == 201, paid.json()
    payment = Payment.objects.get()

    refused = [
        lambda: CustomerBill.objects.filter(pk=bill.pk).update(tax_amount=0),
        lambda: CustomerBill.objects.filter(pk=bill.pk).update(bill_date=clock.now()),
        lambda: CustomerBill.objects.filter(pk=bill.pk).update(bill_no="INV-X"),
        lambda: AppliedCharge.objects.filter(bill=bill).update(name="changed"),
        lambda: Payment.objects.filter(pk=payment.pk).update(amount=1),
    ]
    for edit in refused:
        with pytest.raises(DatabaseError, match="pgtrigger"), transaction.atomic():
            edit()
    # State and what remains to pay stay writable (payments, refunds, holds move them).
    CustomerBill.objects.filter(pk=bill.pk).update(state="onHold")
    Payment.objects.filter(pk=payment.pk).update(state="allocated")

    events = admin_api.get(AUDIT, {"model": "customerBill", "objectId": bill.pk}).json()
    moves = [changes(e) for e in events if e["action"] == "update"]
    assert moves
    assert all(set(m) <= {"state", "remaining_amount"} for m in moves)
    assert moves[-1]["state"] == ("new", "settled")
    assert moves[-1]["remaining_amount"][1] == 0
    assert moves[0] == {"state": ("settled", "onHold")}
    assert finance_api.get(AUDIT, {"model": "billing.Payment"}).status_code == 200
    page = finance_client.get(f"/portal/bills/{bill.pk}/").content.decode()
    assert "Audit history" in page
    assert "remaining_amount" in page


def test_a_task_on_the_real_worker_is_recorded_as_task(celery_worker, finance_api, admin_api):
    current, _ = billing_period(bill_cycle_day=1, at=clock.now())
    previous, _ = billing_period(bill_cycle_day=1, at=current - timedelta(days=1))
    product = active_product(start_date=previous)

    response = finance_api.post(
        RUNS,
        {"asOf": clock.now().date().isoformat(), "billingAccount": product.billing_account_id},
        format="json",
    )
    assert response.status_code == 202, response.data
    wait_for(lambda: BillRun.objects.filter(pk=response.data["id"], state="completed").first(), 30)

    (event,) = admin_api.get(AUDIT, {"model": "billing.CustomerBill"}).json()
    assert (event["action"], event["source"], event["user"]) == ("insert", "task", "")
    assert event["context"]["task"].startswith("billing.")
    assert event["values"]["billing_account_id"] == product.billing_account_id


@pytest.mark.django_db
def test_order_and_incident_pages_show_their_history(agent_api, agent_client, noc_client):
    offering, account, _ = five_g_world()
    body = product_order_body(
        offering_id=offering.pk, party_id=account.customer_id, account_id=account.pk
    )
    created = agent_api.post(ORDERS, body, format="json")
    assert created.status_code == 201, created.json()
    page = agent_client.get(f"/portal/orders/{created.json()['id']}/").content.decode()
    assert "Audit history" in page
    assert "orders.productorderitem" in page  # the order's items are in its history
    incident = Incident.objects.create(name="Fibre cut", first_alarm_time=clock.now())
    page = noc_client.get(f"/noc/incidents/{incident.pk}/").content.decode()
    assert "Audit history" in page
    assert "assurance.incident" in page


@pytest.mark.django_db(transaction=True)
def test_a_task_context_set_once_holds_through_transactions_and_rollbacks(admin_api):
    """A task's context, set on the session when it starts (outside any transaction, so not
    again before each one), is on every change of the task, also after a rolled-back
    transaction changed it; the next task's is its own."""
    from crm.models import Customer
    from telco.audit.context import audit_context

    customer = CustomerFactory(name="Start")

    def rename(name: str) -> None:
        Customer.objects.filter(pk=customer.pk).update(name=name)

    with audit_context(eager=True, source="task", task="first"):
        with transaction.atomic():
            rename("In a transaction")
        with transaction.atomic():
            with audit_context(step="doomed"):  # changes the context inside the transaction
                rename("Rolled back")
            transaction.set_rollback(True)
        rename("Autocommit")
    rename("No context")
    with audit_context(eager=True, source="task", task="second"):
        rename("Second task")

    events = admin_api.get(AUDIT, {"model": "crm.Customer", "objectId": customer.pk}).json()
    recorded = {
        changes(event)["name"][1]: (event["source"], (event["context"] or {}).get("task"))
        for event in events
        if event["action"] == "update"
    }
    assert recorded == {
        "In a transaction": ("task", "first"),
        "Autocommit": ("task", "first"),
        "No context": ("database", None),  # written by no request, task or command
        "Second task": ("task", "second"),
    }
