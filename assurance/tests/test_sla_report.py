"""The SLA terms (TMF657 serviceLevelSpecification, read-only) and a customer's SLA report,
page and API: roles, figures, and query counts that do not grow with the rows."""

from datetime import date

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from assurance.choices import ServiceImpact
from assurance.sla import sla_evaluate
from assurance.tests.test_sla import impact, pinned_clock, product, sla, utc  # noqa: F401
from billing.tests.factories import active_product

pytestmark = pytest.mark.django_db
SPECS = "/tmf-api/serviceQualityManagement/v4/serviceLevelSpecification"


def report_url(customer_id):
    return f"/api/v1/assurance/customer/{customer_id}/slaReport"


def test_terms_are_served_as_tmf657_service_level_specifications(agent_api, sla):  # noqa: F811
    answer = agent_api.get(SPECS)

    assert answer.status_code == 200
    (spec,) = answer.json()
    assert spec["name"] == "Enterprise Gold"
    assert spec["@type"] == "ServiceLevelSpecification"
    assert spec["relatedEntity"][0]["id"] == str(sla.offering_id)
    availability = spec["serviceLevelObjective"][0]
    assert (availability["conformanceComparator"], availability["conformanceTarget"]) == (
        ">=",
        "99.900",
    )
    assert spec["creditTable"][1] == {"availabilityBelow": "99", "creditPercent": "25"}
    assert agent_api.get(f"{SPECS}/{sla.pk}").json()["id"] == str(sla.pk)


def test_terms_are_read_only(admin_api, sla):  # noqa: F811
    assert admin_api.post(SPECS, {"name": "x"}, format="json").status_code == 405
    assert admin_api.patch(f"{SPECS}/{sla.pk}", {"name": "x"}, format="json").status_code == 405


def test_report_month_by_month_with_the_credit(finance_api, product):  # noqa: F811
    service = product.services.get()
    incident = impact(service, ServiceImpact.DOWN, utc(2026, 10, 10, 10), utc(2026, 10, 10, 13))
    sla_evaluate(as_of=date(2026, 11, 2))

    answer = finance_api.get(report_url(product.customer_id), {"months": 3})

    assert answer.status_code == 200
    months = answer.json()["month"]
    assert [m["periodStart"][:10] for m in months] == ["2026-12-01", "2026-11-01", "2026-10-01"]
    october = months[2]
    assert october["outageMinutes"] == "180"
    assert (october["availabilityTarget"], october["achievedAvailability"]) == (
        "99.9",
        "99.5968",
    )
    assert october["isBreached"] is True
    assert october["incident"] == [{"id": str(incident.pk)}]
    assert october["credit"] == {
        "creditPercent": "10",
        "amount": {"unit": "EUR", "value": 3.0},
        "billNo": None,
    }
    assert months[1]["isBreached"] is False
    assert months[1]["credit"] is None
    assert months[0]["isComplete"] is False


def test_report_roles_and_bad_input(agent_api, noc_api, finance_api, client, product):  # noqa: F811
    url = report_url(product.customer_id)
    assert agent_api.get(url).status_code == 200
    assert noc_api.get(url).status_code == 200
    assert client.get(url).status_code in (401, 403)
    bad = finance_api.get(url, {"months": "lots"})
    assert bad.status_code == 400
    assert "months" in str(bad.json())
    assert finance_api.get(report_url(999999)).status_code == 404


def test_report_queries_do_not_grow_with_products_and_incidents(finance_api, product):  # noqa: F811
    account = product.billing_account

    def count():
        with CaptureQueriesContext(connection) as queries:
            assert finance_api.get(report_url(product.customer_id)).status_code == 200
        return len(queries)

    first = count()
    for _ in range(3):
        more = active_product(account=account, start_date=utc(2026, 9, 1))
        service = more.services.get()
        impact(service, ServiceImpact.DOWN, utc(2026, 10, 3), utc(2026, 10, 4))
        impact(service, ServiceImpact.DEGRADED, utc(2026, 11, 3), utc(2026, 11, 4))
    assert count() == first


def test_report_page_for_agents_not_anonymous(agent_client, client, product):  # noqa: F811
    service = product.services.get()
    impact(service, ServiceImpact.DOWN, utc(2026, 10, 10, 10), utc(2026, 10, 10, 13))
    url = f"/noc/customers/{product.customer_id}/sla/"

    page = agent_client.get(url)

    assert page.status_code == 200
    body = page.content.decode()
    assert "Enterprise Gold" in body
    assert "99.5968%" in body
    assert "breached" in body
    assert client.get(url).status_code == 302  # to the login
    customer_page = agent_client.get(f"/portal/customers/{product.customer_id}/")
    assert url in customer_page.content.decode()
