"""TMF654 transferBalance, reserveBalance and accumulatedBalance as a standard client uses them
(shared/tmf/CONFORMANCE.md, and the spec's own required attributes). The rules every collection
shares (id and href filters, malformed ids, paging) are walked by telco's conformance suite."""

import json
from datetime import timedelta
from decimal import Decimal

import pytest

from billing.models import ReserveBalance
from billing.services import prepaid_provision
from billing.tests.factories import active_product
from billing.tests.prepaid_helpers import bucket, prepaid_product
from telco import clock

pytestmark = pytest.mark.django_db

BASE = "/tmf-api/prepayBalanceManagement/v4"
# From shared/tmf/TMF654-PrepayBalanceManagement-v4.0.0.swagger.json: each resource's required
# attributes and its array attributes.
SPEC = {
    "TransferBalance": {
        "required": [
            "href",
            "id",
            "reason",
            "receiverLogicalResource",
            "channel",
            "logicalResource",
            "status",
        ],
        "arrays": ["logicalResource", "product", "relatedParty"],
    },
    "ReserveBalance": {
        "required": ["status"],
        "arrays": ["logicalResource", "product", "relatedParty"],
    },
    "AccumulatedBalance": {
        "required": ["bucket", "name", "totalBalance"],
        "arrays": ["bucket", "product", "relatedParty"],
    },
}


@pytest.fixture
def family():
    phone = prepaid_product()
    tablet = active_product(
        account=phone.billing_account, start_date=clock.now(), offering=phone.product_offering
    )
    prepaid_provision(product=tablet)
    return phone, tablet


def _transfer(finance_api, phone, tablet, **extra):
    body = {
        "bucket": {"id": str(bucket(phone, "data").pk)},
        "receiverBucket": {"id": str(bucket(tablet, "data").pk)},
        "usageType": "data",
        "receiverBucketUsageType": "data",
        "amount": {"amount": 10, "units": "MB"},
        "reason": "Sharing",
        "channel": {"name": "care"},
        **extra,
    }
    return finance_api.post(f"{BASE}/transferBalance/", body, format="json")


def _reserve(finance_api, product, **extra):
    body = {
        "bucket": {"id": str(bucket(product, "voice").pk)},
        "partyAccount": {"id": str(product.billing_account_id)},
        "usageType": "voice",
        "amount": {"amount": 5, "units": "min"},
        **extra,
    }
    return finance_api.post(f"{BASE}/reserveBalance", body, format="json")


def assert_follows_the_spec(answer: dict, resource: str):
    """Every required attribute is a key; every array attribute is a list, never null."""
    assert set(SPEC[resource]["required"]) <= set(answer)
    for name in SPEC[resource]["arrays"]:
        assert isinstance(answer[name], list), name
    assert answer["href"].endswith(f"/{answer['id']}")
    assert answer["@type"] == resource


def test_answers_carry_the_specs_required_attributes(finance_api, agent_api, family):
    phone, tablet = family
    transfer = _transfer(finance_api, phone, tablet)
    reservation = _reserve(finance_api, phone)
    assert (transfer.status_code, reservation.status_code) == (201, 201)

    assert_follows_the_spec(transfer.data, "TransferBalance")
    assert_follows_the_spec(reservation.data, "ReserveBalance")
    accumulated = agent_api.get(
        f"{BASE}/accumulatedBalance", {"partyAccount.id": phone.billing_account_id}
    )
    for row in accumulated.data:
        assert_follows_the_spec(row, "AccumulatedBalance")
    assert len(accumulated.data) == 4


def test_server_generated_attributes_are_not_taken_from_a_post(finance_api, family):
    phone, tablet = family
    given = {
        "id": "42",
        "href": "http://elsewhere/42",
        "status": "cancelled",
        "requestedDate": "2020-01-01T00:00:00Z",
    }

    transfer = _transfer(finance_api, phone, tablet, **given)
    reservation = _reserve(finance_api, phone, **given)

    assert (transfer.status_code, reservation.status_code) == (201, 201), reservation.data
    assert (transfer.data["status"], reservation.data["status"]) == ("completed", "created")
    for answer in (transfer.data, reservation.data):
        assert answer["id"] != "42"
        assert answer["requestedDate"] != given["requestedDate"]
        assert answer["href"].startswith("http://testserver/")
    assert ReserveBalance.objects.get().status == "created"


def test_paths_answer_with_and_without_the_slash_and_fields_select(agent_api, finance_api, family):
    phone, tablet = family
    href = _transfer(finance_api, phone, tablet).data["href"]
    for path in (f"{BASE}/transferBalance", f"{BASE}/accumulatedBalance"):
        assert agent_api.get(path).status_code == 200
        assert agent_api.get(f"{path}/").status_code == 200
    assert agent_api.get(f"{href}/").status_code == 200

    selected = agent_api.get(f"{BASE}/transferBalance", {"fields": "amount,status"}).data
    assert [set(row) for row in selected] == [{"id", "href", "amount", "status"}]
    one = agent_api.get(href, {"fields": "receiverBucket"}).data
    assert set(one) == {"id", "href", "receiverBucket"}


def test_filters_take_the_values_the_server_answered(agent_api, finance_api, family):
    phone, tablet = family
    first = _reserve(finance_api, phone).data
    second = _reserve(finance_api, tablet).data
    finance_api.patch(second["href"], {"status": "cancelled"}, format="json")

    def ids(**query):
        response = agent_api.get(f"{BASE}/reserveBalance", query)
        assert response.status_code == 200, response.data
        return sorted(row["id"] for row in response.data)

    assert ids(status="created") == [first["id"]]
    assert ids(status="created,cancelled") == sorted([first["id"], second["id"]])
    assert ids(**{"requestedDate.gte": second["requestedDate"]}) == [second["id"]]
    assert ids(**{"product.id": tablet.pk}) == [second["id"]]
    assert ids(usageType="data") == []
    refused = agent_api.get(f"{BASE}/reserveBalance", {"amount": "5"})
    assert refused.status_code == 400
    assert list(refused.data["errors"]) == ["amount"]


def test_patch_is_a_merge_patch_and_delete_is_not_offered(finance_api, family):
    phone, tablet = family
    reservation = _reserve(finance_api, phone).data
    transfer = _transfer(finance_api, phone, tablet).data

    patched = finance_api.generic(
        "PATCH",
        reservation["href"],
        json.dumps({"description": "Held for the video pass"}),
        content_type="application/merge-patch+json",
    )
    assert patched.status_code == 200, patched.data
    assert patched.data["description"] == "Held for the video pass"
    assert patched.data["status"] == "created"
    assert patched.data["amount"] == reservation["amount"]

    for href in (reservation["href"], transfer["href"]):
        refused = finance_api.delete(href)
        assert refused.status_code == 405
        assert "DELETE" not in refused["Allow"]
        assert "PATCH" in refused["Allow"]
    assert finance_api.get(reservation["href"]).status_code == 200


def test_unknown_ids_and_roles(agent_api, noc_api, anonymous_api, finance_api, family):
    phone, _ = family
    for path in ("transferBalance", "reserveBalance", "accumulatedBalance"):
        missing = finance_api.get(f"{BASE}/{path}/987654321")
        assert missing.status_code == 404
        assert missing.data["@type"] == "Error"
        assert anonymous_api.get(f"{BASE}/{path}").status_code == 401
    # Balance operations are care's and finance's; balances (as buckets) the NOC's too.
    assert noc_api.get(f"{BASE}/transferBalance").status_code == 403
    assert noc_api.get(f"{BASE}/accumulatedBalance").status_code == 200
    assert agent_api.get(f"{BASE}/reserveBalance").status_code == 200
    expired_later = clock.now() + timedelta(days=1)
    denied = noc_api.post(
        f"{BASE}/reserveBalance",
        {
            "bucket": {"id": str(bucket(phone, "data").pk)},
            "usageType": "data",
            "amount": {"amount": 1},
            "validFor": {"endDateTime": expired_later.isoformat()},
        },
        format="json",
    )
    assert denied.status_code == 403
    assert bucket(phone, "data").reserved == Decimal(0)
