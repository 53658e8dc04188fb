"""KPI thresholds in the admin: listed, added and edited by NOC staff, with terms that must add
up (the rule of KpiThreshold.clean, which the service shares); breaches listed read-only."""

import pytest
from django.test import Client

from assurance.kpis.thresholds import kpi_threshold_set
from assurance.models import KpiThreshold
from inventory.tests.factories import GnbFactory
from telco.exceptions import DomainError

pytestmark = pytest.mark.django_db

LIST = "/admin/assurance/kpithreshold/"
ADD = "/admin/assurance/kpithreshold/add/"


@pytest.fixture
def noc_staff(noc_user) -> Client:
    noc_user.is_staff = True
    noc_user.save(update_fields=["is_staff"])
    client = Client()
    client.force_login(noc_user)
    return client


def form(**overrides) -> dict:
    data = {
        "metric": "prbUtilisation",
        "resource": "",
        "severity": "major",
        "is_active": "on",
        "raise_above": "85",
        "raise_after": "3",
        "clear_below": "70",
    }
    data.update(overrides)
    return data


def test_noc_staff_list_add_and_edit_thresholds(noc_staff):
    cell = GnbFactory(name="GNB-ADMIN-1")

    added = noc_staff.post(ADD, form())
    assert added.status_code == 302, added.context["adminform"].form.errors
    on_cell = noc_staff.post(
        ADD, form(metric="latency", resource=str(cell.pk), raise_above="20", clear_below="15")
    )
    assert on_cell.status_code == 302

    page = noc_staff.get(LIST)
    assert page.status_code == 200
    assert page.content.decode().count('class="action-select"') == 2
    assert noc_staff.get(LIST, {"q": "GNB-ADMIN"}).context["cl"].result_count == 1

    threshold = KpiThreshold.objects.get(resource__isnull=True)
    changed = noc_staff.post(
        f"/admin/assurance/kpithreshold/{threshold.pk}/change/",
        form(raise_above="90", clear_below="75", raise_after="5"),
    )
    assert changed.status_code == 302
    threshold.refresh_from_db()
    assert (threshold.raise_above, threshold.clear_below, threshold.raise_after) == (90, 75, 5)


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        (
            {"clear_below": "85"},
            "clear_below",
            "The clear level must be below the raise level (85).",
        ),
        (
            {"clear_below": "90"},
            "clear_below",
            "The clear level must be below the raise level (85).",
        ),
        ({"raise_after": "0"}, "raise_after", "Raise after at least one sample above."),
        ({"metric": "temperature"}, "metric", "is not one of the available choices"),
    ],
)
def test_terms_that_do_not_add_up_are_answered_on_the_form(noc_staff, overrides, field, message):
    answer = noc_staff.post(ADD, form(**overrides))

    assert answer.status_code == 200
    errors = answer.context["adminform"].form.errors
    assert message in " ".join(errors[field])
    assert KpiThreshold.objects.count() == 0


def test_an_edit_that_breaks_the_terms_changes_nothing(noc_staff):
    threshold = kpi_threshold_set(metric="latency", raise_above=50, clear_below=40)

    answer = noc_staff.post(
        f"/admin/assurance/kpithreshold/{threshold.pk}/change/",
        form(metric="latency", raise_above="30", clear_below="40"),
    )

    assert answer.status_code == 200
    assert answer.context["adminform"].form.errors["clear_below"]
    threshold.refresh_from_db()
    assert (threshold.raise_above, threshold.clear_below) == (50, 40)


def test_a_second_threshold_for_the_same_metric_is_refused(noc_staff):
    kpi_threshold_set(metric="prbUtilisation", raise_above=85, clear_below=70)

    answer = noc_staff.post(ADD, form())

    assert answer.status_code == 200
    assert KpiThreshold.objects.count() == 1


def test_the_service_shares_the_rule_and_changes_nothing_when_refused():
    threshold = kpi_threshold_set(metric="latency", raise_above=50, clear_below=40)

    with pytest.raises(DomainError) as refused:
        kpi_threshold_set(metric="latency", raise_above=50, clear_below=60)
    assert refused.value.field == "clear_below"
    with pytest.raises(DomainError) as unknown:
        kpi_threshold_set(metric="temperature", raise_above=50, clear_below=40)
    assert unknown.value.field == "metric"

    threshold.refresh_from_db()
    assert (threshold.raise_above, threshold.clear_below) == (50, 40)
    moved = kpi_threshold_set(metric="latency", raise_above=60, clear_below=45, raise_after=2)
    assert (moved.pk, moved.raise_above, moved.raise_after) == (threshold.pk, 60, 2)


def test_breaches_are_listed_read_only(noc_staff):
    assert noc_staff.get("/admin/assurance/kpibreach/").status_code == 200
    assert noc_staff.get("/admin/assurance/kpibreach/add/").status_code == 403
