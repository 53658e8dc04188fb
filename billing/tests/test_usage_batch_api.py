"""TMF635 usage in batches (JSON array, NDJSON), rejected usage for operations and its
reprocessing, late usage through the single POST."""

import json
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from billing.models import AppliedCharge, UsageEvent
from billing.services import bill_run_start
from billing.tests.factories import active_product
from catalog.models import ProductOfferingPrice
from inventory.choices import ProductStatus
from inventory.models import ProductStatusChange

pytestmark = pytest.mark.django_db
URL = "/tmf-api/usageManagement/v4/usage"
REJECTED = "/api/v1/billing/rejectedUsage"


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


def usage(service_id, event_id, *, volume="1500", unit="MB", at="2026-10-20T10:00:00Z", **more):
    characteristics = {
        "eventId": event_id,
        "serviceId": str(service_id),
        "volume": volume,
        "unit": unit,
        "ratingGroup": "DATA_5G_PREMIUM",
        **more,
    }
    return {
        "usageDate": at,
        "usageType": "data",
        "usageCharacteristic": [{"name": n, "value": v} for n, v in characteristics.items()],
    }


@pytest.fixture
def product():
    return active_product(start_date=utc(2026, 10, 1))


@pytest.fixture
def service_id(product):
    return product.services.get().pk


def test_a_batch_answers_each_record_by_index(noc_api, service_id):
    assert noc_api.post(URL, [usage(service_id, "old", volume="2", unit="GB")], format="json")

    response = noc_api.post(
        URL,
        [
            usage(service_id, "new"),
            usage(service_id, "old", volume="2", unit="GB"),
            usage(service_id, "old", volume="5", unit="GB"),
            usage("99999", "stray"),
            usage(service_id, "bad", volume="lots"),
        ],
        format="json",
    )

    assert response.status_code == 207, response.data
    old = UsageEvent.objects.get(event_id="old")
    new = UsageEvent.objects.get(event_id="new")
    conflict = UsageEvent.objects.get(reported_event_id="old")
    results = response.data["results"]
    assert [(r["index"], r["outcome"], r["status"], r.get("reason")) for r in results] == [
        (0, "created", "received", None),
        (1, "replay", "received", None),
        (2, "conflict", "rejected", "duplicateEventConflict"),
        (3, "created", "rejected", "unknownService"),
        (4, "created", "rejected", "invalidValue"),
    ]
    assert results[0]["id"] == str(new.pk)
    assert results[0]["href"] == f"http://testserver{URL}/{new.pk}"
    assert results[1]["id"] == results[2]["id"] == str(old.pk)
    assert results[2]["conflictUsage"]["id"] == str(conflict.pk)
    assert results[3]["message"] == "Service '99999' does not exist."
    assert (response.data["created"], response.data["rejected"]) == (3, 2)
    assert (response.data["replays"], response.data["conflicts"]) == (1, 1)
    assert new.rated_volume == Decimal("1.5")


def test_a_batch_of_good_records_is_200_and_ndjson_is_read_too(noc_api, service_id):
    lines = "\n".join(json.dumps(usage(service_id, f"n{n}")) for n in range(3))

    response = noc_api.generic("POST", URL, lines + "\n\n", content_type="application/x-ndjson")

    assert response.status_code == 200, response.data
    assert [r["outcome"] for r in response.data["results"]] == ["created"] * 3
    assert UsageEvent.objects.filter(status="received").count() == 3
    again = noc_api.generic("POST", URL, lines, content_type="application/x-ndjson")
    assert (again.status_code, again.data["replays"]) == (200, 3)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ([1], "1.non_field_errors"),
        ([{"usageDate": 5}], "1.usageDate"),
        ([{"usageCharacteristic": {"eventId": "x"}}], "1.usageCharacteristic"),
        (
            [{"usageCharacteristic": [{"name": "volume", "value": [1]}]}],
            "1.usageCharacteristic.volume",
        ),
        (
            [{"usageCharacteristic": [{"name": "eventId", "value": True}]}],
            "1.usageCharacteristic.eventId",
        ),
        ([{"usageSpecification": "data"}], "1.usageSpecification.id"),
    ],
)
def test_a_malformed_batch_is_400_naming_index_and_field_and_nothing_is_stored(
    noc_api, service_id, body, field
):
    response = noc_api.post(URL, [usage(service_id, "fine"), *body], format="json")

    assert response.status_code == 400, response.data
    assert field in response.data["errors"], response.data
    assert UsageEvent.objects.count() == 0


def test_bad_bodies(noc_api, service_id, settings):
    assert noc_api.post(URL, [], format="json").status_code == 400
    broken = noc_api.generic("POST", URL, '{"a": 1}\nnot json', content_type="application/x-ndjson")
    assert broken.status_code == 400
    settings.USAGE_BATCH_MAX = 2
    many = noc_api.post(URL, [usage(service_id, f"m{n}") for n in range(3)], format="json")
    assert (many.status_code, many.data["code"]) == (413, "batchTooLarge")
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 100
    big = noc_api.post(URL, [usage(service_id, "big")], format="json")
    assert big.status_code == 413
    assert UsageEvent.objects.count() == 0


def test_batch_roles(noc_api, admin_api, agent_api, finance_api, anonymous_api, service_id):
    batch = [usage(service_id, "r1")]
    assert agent_api.post(URL, batch, format="json").status_code == 403
    assert finance_api.post(URL, batch, format="json").status_code == 403
    assert anonymous_api.post(URL, batch, format="json").status_code == 401
    assert UsageEvent.objects.count() == 0
    assert noc_api.post(URL, batch, format="json").status_code == 200
    assert admin_api.post(URL, [usage(service_id, "r2")], format="json").status_code == 200


def test_rejected_usage_is_listed_by_reason_and_day_in_constant_queries(
    finance_api, noc_api, service_id, django_assert_num_queries, billing_clock
):
    noc_api.post(
        URL, [usage("777", "a"), usage(service_id, "b", ratingGroup="VOICE")], format="json"
    )
    billing_clock.move_to(utc(2026, 12, 4, 9))
    noc_api.post(URL, [usage("778", f"c{n}") for n in range(5)], format="json")

    finance_api.get(REJECTED)
    with django_assert_num_queries(4) as counted:
        response = finance_api.get(REJECTED)
    assert len(response.data) == 7
    queries = len(counted.captured_queries)  # read before the next request resets the log
    noc_api.post(URL, [usage("779", f"d{n}") for n in range(20)], format="json")
    with django_assert_num_queries(queries):
        assert len(finance_api.get(REJECTED, {"limit": 100}).data) == 27

    by_reason = finance_api.get(REJECTED, {"reason": "unpricedRatingGroup"})
    assert [(r["eventId"], r["rejectionReason"]) for r in by_reason.data] == [
        ("b", "unpricedRatingGroup")
    ]
    by_day = finance_api.get(REJECTED, {"receivedDate": "2026-12-03"})
    assert sorted(r["eventId"] for r in by_day.data) == ["a", "b"]
    assert finance_api.get(REJECTED, {"receivedDate": "03/12"}).status_code == 400


def test_reprocess_through_the_api_after_the_price_is_added(
    finance_api, noc_api, agent_api, service_id, product
):
    noc_api.post(
        URL, [usage(service_id, f"v{n}", ratingGroup="VOICE") for n in range(3)], format="json"
    )
    ProductOfferingPrice.objects.create(
        product_offering=product.product_offering,
        name="Voice",
        price_type="usage",
        rating_group="VOICE",
        unit_of_measure="GB",
        amount=Decimal("1.00"),
        currency="EUR",
        valid_from=utc(2026, 1, 1),
    )
    assert agent_api.post(f"{REJECTED}/reprocess", {}, format="json").status_code == 403
    bad = finance_api.post(f"{REJECTED}/reprocess", {"reason": "nonsense"}, format="json")
    assert bad.status_code == 400

    response = finance_api.post(
        f"{REJECTED}/reprocess", {"reason": "unpricedRatingGroup"}, format="json"
    )

    assert response.status_code == 200, response.data
    assert response.data == {"tried": 3, "charged": 3, "stillRejected": {}}
    assert finance_api.get(REJECTED).data == []
    assert UsageEvent.objects.filter(status="received", rated_volume=Decimal("1.5")).count() == 3


def test_late_usage_through_the_single_post_after_termination_is_billed(noc_api, product):
    service_id = product.services.get().pk
    for frm, to, at in (
        ("active", "suspended", utc(2026, 10, 10)),
        ("suspended", "active", utc(2026, 10, 12)),
        ("active", "pendingTerminate", utc(2026, 10, 25)),
        ("pendingTerminate", "terminated", utc(2026, 10, 25)),
    ):
        ProductStatusChange.objects.create(
            product=product, from_state=frm, to_state=to, changed_at=at
        )
    product.status = ProductStatus.TERMINATED
    product.termination_date = utc(2026, 10, 25)
    product.save()

    late = noc_api.post(URL, usage(service_id, "late", volume="7", unit="GB"), format="json")
    suspended = noc_api.post(
        URL, usage(service_id, "off", at="2026-10-11T00:00:00Z"), format="json"
    )
    after = noc_api.post(URL, usage(service_id, "after", at="2026-10-26T00:00:00Z"), format="json")

    assert late.data["status"] == "received"
    messages = [
        c["value"]
        for r in (suspended, after)
        for c in r.data["usageCharacteristic"]
        if c["name"] == "rejectionMessage"
    ]
    assert messages == [
        "The product was suspended at the usageDate.",
        "Usage is dated after the product was terminated (2026-10-25T00:00:00+00:00).",
    ]
    bill_run_start(as_of=date(2026, 11, 1))
    assert AppliedCharge.objects.get(charge_type="usage").tax_excluded_amount == Decimal("4.00")


def test_the_single_post_refuses_a_conflicting_resend_and_keeps_it(noc_api, service_id):
    first = noc_api.post(URL, usage(service_id, "one", volume="2", unit="GB"), format="json")
    same = noc_api.post(URL, usage(service_id, "one", volume="2000", unit="MB"), format="json")

    assert (first.status_code, same.status_code) == (201, 409)
    assert same.data["code"] == "conflict"
    assert "usageCharacteristic.eventId" in same.data["errors"]
    kept = UsageEvent.objects.get(reported_event_id="one")
    assert (kept.status, kept.rejection_reason, kept.duplicate_of_id) == (
        "rejected",
        "duplicateEventConflict",
        int(first.data["id"]),
    )
    replay = noc_api.post(URL, usage(service_id, "one", volume="2", unit="GB"), format="json")
    assert (replay.status_code, replay.data["id"]) == (200, first.data["id"])
