"""TMF645 checkServiceQualification: per site feasibility through the API."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from catalog.tests.factories import ServiceSpecificationFactory
from inventory import services
from inventory.models import ServiceQualification
from inventory.services import SiteDemand
from inventory.tests.enterprise import enterprise_network

pytestmark = pytest.mark.django_db
CHECKS = "/tmf-api/serviceQualificationManagement/v4/checkServiceQualification"


def _body(*site_ids, bandwidth="100Mbps", specification_id=None) -> dict:
    service = {
        "place": [
            {"id": str(pk), "role": "vpnSite", "@referredType": "GeographicSite"} for pk in site_ids
        ],
        "serviceCharacteristic": [{"name": "bandwidth", "value": bandwidth}],
    }
    if specification_id is not None:
        service["serviceSpecification"] = {"id": str(specification_id)}
    return {"serviceQualificationItem": [{"id": "1", "service": service}]}


def test_an_agent_checks_sites_and_learns_which_cannot_be_served_and_why(agent_api):
    network = enterprise_network(sites=2, access_ports=1, uplink_mbps=10_000)
    ok, full = network.sites
    holder = services.service_create(
        service_specification=ServiceSpecificationFactory(), characteristics={}
    )
    services.access_reserve(holders={holder: SiteDemand(full.pk, 100)})
    specification = ServiceSpecificationFactory(name="IP VPN Service")

    response = agent_api.post(
        CHECKS, _body(ok.pk, full.pk, specification_id=specification.pk), format="json"
    )

    assert response.status_code == 201, response.content
    body = response.json()
    assert response["Location"] == body["href"]
    assert body["href"].endswith(f"{CHECKS}/{body['id']}")
    assert (body["state"], body["qualificationResult"], body["@type"]) == (
        "done",
        "unqualified",
        "CheckServiceQualification",
    )
    (item,) = body["serviceQualificationItem"]
    assert item["qualificationResult"] == "unqualified"
    assert item["eligibilityUnavailabilityReason"] == [
        {
            "code": "noFreePort",
            "label": f"Site E-SITE-2 ({full.pk}): PE-E-2 has no free port of 100 Mbps.",
            "@type": "ServiceEligibilityUnavailabilityReason",
        }
    ]
    assert [place["id"] for place in item["service"]["place"]] == [str(ok.pk), str(full.pk)]
    assert item["service"]["serviceSpecification"]["name"] == "IP VPN Service"

    qualified = agent_api.post(CHECKS, _body(ok.pk, bandwidth="1Gbps"), format="json").json()
    assert qualified["qualificationResult"] == "qualified"
    assert qualified["serviceQualificationItem"][0]["eligibilityUnavailabilityReason"] == []
    got = agent_api.get(f"{CHECKS}/{qualified['id']}")
    assert got.status_code == 200
    assert got.json() == qualified
    listed = agent_api.get(CHECKS, {"qualificationResult": "qualified", "fields": "state"})
    assert listed.json() == [{"id": qualified["id"], "href": qualified["href"], "state": "done"}]
    assert listed["X-Total-Count"] == "1"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "serviceQualificationItem"),
        ({"serviceQualificationItem": []}, "serviceQualificationItem"),
        (
            {"serviceQualificationItem": [{"id": "1", "service": {"place": []}}]},
            "serviceQualificationItem[0].service.place",
        ),
        (
            {"serviceQualificationItem": [{"id": "1", "service": {"place": [{"id": "x"}]}}]},
            "serviceQualificationItem[0].service.place[0].id",
        ),
        ("bandwidth", "serviceQualificationItem[0].service.serviceCharacteristic.bandwidth"),
        ("specification", "serviceQualificationItem[0].service.serviceSpecification.id"),
    ],
)
def test_bad_input_is_refused_naming_the_field(noc_api, body, field):
    if body == "bandwidth":
        body = _body(1, bandwidth="fast")
    elif body == "specification":
        body = _body(1, specification_id=987654)
    response = noc_api.post(CHECKS, body, format="json")
    assert response.status_code == 400, response.content
    assert field in str(response.json()), response.json()
    assert not ServiceQualification.objects.exists()


def test_only_agents_and_the_noc_check(finance_api, anonymous_api, agent_api):
    network = enterprise_network(sites=1)
    body = _body(network.sites[0].pk)
    assert anonymous_api.post(CHECKS, body, format="json").status_code == 401
    assert anonymous_api.get(CHECKS).status_code == 401
    assert finance_api.post(CHECKS, body, format="json").status_code == 403
    assert finance_api.get(CHECKS).status_code == 403
    assert agent_api.post(CHECKS, body, format="json").status_code == 201


def test_the_list_reads_in_a_fixed_number_of_queries(agent_api):
    network = enterprise_network(sites=2)
    specification = ServiceSpecificationFactory()

    def count(checks: int) -> int:
        for _ in range(checks):
            body = _body(*[s.pk for s in network.sites], specification_id=specification.pk)
            agent_api.post(CHECKS, body, format="json")
        with CaptureQueriesContext(connection) as queries:
            response = agent_api.get(CHECKS)
        assert response.status_code == 200
        return len(queries)

    assert count(1) == count(4)
