"""Fraud rules on usage as it is rated: each rule hits on crafted usage and not at its
boundary, a hit found again updates its case, rules and thresholds are risk staff's to edit,
the called number is ingested on every path, and a case bars and lifts its product through
TMF622 orders (on the real worker: ingest, evaluation, automatic bar, lift)."""

from datetime import UTC, datetime, timedelta
from io import StringIO

import pytest
from django.core.management import call_command

from billing.models import CaseEvent, FraudRule, FraudScan, RevenueCase, UsageEvent
from billing.services.cases import Finding, cases_record
from billing.services.fraud import (
    fraud_case_bar,
    fraud_case_lift,
    fraud_rules_evaluate,
)
from billing.services.usage_bulk import usage_bulk_ingest, usage_row
from billing.tests.conftest import PINNED_AT
from billing.tests.factories import active_product
from inventory.models import ProductInstance
from orders import services as order_services
from orders.models import ProductOrder
from orders.services import ItemRequest, PartyRequest
from orders.tests.factories import five_g_world
from telco import clock
from telco.exceptions import DomainError
from telco.testing import wait_for

URL = "/tmf-api/usageManagement/v4/usage"
LAST_HOUR = PINNED_AT - timedelta(minutes=30)  # 09:30: windows end at 10:00


def _service(product) -> str:
    return str(product.services.get().pk)


def data(product, event_id: str, at: datetime, gigabytes: str):
    return usage_row(
        event_id=event_id,
        service_id=_service(product),
        usage_date=at,
        volume=gigabytes,
        unit="GB",
        rating_group="DATA_5G_PREMIUM",
    )


def calls(product, prefix: str, numbers: int, *, seconds: int = 30, at=LAST_HOUR, first=0):
    """Voice records (rejected today: voice is not priced in seconds), one per number."""
    return [
        usage_row(
            event_id=f"{prefix}-{n}",
            service_id=_service(product),
            usage_date=at - timedelta(seconds=n),
            volume=str(seconds),
            unit="seconds",
            rating_group="VOICE",
            usage_type="voice",
            usage_specification_id="voice-call",
            destination=f"+44770090{n:04d}",
        )
        for n in range(first, first + numbers)
    ]


def baseline(product, prefix: str) -> list:
    """One GB an hour in 7 hours of the last week, none within the last day."""
    return [
        data(product, f"{prefix}-b{day}", LAST_HOUR - timedelta(days=day), "1")
        for day in (2, 3, 3.5, 4, 5, 6, 6.5)
    ]


def _cases() -> dict[tuple[str, int], RevenueCase]:
    return {(case.kind, case.product_id): case for case in RevenueCase.objects.all()}


@pytest.fixture
def products(db):
    return {
        name: active_product(start_date=datetime(2026, 10, 1, tzinfo=UTC))
        for name in ("spike", "steady", "simBox", "fewNumbers", "longCalls", "heavy", "justUnder")
    }


def test_each_rule_hits_on_its_pattern_and_not_at_its_boundary(products, risk_user):
    p = products
    FraudRule.objects.filter(code="highCost").update(
        thresholds={"ratingGroups": ["DATA_5G_PREMIUM"], "volumeThreshold": 60, "windowHours": 24}
    )
    rows = baseline(p["spike"], "spike") + baseline(p["steady"], "steady")
    rows += [data(p["spike"], "spike-now", LAST_HOUR, "10.5")]  # > 10 x the median hour
    rows += [data(p["steady"], "steady-now", LAST_HOUR, "10")]  # 10 x: not above
    rows += calls(p["simBox"], "box", 50)  # 50 numbers, 30 s on average
    rows += calls(p["fewNumbers"], "few", 49)
    rows += calls(p["longCalls"], "long", 50, seconds=60)  # not under 60 s
    rows += [
        data(p["heavy"], "heavy-1", LAST_HOUR, "41"),
        data(p["heavy"], "heavy-2", LAST_HOUR - timedelta(hours=20), "20"),
    ]
    rows += [data(p["justUnder"], "under-1", LAST_HOUR, "60")]
    rows += [data(p["justUnder"], "under-old", LAST_HOUR - timedelta(hours=25), "30")]  # outside
    usage_bulk_ingest(rows)

    outcome = fraud_rules_evaluate()

    assert outcome.hits == {"highCost": 1, "simBox": 1, "usageSpike": 1}
    assert set(outcome.seconds) == {"highCost", "simBox", "usageSpike"}
    assert outcome.up_to == UsageEvent.objects.latest("id").pk
    assert FraudScan.objects.get().last_usage_id == outcome.up_to
    cases = _cases()
    assert set(cases) == {
        ("fraudUsageSpike", p["spike"].pk),
        ("fraudSimBox", p["simBox"].pk),
        ("fraudHighCost", p["heavy"].pk),
    }
    spike = cases["fraudUsageSpike", p["spike"].pk]
    service = p["spike"].services.get().pk
    assert spike.fingerprint == f"usageSpike:{service}:2026-12-03"
    assert (spike.service_id, spike.billing_account_id) == (service, p["spike"].billing_account_id)
    assert spike.score == 70  # just past the threshold: the rule's score
    assert spike.evidence["lastHourVolume"] == 10.5
    assert spike.evidence["medianHourVolume"] == 1.0
    assert spike.evidence["baselineHours"] == 7
    assert spike.evidence["window"] == {
        "start": "2026-12-03T09:00:00+00:00",
        "end": "2026-12-03T10:00:00+00:00",
    }
    box = cases["fraudSimBox", p["simBox"].pk]
    assert (box.score, box.evidence["calls"], box.evidence["distinctNumbers"]) == (90, 50, 50)
    assert box.evidence["averageSeconds"] == 30.0
    assert box.evidence["sampleDestinations"][:2] == ["+447700900000", "+447700900001"]
    assert len(box.evidence["sampleDestinations"]) == 10
    assert UsageEvent.objects.get(event_id="box-49").destination == "+447700900049"
    heavy = cases["fraudHighCost", p["heavy"].pk]
    assert heavy.evidence["volume"] == 61.0
    assert heavy.evidence["ratingGroups"] == ["DATA_5G_PREMIUM"]
    assert [e.by for e in CaseEvent.objects.filter(case=box)] == ["fraud-rules"]

    # Nothing new: nothing read. New calls of the SIM box the same day: the same case, updated.
    assert fraud_rules_evaluate().hits == {}
    usage_bulk_ingest(calls(p["simBox"], "box-more", 50, first=50))
    again = fraud_rules_evaluate()
    assert (again.services, again.hits["simBox"], again.opened, again.seen) == (1, 1, [], 1)
    box.refresh_from_db()
    assert (box.evidence["distinctNumbers"], box.score) == (100, 100)
    assert RevenueCase.objects.count() == 3

    # A disabled rule does nothing; a threshold risk staff lowered changes the outcome.
    FraudRule.objects.filter(code="simBox").update(is_enabled=False)
    usage_bulk_ingest(calls(p["fewNumbers"], "few-more", 10, first=49))
    assert "simBox" not in fraud_rules_evaluate().hits
    FraudRule.objects.filter(code="highCost").update(
        thresholds={"ratingGroups": ["DATA_5G_PREMIUM"], "volumeThreshold": 50, "windowHours": 24}
    )
    usage_bulk_ingest([data(p["justUnder"], "under-2", LAST_HOUR, "0.5")])
    assert fraud_rules_evaluate().hits["highCost"] == 1
    assert ("fraudHighCost", p["justUnder"].pk) in _cases()
    assert ("fraudSimBox", p["fewNumbers"].pk) not in _cases()


def test_risk_staff_edit_rules_in_admin_with_thresholds_checked(client, roles, finance_user):
    from django.contrib.auth import get_user_model

    risk = get_user_model().objects.create_user("analyst", password="pw", is_staff=True)
    risk.groups.add(roles["risk"])
    finance_user.is_staff = True
    finance_user.save()
    rule = FraudRule.objects.get(code="usageSpike")
    page = f"/admin/billing/fraudrule/{rule.pk}/change/"
    form = {
        "name": rule.name,
        "description": rule.description,
        "is_enabled": "on",
        "score": "70",
        "thresholds": '{"factor": 0, "baselineDays": 7, "minimumVolume": 1, "other": 2}',
    }

    client.force_login(finance_user)
    assert client.get("/admin/billing/fraudrule/").status_code == 200  # finance may look
    assert client.post(page, form).status_code == 403
    client.force_login(risk)
    refused = client.post(page, form)
    assert refused.status_code == 200
    errors = refused.context["adminform"].form.errors["thresholds"]
    assert errors == ["factor: Must be more than 1.", "other: Not a threshold of this rule."]
    form["thresholds"] = '{"factor": 5, "baselineDays": 7, "minimumVolume": 0.5}'
    assert client.post(page, form).status_code == 302
    rule.refresh_from_db()
    assert rule.thresholds == {"factor": 5, "baselineDays": 7, "minimumVolume": 0.5}
    assert client.get("/admin/billing/revenuecase/").status_code == 200


def test_the_called_number_is_ingested_by_every_path(
    tmp_path, noc_api, django_capture_on_commit_callbacks
):
    product = active_product(start_date=datetime(2026, 10, 1, tzinfo=UTC))
    service = _service(product)

    def body(event_id, name):
        return {
            "usageDate": "2026-11-20T10:00:00Z",
            "usageType": "voice",
            "usageCharacteristic": [
                {"name": "eventId", "value": event_id},
                {"name": "serviceId", "value": service},
                {"name": "volume", "value": 42},
                {"name": "unit", "value": "seconds"},
                {"name": "ratingGroup", "value": "VOICE"},
                {"name": name, "value": f"+3361234{event_id[-1]}"},
            ],
        }

    with django_capture_on_commit_callbacks() as queued:
        single = noc_api.post(URL, body("one-1", "calledNumber"), format="json")
        batch = noc_api.post(URL, [body("batch-2", "destination")], format="json")
    assert (single.status_code, batch.status_code) == (201, 207)
    assert {"name": "destination", "value": "+33612341"} in single.json()["usageCharacteristic"]
    # Each ingest queues one fraud evaluation (debounced), once its transaction commits.
    assert [callback.__name__ for callback in queued] == ["_enqueue", "_enqueue"]
    path = tmp_path / "cdr.csv"
    path.write_text(
        "event_id,service_id,usage_date,volume,unit,rating_group,usage_type,"
        "usage_specification,destination\n"
        f"csv-3,{service},2026-11-20T10:00:00Z,12,seconds,VOICE,voice,voice-call,+33612343\n"
    )
    call_command("usage_import", str(path), "--quiet", stdout=StringIO())
    stored = dict(UsageEvent.objects.values_list("event_id", "destination"))
    assert stored == {"one-1": "+33612341", "batch-2": "+33612342", "csv-3": "+33612343"}
    # The same record again with another destination is a conflict, not a replay.
    again = noc_api.post(URL, body("one-1", "destination") | {}, format="json")
    assert again.status_code == 200
    changed = body("one-1", "destination")
    changed["usageCharacteristic"][-1]["value"] = "+339"
    assert noc_api.post(URL, changed, format="json").status_code == 409


def test_bar_and_lift_place_fraud_orders_and_refuse_what_they_cannot(products):
    product = products["simBox"]
    service = product.services.get()
    cases_record(
        [
            Finding(
                kind="fraudSimBox",
                fingerprint=f"simBox:{service.pk}:2026-12-03",
                summary="SIM box",
                product_id=product.pk,
                service_id=service.pk,
                billing_account_id=product.billing_account_id,
            ),
            Finding(
                kind="activeNotBillable", fingerprint="leak", summary="leak", product_id=product.pk
            ),
        ]
    )
    case = RevenueCase.objects.get(kind="fraudSimBox")
    with pytest.raises(DomainError, match="not a fraud case"):
        fraud_case_bar(RevenueCase.objects.get(kind="activeNotBillable"), by="risk1")
    with pytest.raises(DomainError, match="not suspended for fraud"):
        fraud_case_lift(case, by="risk1")

    fraud_case_bar(case, by="risk1")

    order = ProductOrder.objects.get()
    assert order.description == f"fraud: case {case.pk} (Fraud Sim Box)"
    assert [(i.action, i.target_status, i.product_id) for i in order.items.all()] == [
        ("modify", "suspended", product.pk)
    ]
    action = CaseEvent.objects.filter(case=case, type="action").get()
    assert (action.by, action.text) == (
        "risk1",
        f"Barred: product order {order.pk} suspends product {product.pk} (reason fraud).",
    )
    with pytest.raises(DomainError, match="already"):
        fraud_case_bar(case, by="risk1")
    with pytest.raises(DomainError, match="not suspended for fraud"):
        fraud_case_lift(case, by="risk1")  # the suspension has not been carried out yet

    _complete(order, product, "suspended")
    fraud_case_lift(case, by="risk1")
    resume = ProductOrder.objects.exclude(pk=order.pk).get()
    assert resume.description == f"fraud cleared: case {case.pk}"
    assert [(i.action, i.target_status) for i in resume.items.all()] == [("modify", "active")]
    ProductInstance.objects.filter(pk=product.pk).update(status="active")
    with pytest.raises(DomainError, match="not suspended for fraud"):
        fraud_case_lift(case, by="risk1")
    ProductInstance.objects.filter(pk=product.pk).update(status="terminated")
    with pytest.raises(DomainError, match="only an active product"):
        fraud_case_bar(case, by="risk1")


def _completed(order_id: int) -> bool:
    return ProductOrder.objects.get(pk=order_id).state == "completed"


def test_ingest_evaluates_on_the_worker_and_a_rule_bars_automatically(celery_worker, noc_api):
    offering, account, _ = five_g_world()
    order = order_services.product_order_submit(
        items=[ItemRequest("1", "add", str(offering.pk), {"bandwidth": "500Mbps"})],
        parties=[PartyRequest(str(account.customer_id), "Customer")],
    )
    wait_for(lambda: _completed(order.pk), timeout=60)
    product = ProductInstance.objects.get(product_order_id=str(order.pk))
    FraudRule.objects.filter(code="simBox").update(bars_automatically=True)
    now = clock.now()
    items = [
        {
            "usageDate": (now - timedelta(seconds=n)).isoformat(),
            "usageType": "voice",
            "usageCharacteristic": [
                {"name": "eventId", "value": f"w-{n}"},
                {"name": "serviceId", "value": _service(product)},
                {"name": "volume", "value": 20},
                {"name": "unit", "value": "seconds"},
                {"name": "ratingGroup", "value": "VOICE"},
                {"name": "calledNumber", "value": f"+4915100{n:04d}"},
            ],
        }
        for n in range(60)
    ]

    assert noc_api.post(URL, items, format="json").status_code == 207

    case = wait_for(lambda: RevenueCase.objects.filter(kind="fraudSimBox").first(), timeout=60)
    assert (case.product_id, case.evidence["distinctNumbers"]) == (product.pk, 60)
    # Barred in the evaluation's transaction (or a note says why not).
    done = CaseEvent.objects.filter(case=case, type__in=["action", "note"])
    assert done.get().text.startswith("Barred: product order")
    bar = ProductOrder.objects.exclude(pk=order.pk).get()
    assert bar.description.startswith("fraud: case")
    wait_for(lambda: _completed(bar.pk), timeout=60)
    assert ProductInstance.objects.get(pk=product.pk).status == "suspended"
    assert CaseEvent.objects.get(case=case, type="action").by == "fraud-rules"

    fraud_case_lift(case, by="risk1")
    lift = ProductOrder.objects.exclude(pk__in=[order.pk, bar.pk]).get()
    wait_for(lambda: _completed(lift.pk), timeout=60)
    assert ProductInstance.objects.get(pk=product.pk).status == "active"


def _complete(order: ProductOrder, product, status: str) -> None:
    """The order carried out (the worker's part, here by hand, as the dunning tests do)."""
    ProductInstance.objects.filter(pk=product.pk).update(status=status)
    order.items.update(state="completed")
    ProductOrder.objects.filter(pk=order.pk).update(state="completed")


def test_a_rule_bars_automatically_once_per_case(products):
    product = products["simBox"]
    FraudRule.objects.filter(code="simBox").update(bars_automatically=True)
    usage_bulk_ingest(calls(product, "box", 50))

    outcome = fraud_rules_evaluate()

    assert outcome.barred == [product.pk]
    case = RevenueCase.objects.get()
    bar = ProductOrder.objects.get()
    assert bar.description == f"fraud: case {case.pk} (Fraud Sim Box)"
    assert CaseEvent.objects.get(case=case, type="action").by == "fraud-rules"
    _complete(bar, product, "suspended")
    fraud_case_lift(case, by="risk1")
    _complete(ProductOrder.objects.exclude(pk=bar.pk).get(), product, "active")

    # The analyst lifted it: the same pattern found again the same day does not bar again.
    usage_bulk_ingest(calls(product, "box-more", 5, first=50))
    again = fraud_rules_evaluate()
    assert (again.hits["simBox"], again.barred) == (1, [])
    assert ProductOrder.objects.count() == 2
