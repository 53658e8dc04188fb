""" "Why is it slow": the KPI charts along a customer's service path on the agent 360 and on the
NOC service page, breaches marked, in a fixed number of queries; `labnet kpis` fills them."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.core.management import ManagementUtility
from django.test import RequestFactory
from django.urls import reverse

from assurance.kpis.generator import kpi_series_generate
from assurance.kpis.ingest import kpi_samples_ingest
from assurance.models import KpiBreach, KpiSample, KpiThreshold
from assurance.tests.factories import subscribe
from inventory.tests.factories import GnbFactory

NOW = datetime(2031, 3, 10, 12, 0, tzinfo=UTC)


@pytest.fixture
def pinned():
    with time_machine.travel(NOW, tick=False):
        yield


def congestion(cell, *, minutes: int, hot: range):
    start = NOW - timedelta(minutes=minutes)
    return [
        (cell.name, None, "prbUtilisation", start + timedelta(minutes=n), 97.0 if n in hot else 40)
        for n in range(minutes)
    ]


@pytest.mark.django_db
def test_the_360_charts_the_kpis_on_the_service_path_with_breaches(pinned, agent_client):
    cell = GnbFactory(name="GNB-SLOW-1")
    subscription = subscribe(cell)
    KpiThreshold.objects.create(
        metric="prbUtilisation", raise_above=90, clear_below=70, raise_after=3
    )
    kpi_samples_ingest(congestion(cell, minutes=120, hot=range(30, 60)))
    assert KpiBreach.objects.count() == 1
    url = reverse("crm:customer-detail", args=[subscription.customer.pk])
    page = agent_client.get(url).content.decode()
    assert "Why is it slow?" in page
    assert "PRB utilisation on GNB-SLOW-1" in page
    assert "1 breach" in page
    assert page.count('class="breach" x=') == 1
    assert "<polyline points=" in page


@pytest.mark.django_db
def test_the_charts_take_the_same_queries_however_much_is_measured(
    pinned, django_assert_max_num_queries
):
    from assurance.kpis.panels import customer_kpis_context

    cell = GnbFactory()
    subscription = subscribe(cell)
    request = RequestFactory().get("/")
    kpi_samples_ingest(congestion(cell, minutes=30, hot=range(0)))
    with django_assert_max_num_queries(6) as few:
        small = customer_kpis_context(request, subscription.customer)
    kpi_samples_ingest(congestion(cell, minutes=600, hot=range(100, 200)))
    kpi_samples_ingest([(cell.name, None, "latency", NOW - timedelta(minutes=5), 9.0)])
    with django_assert_max_num_queries(len(few.captured_queries)):
        large = customer_kpis_context(request, subscription.customer)
    assert (len(small["kpi_charts"]), len(large["kpi_charts"])) == (1, 2)


@pytest.mark.django_db
def test_the_noc_service_page_panel_and_labnet_kpis(pinned, noc_client):
    cell = GnbFactory(name="GNB-LAB-1")
    service = subscribe(cell).service
    # As from the shell: labnet hands its registered subcommand the rest of the command line.
    ManagementUtility(
        ["manage.py", "labnet", "kpis", "--hours", "2", "--congest", "GNB-LAB-1"]
    ).execute()
    stored = KpiSample.objects.filter(series__resource=cell).count()
    assert stored == 24  # two hours of 5-minute samples
    assert KpiSample.objects.filter(series__service=service).count() == 24
    # Generating the same span again stores nothing twice.
    assert kpi_series_generate(hours=2).stored == 0
    html = noc_client.get(reverse("inventory:service-detail", args=[service.pk])).content.decode()
    assert "PRB utilisation on GNB-LAB-1" in html
    assert "Latency on the service end to end" in html
