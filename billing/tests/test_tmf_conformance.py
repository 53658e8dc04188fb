"""TMF635 and TMF678 as a standard client uses them (issue 9): one test per rule.

Usage: every record the network sends is stored, rated or rejected with its reason; only a
malformed body is a 400. usageSpecification is a resource of its own. Customer bills: the
state moves by PATCH through the transition table, the amounts never; customerBillOnDemand
bills an account on a worker; appliedCustomerBillingRate filters by isBilled. Payments have
an upper bound.
"""

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
import time_machine
from django.test import override_settings

from billing.models import (
    AppliedCharge,
    CustomerBill,
    CustomerBillOnDemand,
    CustomerBillStateChange,
    Payment,
    UsageEvent,
    UsageSpecification,
)
from billing.services import bill_on_demand_run, bill_run_start
from billing.tests.factories import active_product
from catalog.choices import PriceType
from catalog.tests.factories import ProductOfferingPriceFactory
from crm.tests.factories import BillingAccountFactory
from inventory.choices import ProductStatus
from telco import clock
from telco.testing import wait_for

pytestmark = pytest.mark.django_db
USAGE = "/tmf-api/usageManagement/v4/usage"
SPECIFICATION = "/tmf-api/usageManagement/v4/usageSpecification"
BILLS = "/tmf-api/customerBillManagement/v4"
PAYMENT = "/tmf-api/paymentManagement/v4/payment"


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


def usage_body(service_id=None, *, event_id="evt-1", usage_date="2026-10-20T10:00:00Z", **given):
    characteristics = {
        "eventId": event_id,
        "serviceId": None if service_id is None else str(service_id),
        "volume": "1500",
        "unit": "MB",
        "ratingGroup": "DATA_5G_PREMIUM",
        **given,
    }
    body = {
        "usageType": "data",
        "usageSpecification": {"id": "data-session"},
        "usageCharacteristic": [
            {"name": name, "value": value}
            for name, value in characteristics.items()
            if value is not None
        ],
    }
    if usage_date is not None:
        body["usageDate"] = usage_date
    return body


def characteristic(data: dict, name: str):
    return next((c["value"] for c in data["usageCharacteristic"] if c["name"] == name), None)


@pytest.fixture
def product():
    return active_product(start_date=utc(2026, 10, 1))


@pytest.fixture
def service(product):
    return product.services.get()


# --- TMF635 Usage: stored always ---------------------------------------------------------


def test_a_usage_with_no_attribute_at_all_is_stored_rejected(noc_api):
    response = noc_api.post(USAGE, {}, format="json")

    assert response.status_code == 201, response.data
    usage = UsageEvent.objects.get()
    assert response["Location"] == response.data["href"] == f"http://testserver{USAGE}/{usage.pk}"
    assert response.data["status"] == "rejected"
    assert characteristic(response.data, "rejectionReason") == "missingAttribute"
    assert characteristic(response.data, "rejectionMessage") == (
        "Missing usageDate, usageCharacteristic.eventId, usageCharacteristic.serviceId, "
        "usageCharacteristic.volume, usageCharacteristic.unit, usageCharacteristic.ratingGroup."
    )
    assert "usageSpecification" not in response.data
    assert response.data["relatedParty"] == []
    assert (usage.status, usage.event_id, usage.service, usage.volume) == (
        "rejected",
        None,
        None,
        None,
    )


@pytest.mark.parametrize(
    ("given", "reason", "message"),
    [
        ({"volume": None}, "missingAttribute", "Missing usageCharacteristic.volume."),
        ({"eventId": None}, "missingAttribute", "Missing usageCharacteristic.eventId."),
        ({"ratingGroup": ""}, "missingAttribute", "Missing usageCharacteristic.ratingGroup."),
        ({"unit": "TB"}, "unknownUnit", "Unit 'TB' is not one of bytes, KB, MB, GB."),
        ({"serviceId": "999999"}, "unknownService", "Service '999999' does not exist."),
        ({"serviceId": "abc"}, "unknownService", "Service 'abc' does not exist."),
        (
            {"ratingGroup": "VOICE"},
            "unpricedRatingGroup",
            "Rating group 'VOICE' is not priced on '5G Premium'.",
        ),
    ],
)
def test_a_usage_that_cannot_be_rated_is_stored_rejected_with_the_reason(
    noc_api, service, given, reason, message
):
    payload = usage_body(service.pk, **given)

    response = noc_api.post(USAGE, payload, format="json")

    assert response.status_code == 201, response.data
    assert response.data["status"] == "rejected"
    assert characteristic(response.data, "rejectionReason") == reason
    assert characteristic(response.data, "rejectionMessage") == message
    usage = UsageEvent.objects.get()
    assert (usage.status, usage.rejection_reason, usage.rated_volume) == ("rejected", reason, None)
    sent_service = given.get("serviceId", str(service.pk))
    assert characteristic(response.data, "serviceId") == sent_service


def test_a_usage_without_a_date_is_stored_rejected(noc_api, service, product):
    response = noc_api.post(USAGE, usage_body(service.pk, usage_date=None), format="json")

    assert response.status_code == 201, response.data
    assert characteristic(response.data, "rejectionMessage") == "Missing usageDate."
    usage = UsageEvent.objects.get()
    # What could be found is kept: the record still traces to the product and customer.
    assert (usage.status, usage.service, usage.product) == ("rejected", service, product)
    assert response.data["relatedParty"][0]["id"] == str(product.customer_id)


# A product suspended or terminated since is still charged for usage dated before (late usage):
# see test_usage_bulk and test_usage_batch_api.
@pytest.mark.parametrize("status", [ProductStatus.PENDING_ACTIVE, ProductStatus.CANCELLED])
def test_a_usage_of_a_product_not_active_is_stored_rejected(noc_api, status):
    product = active_product(start_date=utc(2026, 10, 1), status=status)
    service = product.services.get()

    response = noc_api.post(USAGE, usage_body(service.pk), format="json")

    assert response.status_code == 201, response.data
    assert characteristic(response.data, "rejectionReason") == "noBillableProduct"
    assert characteristic(response.data, "rejectionMessage") == (
        f"Service '{service.pk}' has no active product to charge."
    )


def test_a_usage_dated_before_the_product_started_is_stored_rejected(noc_api, service):
    payload = usage_body(service.pk, usage_date="2026-09-30T23:59:59Z")

    response = noc_api.post(USAGE, payload, format="json")

    assert response.status_code == 201, response.data
    assert characteristic(response.data, "rejectionReason") == "noBillableProduct"
    assert characteristic(response.data, "rejectionMessage") == (
        "Usage is dated before the product started (2026-10-01T00:00:00+00:00)."
    )


def test_rejected_usage_is_never_billed(noc_api, service):
    unpriced = noc_api.post(USAGE, usage_body(service.pk, ratingGroup="VOICE"), format="json")
    rated = noc_api.post(
        USAGE, usage_body(service.pk, event_id="evt-2", volume="7", unit="GB"), format="json"
    )
    assert (unpriced.data["status"], rated.data["status"]) == ("rejected", "received")

    with time_machine.travel(utc(2026, 11, 2), tick=False):
        bill_run_start(as_of=date(2026, 11, 1))

    line = AppliedCharge.objects.get(charge_type="usage")
    assert (line.quantity, line.tax_excluded_amount) == (Decimal("2"), Decimal("4.00"))
    assert list(line.usage_events.values_list("event_id", flat=True)) == ["evt-2"]
    rejected = UsageEvent.objects.get(event_id="evt-1")
    assert (rejected.status, rejected.applied_charge) == ("rejected", None)


def test_a_rejected_usage_sent_again_answers_200_with_the_stored_one(noc_api, service):
    first = noc_api.post(USAGE, usage_body(service.pk, ratingGroup="VOICE"), format="json")
    again = noc_api.post(USAGE, usage_body(service.pk, ratingGroup="VOICE"), format="json")

    assert (first.status_code, again.status_code) == (201, 200)
    assert again.data["id"] == first.data["id"]
    assert UsageEvent.objects.count() == 1


def test_usage_specification_is_optional(noc_api, service):
    payload = usage_body(service.pk)
    del payload["usageSpecification"]

    response = noc_api.post(USAGE, payload, format="json")

    assert response.status_code == 201, response.data
    assert response.data["status"] == "received"
    assert "usageSpecification" not in response.data
    assert UsageEvent.objects.get().usage_specification is None


def test_usage_names_its_specification_by_id(noc_api, service):
    response = noc_api.post(USAGE, usage_body(service.pk), format="json")

    assert response.status_code == 201, response.data
    assert response.data["usageSpecification"] == {
        "id": "data-session",
        "href": f"http://testserver{SPECIFICATION}/data-session",
        "name": "Data session",
        "@referredType": "UsageSpecification",
    }
    by_specification = noc_api.get(USAGE, {"usageSpecification.id": "data-session"})
    assert [u["id"] for u in by_specification.data] == [response.data["id"]]


def test_an_unknown_usage_specification_is_400_naming_it(noc_api, service):
    payload = usage_body(service.pk)
    payload["usageSpecification"] = {"id": "5g-data"}

    response = noc_api.post(USAGE, payload, format="json")

    assert response.status_code == 400, response.data
    assert response.data["errors"] == {
        "usageSpecification.id": ["Usage specification '5g-data' does not exist."]
    }
    assert UsageEvent.objects.count() == 0


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"usageDate": "yesterday"}, "usageDate"),
        ({"usageDate": 12}, "usageDate"),
        ({"usageType": ["data"]}, "usageType"),
        ({"usageSpecification": "data-session"}, "usageSpecification.non_field_errors"),
        ({"usageSpecification": {}}, "usageSpecification.id"),
        ({"usageCharacteristic": "volume=3"}, "usageCharacteristic.non_field_errors"),
        ({"usageCharacteristic": [{"value": 3}]}, "usageCharacteristic[0].name"),
    ],
)
def test_a_malformed_usage_body_is_400_naming_the_field(noc_api, service, change, field):
    response = noc_api.post(USAGE, {**usage_body(service.pk), **change}, format="json")

    assert response.status_code == 400, response.data
    assert field in response.data["errors"], response.data
    assert UsageEvent.objects.count() == 0


@pytest.mark.parametrize(
    ("given", "field"),
    [
        ({"volume": 1e15, "unit": "GB"}, "usageCharacteristic.volume"),
        ({"volume": "1e30"}, "usageCharacteristic.volume"),
        # Rounded to the column's 6 places it would be 10^14, one digit too many.
        ({"volume": "99999999999999.9999999"}, "usageCharacteristic.volume"),
        ({"volume": "NaN"}, "usageCharacteristic.volume"),
        ({"volume": "Infinity"}, "usageCharacteristic.volume"),
        ({"volume": True}, "usageCharacteristic.volume"),
        ({"volume": {"amount": 3}}, "usageCharacteristic.volume"),
        ({"eventId": {"id": 1}}, "usageCharacteristic.eventId"),
        ({"serviceId": [1]}, "usageCharacteristic.serviceId"),
        ({"ratingGroup": "R" * 61}, "usageCharacteristic.ratingGroup"),
        ({"unit": False}, "usageCharacteristic.unit"),
    ],
)
def test_a_volume_or_characteristic_of_the_wrong_type_or_size_is_400(
    noc_api, service, given, field
):
    response = noc_api.post(USAGE, usage_body(service.pk, **given), format="json")

    assert response.status_code == 400, response.data
    assert list(response.data["errors"]) == [field]
    assert UsageEvent.objects.count() == 0


def test_the_largest_volume_the_column_holds_is_stored(noc_api, service):
    response = noc_api.post(
        USAGE, usage_body(service.pk, volume="99999999999999", unit="bytes"), format="json"
    )

    assert response.status_code == 201, response.data
    usage = UsageEvent.objects.get()
    assert (usage.volume, usage.rated_volume) == (Decimal("99999999999999"), Decimal("100000"))


def test_a_volume_too_large_once_normalised_to_the_price_unit_is_400(noc_api):
    offering = ProductOfferingPriceFactory(
        price_type=PriceType.USAGE,
        recurring_period="",
        rating_group="BYTES",
        unit_of_measure="bytes",
        amount=Decimal("0.000001"),
        valid_from=utc(2026, 1, 1),
    ).product_offering
    product = active_product(start_date=utc(2026, 10, 1), offering=offering)
    payload = usage_body(product.services.get().pk, volume="100000", unit="GB", ratingGroup="BYTES")

    response = noc_api.post(USAGE, payload, format="json")

    assert response.status_code == 400, response.data
    assert response.data["errors"] == {
        "usageCharacteristic.volume": ["100000 GB is too large to store in bytes."]
    }
    assert UsageEvent.objects.count() == 0


def test_usage_filters_by_status_and_rejection_reason(finance_api, noc_api, service):
    noc_api.post(USAGE, usage_body(service.pk, ratingGroup="VOICE"), format="json")
    noc_api.post(USAGE, usage_body(service.pk, event_id="evt-2"), format="json")
    noc_api.post(USAGE, usage_body(service.pk, event_id="evt-3", unit="TB"), format="json")

    def event_ids(**query):
        return [characteristic(u, "eventId") for u in finance_api.get(USAGE, query).data]

    assert event_ids(status="rejected") == ["evt-1", "evt-3"]
    assert event_ids(status="received") == ["evt-2"]
    assert event_ids(rejectionReason="unknownUnit") == ["evt-3"]


# --- TMF635 usageSpecification ---------------------------------------------------------


def test_the_usage_specifications_the_product_uses_are_served(agent_api):
    response = agent_api.get(SPECIFICATION)

    assert response.status_code == 200
    assert [(s["id"], s["name"]) for s in response.data] == [
        ("data-session", "Data session"),
        ("sms", "SMS"),
        ("voice-call", "Voice call"),
    ]
    data = agent_api.get(f"{SPECIFICATION}/data-session").data
    assert data["href"] == f"http://testserver{SPECIFICATION}/data-session"
    assert (data["lifecycleStatus"], data["isBundle"], data["@type"]) == (
        "active",
        False,
        "UsageSpecification",
    )
    assert [c["name"] for c in data["specCharacteristic"]] == [
        "eventId",
        "serviceId",
        "ratingGroup",
        "volume",
        "unit",
    ]
    assert data["validFor"] == {"startDateTime": None, "endDateTime": None}


def test_a_usage_specification_is_created_with_an_id_from_its_name(finance_api):
    response = finance_api.post(
        SPECIFICATION,
        {
            "name": "Roaming data",
            "description": "Data used abroad",
            "version": "1.0",
            "validFor": {"startDateTime": "2027-01-01T00:00:00Z"},
            "specCharacteristic": [{"name": "visitedNetwork", "valueType": "string"}],
            "id": "ignored",
        },
        format="json",
    )

    assert response.status_code == 201, response.data
    assert response.data["id"] == "roaming-data"
    assert response["Location"] == f"http://testserver{SPECIFICATION}/roaming-data"
    assert response.data["validFor"] == {
        "startDateTime": "2027-01-01T00:00:00+00:00",
        "endDateTime": None,
    }
    assert response.data["specCharacteristic"] == [
        {"name": "visitedNetwork", "valueType": "string", "@type": "CharacteristicSpecification"}
    ]
    specification = UsageSpecification.objects.get(pk="roaming-data")
    assert (specification.name, specification.version) == ("Roaming data", "1.0")


def test_a_usage_specification_needs_no_attribute_to_be_created(finance_api):
    response = finance_api.post(SPECIFICATION, {}, format="json")

    assert response.status_code == 201, response.data
    assert response.data["id"] == response.data["name"] == "usage-specification"


def test_a_usage_specification_name_is_unique(finance_api):
    response = finance_api.post(SPECIFICATION, {"name": "Data session"}, format="json")

    assert response.status_code == 400
    assert response.data["errors"] == {
        "name": ["A usage specification is already named 'Data session'."]
    }
    assert UsageSpecification.objects.count() == 3


def test_a_usage_specification_is_patched_and_keeps_its_id(finance_api):
    url = f"{SPECIFICATION}/sms"

    response = finance_api.patch(
        url,
        {"name": "Text message", "lifecycleStatus": "retired"},
        format="json",
    )

    assert response.status_code == 200, response.data
    assert (response.data["id"], response.data["name"], response.data["lifecycleStatus"]) == (
        "sms",
        "Text message",
        "retired",
    )
    refused = finance_api.patch(url, {"id": "text"}, format="json")
    assert refused.status_code == 400
    assert "id" in refused.data["errors"]
    backwards = finance_api.patch(
        url,
        {
            "validFor": {
                "startDateTime": "2027-01-02T00:00:00Z",
                "endDateTime": "2027-01-01T00:00:00Z",
            }
        },
        format="json",
    )
    assert backwards.status_code == 400
    assert "validFor.endDateTime" in backwards.data["errors"]
    assert UsageSpecification.objects.get(pk="sms").valid_to is None


def test_a_usage_specification_no_usage_names_is_deleted_one_in_use_is_not(
    finance_api, noc_api, service
):
    noc_api.post(USAGE, usage_body(service.pk), format="json")

    in_use = finance_api.delete(f"{SPECIFICATION}/data-session")
    deleted = finance_api.delete(f"{SPECIFICATION}/sms")

    assert in_use.status_code == 409
    assert in_use.data["errors"] == {
        "id": ["Usage specification 'data-session' is named by usage records."]
    }
    assert deleted.status_code == 204
    assert finance_api.get(f"{SPECIFICATION}/sms").status_code == 404
    assert set(UsageSpecification.objects.values_list("pk", flat=True)) == {
        "data-session",
        "voice-call",
    }


def test_usage_specifications_filter_by_name_and_id(noc_api):
    assert [s["id"] for s in noc_api.get(SPECIFICATION, {"name": "Voice call"}).data] == [
        "voice-call"
    ]
    assert [s["id"] for s in noc_api.get(SPECIFICATION, {"id": "sms,data-session"}).data] == [
        "data-session",
        "sms",
    ]
    assert noc_api.get(SPECIFICATION, {"name": "nothing"}).data == []
    assert noc_api.get(f"{SPECIFICATION}/nothing").status_code == 404


def test_usage_specification_roles(agent_api, noc_api, finance_api, admin_api, anonymous_api):
    for client in (agent_api, noc_api, finance_api):
        assert client.get(SPECIFICATION).status_code == 200
    assert anonymous_api.get(SPECIFICATION).status_code == 401
    for client in (agent_api, noc_api):
        assert client.post(SPECIFICATION, {"name": "x"}, format="json").status_code == 403
        assert client.patch(f"{SPECIFICATION}/sms", {"version": "2"}).status_code == 403
        assert client.delete(f"{SPECIFICATION}/sms").status_code == 403
    assert admin_api.post(SPECIFICATION, {"name": "MMS"}, format="json").status_code == 201
    assert UsageSpecification.objects.count() == 4


# --- TMF676 payment bound ---------------------------------------------------------------


@override_settings(PAYMENT_MAX_AMOUNT="500")
def test_a_payment_above_the_bound_is_400_naming_the_amount(finance_api):
    account = BillingAccountFactory()

    def pay(value):
        body = {
            "account": {"id": str(account.pk)},
            "paymentMethod": {"id": "card"},
            "totalAmount": {"unit": "EUR", "value": value},
        }
        return finance_api.post(PAYMENT, body, format="json")

    too_much = pay("500.01")

    assert too_much.status_code == 400
    assert too_much.data["errors"] == {"totalAmount.value": ["A payment is at most 500 EUR."]}
    assert Payment.objects.count() == 0
    assert pay("500").status_code == 201


def test_the_default_payment_bound_is_a_million(finance_api):
    account = BillingAccountFactory()
    body = {
        "account": {"id": str(account.pk)},
        "paymentMethod": {"id": "bankTransfer"},
        "totalAmount": {"unit": "EUR", "value": 1000000.01},
    }

    response = finance_api.post(PAYMENT, body, format="json")

    assert response.status_code == 400
    assert "totalAmount.value" in response.data["errors"]
    assert Payment.objects.count() == 0


# --- TMF678 customerBill state ----------------------------------------------------------


@pytest.fixture
def bill():
    """October's bill of a product started on the 16th, state new: 49.00 + 15.48 + 20% tax."""
    active_product(start_date=utc(2026, 10, 16))
    with time_machine.travel(utc(2026, 11, 2), tick=False):
        bill_run_start(as_of=date(2026, 11, 1))
    return CustomerBill.objects.get()


def history(bill) -> list[tuple[str, str, str]]:
    return list(
        CustomerBillStateChange.objects.filter(bill=bill)
        .order_by("id")
        .values_list("from_state", "to_state", "changed_by")
    )


def test_a_bill_moves_through_its_states_by_patch_with_history(finance_api, bill):
    url = f"{BILLS}/customerBill/{bill.pk}"

    moves = []
    for state in ("validated", "onHold", "sent"):
        response = finance_api.patch(url, {"state": state}, format="json")
        assert response.status_code == 200, response.data
        moves.append(response.data["state"])

    assert moves == ["validated", "onHold", "sent"]
    assert history(bill) == [
        ("new", "validated", "finance1"),
        ("validated", "onHold", "finance1"),
        ("onHold", "sent", "finance1"),
    ]
    bill.refresh_from_db()
    assert (bill.state, bill.tax_included_amount) == ("sent", Decimal("77.3800"))


def test_the_merge_patch_content_type_is_accepted(finance_api, bill):
    response = finance_api.generic(
        "PATCH",
        f"{BILLS}/customerBill/{bill.pk}",
        '{"state": "validated"}',
        content_type="application/merge-patch+json",
    )

    assert response.status_code == 200
    assert response.json()["state"] == "validated"


def test_the_same_state_again_changes_nothing(finance_api, bill):
    url = f"{BILLS}/customerBill/{bill.pk}"
    finance_api.patch(url, {"state": "validated"}, format="json")

    response = finance_api.patch(url, {"state": "validated"}, format="json")

    assert (response.status_code, response.data["state"]) == (200, "validated")
    assert len(history(bill)) == 1


def test_a_move_the_table_does_not_allow_is_409_and_changes_nothing(finance_api, bill):
    response = finance_api.patch(
        f"{BILLS}/customerBill/{bill.pk}", {"state": "sent"}, format="json"
    )

    assert response.status_code == 409
    assert response.data["code"] == "invalidStateTransition"
    assert response.data["message"] == "Customer bill cannot move from 'new' to 'sent'."
    bill.refresh_from_db()
    assert bill.state == "new"
    assert history(bill) == []


@pytest.mark.parametrize("state", ["partiallyPaid", "settled", "new", "paid"])
def test_a_state_payments_set_or_no_state_at_all_is_400(finance_api, bill, state):
    response = finance_api.patch(f"{BILLS}/customerBill/{bill.pk}", {"state": state}, format="json")

    assert response.status_code == 400
    assert list(response.data["errors"]) == ["state"]
    bill.refresh_from_db()
    assert bill.state == "new"


@pytest.mark.parametrize(
    "change",
    [
        {"amountDue": {"unit": "EUR", "value": 1}},
        {"remainingAmount": {"unit": "EUR", "value": 0}},
        {"taxExcludedAmount": {"unit": "EUR", "value": 1}},
        {"billNo": "INV-9"},
    ],
)
def test_a_bill_amount_is_immutable(finance_api, bill, change):
    response = finance_api.patch(
        f"{BILLS}/customerBill/{bill.pk}", {**change, "state": "validated"}, format="json"
    )

    assert response.status_code == 400
    assert list(response.data["errors"]) == list(change)
    bill.refresh_from_db()
    assert (bill.state, bill.tax_included_amount, bill.remaining_amount) == (
        "new",
        Decimal("77.3800"),
        Decimal("77.3800"),
    )


def test_only_finance_moves_a_bill(agent_api, noc_api, admin_api, bill):
    url = f"{BILLS}/customerBill/{bill.pk}"

    assert agent_api.patch(url, {"state": "validated"}, format="json").status_code == 403
    assert noc_api.patch(url, {"state": "validated"}, format="json").status_code == 403
    bill.refresh_from_db()
    assert bill.state == "new"
    assert admin_api.patch(url, {"state": "validated"}, format="json").status_code == 200


def test_a_bill_on_hold_is_not_paid_until_released(finance_api, bill):
    url = f"{BILLS}/customerBill/{bill.pk}"
    finance_api.patch(url, {"state": "onHold"}, format="json")
    payment = {
        "account": {"id": str(bill.billing_account_id)},
        "paymentMethod": {"id": "card"},
        "totalAmount": {"unit": "EUR", "value": "77.38"},
    }

    finance_api.post(PAYMENT, payment, format="json")
    bill.refresh_from_db()
    assert (bill.state, bill.remaining_amount) == ("onHold", Decimal("77.3800"))

    released = finance_api.patch(url, {"state": "sent"}, format="json")
    assert released.data["state"] == "sent"


# --- TMF678 customerBillOnDemand ----------------------------------------------------------


def test_a_bill_on_demand_bills_the_account_on_the_worker(celery_worker, finance_api):
    # The worker runs on the real clock: a product started 70 days ago has ended periods.
    product = active_product(start_date=clock.now() - timedelta(days=70))
    account = product.billing_account

    response = finance_api.post(
        f"{BILLS}/customerBillOnDemand",
        {"billingAccount": {"id": str(account.pk)}, "name": "Final bill", "state": "done"},
        format="json",
    )

    assert response.status_code == 201, response.data
    request_id = response.data["id"]
    assert response["Location"] == f"http://testserver{BILLS}/customerBillOnDemand/{request_id}"
    assert (response.data["state"], response.data["name"]) == ("inProgress", "Final bill")
    assert "customerBill" not in response.data
    done = wait_for(
        lambda: CustomerBillOnDemand.objects.filter(pk=request_id, state="done").first(), 30
    )
    bills = list(CustomerBill.objects.filter(billing_account=account).order_by("period_start"))
    assert len(bills) >= 2  # the activation's period and at least one whole month after it
    assert done.customer_bill == bills[-1]
    assert done.state_reason == f"Billed: {', '.join(b.bill_no for b in bills)}."
    data = finance_api.get(f"{BILLS}/customerBillOnDemand/{request_id}").data
    assert data["customerBill"] == {
        "id": str(bills[-1].pk),
        "href": f"http://testserver{BILLS}/customerBill/{bills[-1].pk}",
        "name": bills[-1].bill_no,
        "@referredType": "CustomerBill",
    }
    assert list(done.history.values_list("from_state", "to_state")) == [
        ("", "inProgress"),
        ("inProgress", "done"),
    ]


def test_a_bill_on_demand_with_nothing_to_bill_is_rejected_with_the_reason(finance_api, bill):
    body = {"billingAccount": {"id": str(bill.billing_account_id)}}
    created = finance_api.post(f"{BILLS}/customerBillOnDemand", body, format="json")

    with time_machine.travel(utc(2026, 11, 20), tick=False):
        bill_on_demand_run(bill_on_demand_id=int(created.data["id"]))

    data = finance_api.get(f"{BILLS}/customerBillOnDemand/{created.data['id']}").data
    assert (data["state"], data["stateReason"]) == (
        "rejected",
        "Nothing to bill: every ended billing period of the account has a bill.",
    )
    assert "customerBill" not in data
    assert CustomerBill.objects.count() == 1


def test_a_bill_on_demand_billing_refuses_ends_with_the_error(finance_api):
    # The 5G offering prices in EUR: an account billed in USD cannot be charged.
    product = active_product(
        account=BillingAccountFactory(currency="USD"), start_date=utc(2026, 10, 1)
    )
    body = {"billingAccount": {"id": str(product.billing_account_id)}}
    created = finance_api.post(f"{BILLS}/customerBillOnDemand", body, format="json")

    with time_machine.travel(utc(2026, 11, 20), tick=False):
        first = bill_on_demand_run(bill_on_demand_id=int(created.data["id"]))
        again = bill_on_demand_run(bill_on_demand_id=int(created.data["id"]))

    assert first.state == again.state == "terminatedWithError"
    assert first.state_reason.startswith("Price '")
    assert first.state_reason.endswith(
        f"is in EUR but account {product.billing_account.account_number} bills in USD."
    )
    assert CustomerBill.objects.count() == 0
    assert again.history.count() == 2


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "billingAccount"),
        ({"billingAccount": {"id": "999999"}}, "billingAccount.id"),
        ({"billingAccount": {"id": "²"}}, "billingAccount.id"),
        ({"billingAccount": "1"}, "billingAccount.non_field_errors"),
    ],
)
def test_a_bill_on_demand_needs_an_existing_account(finance_api, body, field):
    response = finance_api.post(f"{BILLS}/customerBillOnDemand", body, format="json")

    assert response.status_code == 400
    assert list(response.data["errors"]) == [field]
    assert CustomerBillOnDemand.objects.count() == 0


def test_bill_on_demand_roles_and_list(agent_api, noc_api, finance_api, bill):
    body = {"billingAccount": {"id": str(bill.billing_account_id)}}

    assert agent_api.post(f"{BILLS}/customerBillOnDemand", body, format="json").status_code == 403
    assert noc_api.get(f"{BILLS}/customerBillOnDemand").status_code == 403
    assert finance_api.post(f"{BILLS}/customerBillOnDemand", body, format="json").status_code == 201
    listed = agent_api.get(
        f"{BILLS}/customerBillOnDemand", {"billingAccount.id": bill.billing_account_id}
    )
    assert [(r["state"], r["billingAccount"]["id"]) for r in listed.data] == [
        ("inProgress", str(bill.billing_account_id))
    ]
    assert listed.data[0]["relatedParty"]["role"] == "customer"
    assert agent_api.get(f"{BILLS}/customerBillOnDemand", {"state": "done"}).data == []


# --- TMF678 appliedCustomerBillingRate ----------------------------------------------------


def test_applied_rates_filter_by_is_billed(finance_api, bill):
    url = f"{BILLS}/appliedCustomerBillingRate"

    billed = finance_api.get(url, {"isBilled": "true"})
    not_billed = finance_api.get(url, {"isBilled": "false"})
    either = finance_api.get(url, {"isBilled": "true,false"})
    wrong = finance_api.get(url, {"isBilled": "yes"})

    assert [line["isBilled"] for line in billed.data] == [True, True]
    assert (not_billed.status_code, not_billed.data) == (200, [])
    assert len(either.data) == 2
    assert wrong.status_code == 400
    assert list(wrong.data["errors"]) == ["isBilled"]
