"""An API that holds under abuse, across every endpoint at once: page size past the cap, unknown
filters, invalid UTF-8 bodies, negative money and volumes. Each gets a clear 4xx (or, for the
page size, the cap) and changes nothing. Body size, nesting depth and rate limits are in
test_api_robustness.py and test_limits.py."""

from datetime import UTC, datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import URLPattern, URLResolver, get_resolver

from billing.models import Payment, TopupBalance, UsageEvent
from billing.tests.factories import active_product
from billing.tests.prepaid_helpers import bucket, prepaid_product
from crm.models import BillingAccount
from crm.tests.factories import BillingAccountFactory
from telco.api.pagination import MAX_LIMIT

pytestmark = pytest.mark.django_db


def _collections(patterns=None, prefix=""):
    """(path, view function) of every DRF collection route (`...-list`)."""
    for entry in get_resolver().url_patterns if patterns is None else patterns:
        if isinstance(entry, URLResolver):
            if entry.namespace != "admin":
                yield from _collections(entry.url_patterns, prefix + str(entry.pattern))
        elif isinstance(entry, URLPattern) and (entry.name or "").endswith("-list"):
            actions = getattr(entry.callback, "actions", None) or {}
            if "get" in actions or "post" in actions:
                route = (prefix + str(entry.pattern)).replace("^", "").replace("/?$", "")
                yield "/" + route, actions


def test_every_collection_refuses_an_unknown_filter_and_caps_the_page(admin_api):
    lists = [path for path, actions in _collections() if "get" in actions]
    assert len(lists) > 40
    for path in lists:
        response = admin_api.get(path, {"colour": "blue"})
        assert response.status_code == 400, path
        assert response.json()["errors"] == {"colour": ["'colour' is not a filterable attribute."]}
        # Over the cap: capped (not refused), the query reads at most MAX_LIMIT rows.
        with CaptureQueriesContext(connection) as queries:
            capped = admin_api.get(path, {"limit": MAX_LIMIT * 50})
        assert capped.status_code == 200, (path, capped.content[:300])
        limits = [q["sql"] for q in queries if f"LIMIT {MAX_LIMIT * 50}" in q["sql"]]
        assert not limits, path
        assert admin_api.get(path, {"limit": "-1"}).status_code == 400, path


def test_every_collection_refuses_invalid_utf8_with_a_400(admin_api):
    creators = [path for path, actions in _collections() if "post" in actions]
    assert len(creators) > 30
    for path in creators:
        response = admin_api.generic(
            "POST", path, b'{"name": "\xff\xfe broken"}', content_type="application/json"
        )
        assert response.status_code == 400, (path, response.status_code, response.content[:200])
        assert response.json()["code"] == "parse_error", path


def test_negative_money_and_volumes_are_400s_naming_the_field_and_change_nothing(
    finance_api, noc_api
):
    product = active_product(start_date=datetime(2026, 10, 1, tzinfo=UTC))
    service_id = str(product.services.get().pk)
    account = BillingAccountFactory()
    prepaid = prepaid_product()
    money = bucket(prepaid, "monetary")

    def usage(event_id, volume):
        characteristics = {
            "eventId": event_id,
            "serviceId": service_id,
            "volume": volume,
            "unit": "MB",
            "ratingGroup": "DATA_5G_PREMIUM",
        }
        return {
            "usageDate": "2026-10-20T10:00:00Z",
            "usageType": "data",
            "usageCharacteristic": [{"name": n, "value": v} for n, v in characteristics.items()],
        }

    before = (Payment.objects.count(), TopupBalance.objects.count(), UsageEvent.objects.count())
    limit_before = BillingAccount.objects.get(pk=account.pk).credit_limit
    cases = [
        (
            finance_api.post,
            "/tmf-api/paymentManagement/v4/payment",
            {
                "account": {"id": str(account.pk)},
                "totalAmount": {"unit": "EUR", "value": -5},
                "paymentMethod": {"id": "bankTransfer"},
            },
            "totalAmount",
        ),
        (
            finance_api.post,
            "/tmf-api/prepayBalanceManagement/v4/topupBalance",
            {
                "bucket": {"id": str(money.pk)},
                "partyAccount": {"id": str(prepaid.billing_account_id)},
                "usageType": "monetary",
                "amount": {"amount": -20, "units": "EUR"},
                "paymentMethod": {"id": "card"},
            },
            "amount",
        ),
        (
            finance_api.patch,
            f"/tmf-api/accountManagement/v4/billingAccount/{account.pk}",
            {"creditLimit": {"unit": account.currency, "value": -100}},
            "creditLimit",
        ),
        (noc_api.post, "/tmf-api/usageManagement/v4/usage", usage("neg-1", "-1"), "volume"),
    ]
    for send, path, body, field in cases:
        response = send(path, body, format="json")
        assert response.status_code == 400, (path, response.status_code, response.content[:300])
        assert field in response.content.decode(), (path, response.content[:300])
    after = (Payment.objects.count(), TopupBalance.objects.count(), UsageEvent.objects.count())
    assert after == before
    # In a batch, records are answered one by one (DESIGN: nothing accepted is lost): the
    # negative one is kept as rejected usage for operations, never rated.
    batch = noc_api.post(
        "/tmf-api/usageManagement/v4/usage",
        [usage("ok-1", "10"), usage("neg-2", "-3")],
        format="json",
    )
    assert batch.status_code == 207, batch.content[:300]
    rejected = batch.json()["results"][1]
    assert (rejected["status"], rejected["reason"]) == ("rejected", "invalidValue")
    assert rejected["message"].startswith("volume:")
    assert UsageEvent.objects.get(event_id="neg-2").status == "rejected"
    assert BillingAccount.objects.get(pk=account.pk).credit_limit == limit_before
