"""Usage in bulk (`usage_bulk_ingest`): dedupe, validation, guiding and rating set-based; late
usage charged; rejected usage reprocessed; the CDR file import."""

from datetime import UTC, date, datetime
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection

from billing.models import AppliedCharge, UsageEvent
from billing.services import bill_run_start
from billing.services.usage_bulk import usage_bulk_ingest, usage_reprocess, usage_row
from billing.tests.factories import active_product
from catalog.models import ProductOfferingPrice
from inventory.choices import ProductStatus
from inventory.models import ProductStatusChange
from telco.testing import run_at_once

pytestmark = pytest.mark.django_db


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


@pytest.fixture
def product():
    return active_product(start_date=utc(2026, 10, 1))


@pytest.fixture
def service_id(product):
    return str(product.services.get().pk)


def row(service_id, event_id, *, volume="1500", unit="MB", at="2026-10-20T10:00:00Z", **more):
    return usage_row(
        event_id=event_id,
        service_id=service_id,
        usage_date=at,
        volume=volume,
        unit=unit,
        rating_group=more.pop("rating_group", "DATA_5G_PREMIUM"),
        **more,
    )


def outcomes(result):
    return [(a.outcome, a.status, a.reason) for a in result.answers]


def test_a_batch_answers_each_record_and_stores_what_it_says(product, service_id):
    usage_bulk_ingest([row(service_id, "stored", volume="2", unit="GB")])

    result = usage_bulk_ingest(
        [
            row(service_id, "new", volume="2500000000", unit="bytes"),
            row(service_id, "stored", volume="2", unit="GB"),  # replay
            row(service_id, "stored", volume="3", unit="GB"),  # conflict with the stored one
            row("999999", "nobody"),
            row(service_id, "twin", volume="1", unit="GB"),
            row(service_id, "twin", volume="1", unit="GB"),  # replay of the batch's first
            row(service_id, "twin", volume="9", unit="GB"),  # conflict with the batch's first
            row(service_id, "lots", volume="lots"),
            row(service_id, "voice", rating_group="VOICE"),
            row(service_id, "", volume="1"),
        ]
    )

    assert outcomes(result) == [
        ("created", "received", ""),
        ("replay", "received", ""),
        ("conflict", "rejected", "duplicateEventConflict"),
        ("created", "rejected", "unknownService"),
        ("created", "received", ""),
        ("replay", "received", ""),
        ("conflict", "rejected", "duplicateEventConflict"),
        ("created", "rejected", "invalidValue"),
        ("created", "rejected", "unpricedRatingGroup"),
        ("created", "rejected", "missingAttribute"),
    ]
    assert (result.received, result.created, result.rejected) == (10, 6, 4)
    assert (result.replays, result.conflicts) == (2, 2)
    answers = result.answers
    stored = UsageEvent.objects.get(event_id="stored")
    twin = UsageEvent.objects.get(event_id="twin")
    assert answers[1].usage_id == answers[2].usage_id == stored.pk
    assert answers[5].usage_id == answers[6].usage_id == twin.pk
    conflict = UsageEvent.objects.get(pk=answers[2].conflict_id)
    assert (conflict.event_id, conflict.reported_event_id, conflict.duplicate_of) == (
        None,
        "stored",
        stored,
    )
    assert (conflict.status, conflict.volume) == ("rejected", Decimal("3"))
    assert conflict.rejection_message == (
        f"eventId 'stored' was stored before (usage {stored.pk}) with different content."
    )
    new = UsageEvent.objects.get(event_id="new")
    assert (new.pk, new.status, new.rated_volume) == (
        answers[0].usage_id,
        "received",
        Decimal("2.5"),
    )
    assert (new.service_id, new.product, new.billing_account_id) == (
        int(service_id),
        product,
        product.billing_account_id,
    )
    assert UsageEvent.objects.get(event_id="lots").rejection_message == (
        "volume: 'lots' must be a number"
    )
    assert UsageEvent.objects.get(event_id="nobody").reported_service_id == "999999"
    assert UsageEvent.objects.count() == 1 + 6 + 2


def test_replays_are_charged_once(product, service_id):
    batch = [row(service_id, f"e{n}", volume="3", unit="GB") for n in range(3)]
    usage_bulk_ingest(batch)
    again = usage_bulk_ingest(batch)

    assert (again.created, again.replays, again.conflicts) == (0, 3, 0)
    bill_run_start(as_of=date(2026, 11, 1))
    line = AppliedCharge.objects.get(charge_type="usage")
    # 9 GB once: 4 GB beyond the 5 included x 2.00
    assert line.tax_excluded_amount == Decimal("8.00")


def test_late_usage_after_termination_is_charged_by_the_bill_run(service_id, product):
    product.status = ProductStatus.TERMINATED
    product.termination_date = utc(2026, 10, 25)
    product.save()

    result = usage_bulk_ingest(
        [
            row(service_id, "before-end", volume="7", unit="GB", at="2026-10-24T23:00:00Z"),
            row(service_id, "after-end", volume="7", unit="GB", at="2026-10-25T00:00:00Z"),
        ]
    )

    assert outcomes(result) == [
        ("created", "received", ""),
        ("created", "rejected", "noBillableProduct"),
    ]
    assert result.answers[1].message == (
        "Usage is dated after the product was terminated (2026-10-25T00:00:00+00:00)."
    )
    bill_run_start(as_of=date(2026, 11, 1))
    line = AppliedCharge.objects.get(charge_type="usage")
    assert line.tax_excluded_amount == Decimal("4.00")  # 7 GB: 2 beyond the 5 included
    assert UsageEvent.objects.get(event_id="before-end").status == "billed"


def test_usage_while_suspended_is_rejected_and_before_or_after_it_charged(service_id, product):
    product.status = ProductStatus.ACTIVE
    product.save()
    for frm, to, at in (
        ("pendingActive", "active", utc(2026, 10, 1)),
        ("active", "suspended", utc(2026, 10, 10)),
        ("suspended", "active", utc(2026, 10, 15)),
        ("active", "suspended", utc(2026, 10, 28)),
    ):
        ProductStatusChange.objects.create(
            product=product, from_state=frm, to_state=to, changed_at=at
        )
    product.status = ProductStatus.SUSPENDED
    product.save()

    result = usage_bulk_ingest(
        [
            row(service_id, "a", at="2026-10-09T23:59:59Z"),
            row(service_id, "b", at="2026-10-12T00:00:00Z"),
            row(service_id, "c", at="2026-10-15T00:00:00Z"),
            row(service_id, "d", at="2026-10-29T00:00:00Z"),
        ]
    )

    assert [a.reason for a in result.answers] == ["", "noBillableProduct", "", "noBillableProduct"]
    assert result.answers[1].message == "The product was suspended at the usageDate."


def test_reprocess_charges_what_now_guides_and_keeps_the_rest_with_the_new_reason(
    product, service_id
):
    usage_bulk_ingest(
        [
            row(service_id, "voice-1", rating_group="VOICE", volume="1", unit="GB"),
            row(service_id, "voice-2", rating_group="VOICE", volume="2", unit="GB"),
            row(service_id, "early", rating_group="VOICE", at="2026-09-01T00:00:00Z"),
            row("424242", "unknown"),
        ]
    )
    assert UsageEvent.objects.filter(status="rejected").count() == 4
    ProductOfferingPrice.objects.create(
        product_offering=product.product_offering,
        name="Voice",
        price_type="usage",
        rating_group="VOICE",
        unit_of_measure="MB",
        amount=Decimal("0.01"),
        currency="EUR",
        valid_from=utc(2026, 1, 1),
    )

    assert usage_reprocess(reason="unknownService").charged == 0
    result = usage_reprocess()

    assert (result.tried, result.charged, result.still_rejected) == (
        4,
        2,
        {"noBillableProduct": 1, "unknownService": 1},
    )
    voice = UsageEvent.objects.get(event_id="voice-2")
    assert (voice.status, voice.rejection_reason, voice.rated_volume) == (
        "received",
        "",
        Decimal("2000"),
    )
    assert UsageEvent.objects.get(event_id="unknown").rejection_reason == "unknownService"
    assert usage_reprocess(reason="unpricedRatingGroup").tried == 0
    assert usage_reprocess().tried == 2


def test_queries_do_not_grow_with_the_batch(service_id, django_assert_max_num_queries):
    def batch(size, prefix):
        return [row(service_id, f"{prefix}{n}") for n in range(size)]

    usage_bulk_ingest(batch(10, "s"))
    with django_assert_max_num_queries(40) as small:
        usage_bulk_ingest(batch(2, "t") + batch(1, "s"))  # new records and a replay
    with django_assert_max_num_queries(len(small.captured_queries)):
        usage_bulk_ingest(batch(500, "l") + batch(10, "s"))


CSV = """event_id,service_id,usage_date,volume,unit,rating_group,usage_type,usage_specification
cdr-1,{service},2026-10-20T10:00:00Z,1500,MB,DATA_5G_PREMIUM,data,
cdr-2,{service},2026-10-20 11:00:00,2,GB,DATA_5G_PREMIUM,,
cdr-3,{service},not a date,2,GB,DATA_5G_PREMIUM,data,
cdr-4,{service},2026-10-20T10:00:00Z
cdr-1,{service},2026-10-20T10:00:00Z,1500,MB,DATA_5G_PREMIUM,data,
"""


def test_the_file_import_stores_a_csv_with_bad_lines_named(tmp_path, service_id):
    path = tmp_path / "cdr.csv"
    path.write_text(CSV.format(service=service_id))
    out, err = StringIO(), StringIO()

    call_command("usage_import", str(path), "--chunk", "2", stdout=out, stderr=err)

    events = {e.event_id: e for e in UsageEvent.objects.all()}
    assert sorted(events) == ["cdr-1", "cdr-2", "cdr-3", "cdr-4"]
    assert (events["cdr-1"].status, events["cdr-1"].rated_volume) == ("received", Decimal("1.5"))
    assert (events["cdr-2"].status, events["cdr-2"].usage_date) == (
        "received",
        utc(2026, 10, 20, 11),
    )
    assert (events["cdr-3"].rejection_reason, events["cdr-3"].rejection_message) == (
        "invalidValue",
        "usageDate: 'not a date' is not a date-time",
    )
    assert events["cdr-4"].rejection_reason == "invalidValue"
    assert events["cdr-4"].rejection_message == "line 5: 3 fields, expected 6 to 9"
    report = out.getvalue()
    assert "5 records: 2 chargeable, 2 rejected, 1 replays, 0 conflicts" in report
    assert "line 4 (cdr-3): invalidValue: usageDate: 'not a date' is not a date-time" in report
    assert "records" in err.getvalue()  # the progress bar


def test_staging_is_gone_after_a_batch(service_id):
    usage_bulk_ingest([row(service_id, "x")])
    with connection.cursor() as cursor:
        cursor.execute("SELECT to_regclass('pg_temp.usage_decided')")
        assert cursor.fetchone()[0] is None


@pytest.mark.django_db(transaction=True)
def test_concurrent_batches_of_the_same_records_store_each_once():
    product = active_product(start_date=utc(2026, 10, 1))
    service_id = str(product.services.get().pk)
    batch = [row(service_id, f"twin-{n}") for n in range(3)]
    results, errors = run_at_once(lambda: usage_bulk_ingest(batch), times=4)

    assert errors == []
    assert sorted(r.created for r in results) == [0, 0, 0, 3]
    assert sorted(r.replays for r in results) == [0, 3, 3, 3]
    assert UsageEvent.objects.count() == 3
