"""SLA terms that do not add up are refused with a message on the field, in the model's check
(run by the admin form) and in the admin itself; sound terms are kept."""

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from catalog.models import ServiceLevelAgreement
from catalog.tests.factories import shared_five_g_offering

pytestmark = pytest.mark.django_db
BANDS = [
    {"availabilityBelow": "99.9", "creditPercent": "10"},
    {"availabilityBelow": "99", "creditPercent": "25"},
]


def terms(**changes) -> ServiceLevelAgreement:
    fields = {
        "offering": shared_five_g_offering(),
        "name": "Gold",
        "availability_target": Decimal("99.9"),
        "max_outage_minutes": 40,
        "outage_credit_percent": Decimal(10),
        "latency_target_ms": 20,
        "latency_credit_percent": Decimal(5),
        "credit_bands": BANDS,
    }
    return ServiceLevelAgreement(**{**fields, **changes})


def errors(**changes) -> dict:
    with pytest.raises(ValidationError) as refused:
        terms(**changes).full_clean()
    return refused.value.message_dict


def test_sound_terms_are_kept():
    sla = terms()
    sla.full_clean()
    sla.save()
    assert sla.offering.sla == sla


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"availability_target": Decimal("100.5")}, "availability_target", "not a percent"),
        ({"availability_target": Decimal(0)}, "availability_target", "not a percent"),
        ({"max_outage_minutes": 500}, "max_outage_minutes", "availability target would"),
        ({"latency_target_ms": None}, "latency_credit_percent", "needs latency_target_ms"),
        ({"max_outage_minutes": None}, "outage_credit_percent", "needs max_outage_minutes"),
        ({"credit_bands": list(reversed(BANDS))}, "credit_bands", "ordered by falling"),
        (
            {"credit_bands": [BANDS[0], {"availabilityBelow": "99", "creditPercent": "5"}]},
            "credit_bands",
            "larger credit",
        ),
        (
            {"credit_bands": [{"availabilityBelow": "99.95", "creditPercent": "10"}]},
            "credit_bands",
            "above the availability target",
        ),
        (
            {"credit_bands": [{"availabilityBelow": "99", "creditPercent": "120"}]},
            "credit_bands",
            "not a percent",
        ),
        ({"credit_bands": [{"below": "99"}]}, "credit_bands", "A row is"),
        ({"credit_bands": {"99": 10}}, "credit_bands", "a list of rows"),
    ],
)
def test_terms_that_do_not_add_up_are_refused(changes, field, message):
    found = errors(**changes)
    assert field in found
    assert any(message in text for text in found[field])


def test_admin_form_shows_the_error_and_saves_nothing(admin_client):
    offering = shared_five_g_offering()
    answer = admin_client.post(
        "/admin/catalog/servicelevelagreement/add/",
        {
            "offering": offering.pk,
            "name": "Gold",
            "availability_target": "99.9",
            "outage_credit_percent": "0",
            "latency_allowance_minutes": "0",
            "latency_credit_percent": "0",
            "credit_bands": '[{"availabilityBelow": "99", "creditPercent": "25"}, '
            '{"availabilityBelow": "99.5", "creditPercent": "10"}]',
            "valid_from_0": "2026-01-01",
            "valid_from_1": "00:00:00",
            "last_update_0": "2026-01-01",
            "last_update_1": "00:00:00",
        },
    )
    assert answer.status_code == 200
    assert "ordered by falling availability" in answer.content.decode()
    assert not ServiceLevelAgreement.objects.exists()
