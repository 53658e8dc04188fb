"""The fraud rules over 1,000,000 rated usage records, beside one aggregate scan of the same rows.

    .venv/bin/python bench/fraud_rules.py [--records 1000000] [--services 50000]

Uses DATABASE_URL (default postgres://postgres@127.0.0.1:5432/telco_bench_fraud): creates and
migrates it, empties the usage table and the cases, and seeds in SQL (one INSERT ... SELECT
over generate_series) `records` usage records of `services` services over the 7 days before
T, demo-like: 70% data sessions (0.5-2 GB), 25% voice calls (2-10 minutes, to numbers drawn
from a million, priced by the minute), 5% roaming data (no service's hour is 10 times its
usual); then a few fraudsters, real products made by the test factories (the rules' cases
point at them): 5 usage spikes (50 GB in the last hour against 1 GB hours), 5 SIM boxes
(80 calls of 15 s to 80 numbers), 5 high-cost roamers (100 GB of roaming in a day). The
normal services' ids are synthetic (usage has no foreign-key constraints, and the rules read
usage alone): a false positive would fail on its case's foreign keys, so the run also proves
the normal mix is not flagged.

It then times, on the same data:
- the floor: one aggregate scan of every row, `SELECT service_id, count(*), count(DISTINCT
  destination), sum(rated_volume) ... GROUP BY service_id`;
- `fraud_rules_evaluate()` from a watermark of 0 (every record is new), with its per-rule
  seconds and hits (goal <= 10 s);
- the steady state: 10,000 new records of 2,000 services, evaluated again.
"""

import argparse
import time
from datetime import UTC, datetime, timedelta

from common import django_on_bench_database

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/telco_bench_fraud"
T = datetime(2026, 11, 15, 12, 0, tzinfo=UTC)
SYNTHETIC_SERVICE = 10_000_000  # normal services' ids start here (no such rows exist)

USAGE_COLUMNS = (
    "event_id, service_id, product_id, billing_account_id, usage_date, usage_type, "
    "usage_specification_id, rating_group, destination, volume, unit, rated_volume, status, "
    "rejection_reason, rejection_message, reported_service_id, reported_event_id, received_at"
)
# Record g of service s (g = 0..): its kind from g's hash, its hour within the 7 days.
NORMAL_SQL = f"""
    INSERT INTO billing_usageevent ({USAGE_COLUMNS})
    SELECT %(prefix)s || g, s, s, s, at, kind,
           CASE kind WHEN 'voice' THEN 'voice-call' ELSE 'data-session' END,
           CASE WHEN kind = 'voice' THEN 'VOICE' WHEN roaming THEN 'roaming'
                ELSE 'DATA_5G_PREMIUM' END,
           CASE WHEN kind = 'voice' THEN '+4477' || lpad((hash %% 1000000)::text, 8, '0')
                ELSE '' END,
           volume, CASE kind WHEN 'voice' THEN 'seconds' ELSE 'GB' END,
           CASE kind WHEN 'voice' THEN round(volume / 60, 6) ELSE volume END,
           'received', '', '', '', '', at
    FROM (
        SELECT g, %(first)s + g %% %(services)s AS s, hash,
               %(end)s - (hash %% (7 * 24 * 3600)) * interval '1 second' AS at,
               CASE WHEN hash %% 100 < 25 THEN 'voice' ELSE 'data' END AS kind,
               hash %% 100 >= 95 AS roaming,
               CASE WHEN hash %% 100 < 25 THEN 120 + hash %% 481
                    ELSE round(0.5 + (hash %% 1501) / 1000.0, 3) END AS volume
        FROM (SELECT g, abs(hashint8(g + %(seed)s)) AS hash
              FROM generate_series(1, %(count)s) g) numbered
    ) record
"""  # noqa: S608 - column names from code; values are parameters


def fraudsters() -> dict[str, list]:
    """Real products whose usage each rule must flag (made once, kept between runs)."""
    from billing.tests.factories import active_product
    from crm.models import BillingAccount
    from crm.tests.factories import BillingAccountFactory
    from inventory.models import ProductInstance

    kinds = ("spike", "simBox", "highCost")
    made = {
        kind: list(ProductInstance.objects.filter(name__startswith=f"bench-fraud-{kind}"))
        for kind in kinds
    }
    BillingAccountFactory.reset_sequence(BillingAccount.objects.count() + 1)
    for kind in kinds:
        while len(made[kind]) < 5:
            product = active_product(start_date=T - timedelta(days=60))
            product.name = f"bench-fraud-{kind}-{len(made[kind])}"
            product.save(update_fields=["name"])
            made[kind].append(product)
    return made


def seed(count: int, services: int, made: dict[str, list]) -> None:
    from django.db import connection, transaction

    from billing.models import CaseEvent, FraudScan, RevenueCase, UsageEvent

    with transaction.atomic(), connection.cursor() as cursor:
        CaseEvent.objects.all().delete()
        RevenueCase.objects.all().delete()
        FraudScan.objects.all().delete()
        cursor.execute(f"TRUNCATE {UsageEvent._meta.db_table}")
        cursor.execute(
            NORMAL_SQL,
            {
                "prefix": "n-",
                "first": SYNTHETIC_SERVICE,
                "services": services,
                "end": T,
                "count": count,
                "seed": 0,
            },
        )
        rows = []
        for product in made["spike"] + made["simBox"] + made["highCost"]:
            service = product.services.get().pk
            account = product.billing_account_id
            kind = product.name.split("-")[2]
            if kind == "spike":
                hours = [T - timedelta(days=day, minutes=30) for day in (1, 2, 3, 4, 5, 6)]
                rows += [(service, product.pk, account, at, "data", "1", "") for at in hours]
                rows.append(
                    (service, product.pk, account, T - timedelta(minutes=10), "data", "50", "")
                )
            elif kind == "simBox":
                rows += [
                    (
                        service,
                        product.pk,
                        account,
                        T - timedelta(minutes=n),
                        "voice",
                        "15",
                        f"+88216{n:06d}",
                    )
                    for n in range(80)
                ]
            else:
                rows += [
                    (service, product.pk, account, T - timedelta(hours=n), "roaming", "25", "")
                    for n in range(4)
                ]
        UsageEvent.objects.bulk_create(
            UsageEvent(
                event_id=f"f-{n}",
                service_id=service,
                product_id=product,
                billing_account_id=account,
                usage_date=at,
                usage_type="voice" if kind == "voice" else "data",
                usage_specification_id="voice-call" if kind == "voice" else "data-session",
                rating_group={"voice": "VOICE", "roaming": "roaming"}.get(kind, "DATA_5G_PREMIUM"),
                destination=destination,
                volume=volume,
                unit="seconds" if kind == "voice" else "GB",
                rated_volume=volume,
                received_at=at,
            )
            for n, (service, product, account, at, kind, volume, destination) in enumerate(rows)
        )
    with connection.cursor() as cursor:
        cursor.execute(f"VACUUM ANALYZE {UsageEvent._meta.db_table}")


def floor() -> float:
    from django.db import connection

    began = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute(
            # Summed outside, so that every aggregate is computed (unused ones would not be).
            "SELECT sum(records), sum(numbers), sum(volume) FROM (SELECT service_id, "
            "count(*) AS records, count(DISTINCT destination) AS numbers, "
            "sum(rated_volume) AS volume FROM billing_usageevent GROUP BY service_id) s"
        )
        cursor.fetchone()
    return time.perf_counter() - began


def evaluate() -> tuple[float, object, int]:
    """Seconds of one evaluation, its outcome, and how many records it read as new."""
    from django.db import connection

    from billing.services.fraud import fraud_rules_evaluate

    began = time.perf_counter()
    outcome = fraud_rules_evaluate()
    seconds = time.perf_counter() - began
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM billing_usageevent WHERE id > %s AND id <= %s",
            [outcome.after, outcome.up_to],
        )
        return seconds, outcome, cursor.fetchone()[0]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--services", type=int, default=50_000)
    arguments = parser.parse_args()
    django_on_bench_database(DEFAULT_URL)
    from django.db import connection

    from billing.models import FraudRule

    # The defaults, with highCost watching the seeded roaming group.
    FraudRule.objects.filter(code="highCost").update(
        thresholds={"ratingGroups": ["roaming"], "volumeThreshold": 60, "windowHours": 24},
        is_enabled=True,
        bars_automatically=False,
    )
    FraudRule.objects.exclude(code="highCost").update(is_enabled=True, bars_automatically=False)
    made = fraudsters()
    began = time.perf_counter()
    seed(arguments.records, arguments.services, made)
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM billing_usageevent")
        total = cursor.fetchone()[0]
    print(
        f"seeded {total:,} rated usage records of {arguments.services:,} services "
        f"(+15 fraudsters) in {time.perf_counter() - began:.1f} s"
    )

    floor()  # warm the cache as the evaluation will find it
    bare = floor()
    print(f"floor, one aggregate scan by service: {bare:.2f} s")
    seconds, outcome, read = evaluate()
    print(
        f"fraud_rules_evaluate over {read:,} new records "
        f"({outcome.services:,} services): {seconds:.2f} s = {seconds / bare:.1f}x the floor "
        f"(goal <= 10 s)"
    )
    for code in sorted(outcome.seconds):
        print(f"  {code:<11} {outcome.seconds[code]:6.2f} s, {outcome.hits[code]} hits")
    expected = {"usageSpike": 5, "simBox": 5, "highCost": 5}
    print(f"  cases opened: {len(outcome.opened)} (expected hits {expected})")
    if outcome.hits != expected:
        print(f"  UNEXPECTED hits: {outcome.hits}")

    with connection.cursor() as cursor:
        cursor.execute(
            NORMAL_SQL,
            {
                "prefix": "m-",
                "first": SYNTHETIC_SERVICE,
                "services": 2000,
                "end": T + timedelta(minutes=5),
                "count": 10_000,
                "seed": 7,
            },
        )
    seconds, outcome, read = evaluate()
    print(
        f"steady state: {read:,} new records "
        f"({outcome.services:,} services) evaluated in {seconds:.2f} s, hits {outcome.hits}"
    )


if __name__ == "__main__":
    main()
