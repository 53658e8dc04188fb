"""TMF645 queryServiceQualification: what can be delivered at these sites, and how fast (the
fastest access a free PE port and the route to the core allow now), through the API."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from catalog.demo import ensure_catalog
from catalog.demo_enterprise import ensure_enterprise_catalog
from catalog.models import ServiceSpecification
from inventory import services
from inventory.models import ServiceQualification, ServiceResource
from inventory.services import SiteDemand
from inventory.tests.enterprise import enterprise_network

pytestmark = pytest.mark.django_db
QUERIES = "/tmf-api/serviceQualificationManagement/v4/queryServiceQualification"
CHECKS = "/tmf-api/serviceQualificationManagement/v4/checkServiceQualification"


def _body(*site_ids, **service) -> dict:
    return {
        "searchCriteria": {
            "service": {
                "place": [{"id": str(pk), "role": "vpnSite"} for pk in site_ids],
                **service,
            }
        }
    }


@pytest.fixture
def network():
    """Three sites on their own PEs (two free 1G ports each, 1.5G uplinks) and the demo
    catalog's site-access services (IP VPN Service, Ethernet Line Service)."""
    ensure_catalog()
    ensure_enterprise_catalog()
    return enterprise_network(sites=3, access_ports=2, uplink_mbps=1500)


def _by_site_and_service(body) -> dict:
    return {
        (item["service"]["place"][0]["id"], item["service"]["serviceSpecification"]["name"]): item
        for item in body["serviceQualificationItem"]
    }


def test_an_agent_learns_what_each_site_can_have_and_how_fast(agent_api, network):
    free, loaded, full = network.sites
    holder = services.service_create(
        service_specification=ServiceSpecification.objects.get(name="IP VPN Service"),
        characteristics={},
    )
    services.access_reserve(holders={holder: SiteDemand(full.pk, 10)})
    services.access_reserve(
        holders={
            services.service_create(
                service_specification=holder.service_specification, characteristics={}
            ): SiteDemand(full.pk, 10)
        }
    )
    ServiceResource.objects.create(
        service=holder, resource=network.uplinks[loaded.pk], capacity_mbps=1200
    )

    response = agent_api.post(QUERIES, _body(free.pk, loaded.pk, full.pk, 999999), format="json")

    assert response.status_code == 201, response.content
    body = response.json()
    assert response["Location"] == body["href"]
    assert (body["state"], body["@type"]) == ("done", "QueryServiceQualification")
    assert body["searchCriteria"]["service"]["place"][0] == {"id": str(free.pk), "role": "vpnSite"}
    items = _by_site_and_service(body)
    assert len(items) == 8  # four sites x two site-access services
    fast = items[(str(free.pk), "IP VPN Service")]
    assert fast["qualificationResult"] == "qualified"
    assert fast["service"]["serviceCharacteristic"] == [
        {"name": "maximumBandwidth", "value": "1000Mbps"}
    ]
    assert fast["service"]["place"][0]["name"] == "E-SITE-1"
    # The uplink carries 1,200 of its 1,500 Mbps: the route, not the 1G port, sets the pace.
    slow = items[(str(loaded.pk), "Ethernet Line Service")]
    assert slow["service"]["serviceCharacteristic"] == [
        {"name": "maximumBandwidth", "value": "300Mbps"}
    ]
    no_port = items[(str(full.pk), "IP VPN Service")]
    assert no_port["qualificationResult"] == "unqualified"
    assert [reason["code"] for reason in no_port["eligibilityUnavailabilityReason"]] == [
        "noFreePort"
    ]
    assert no_port["service"]["serviceCharacteristic"] == []
    unknown = items[("999999", "IP VPN Service")]
    assert unknown["eligibilityUnavailabilityReason"][0]["code"] == "unknownSite"

    got = agent_api.get(body["href"])
    assert got.status_code == 200
    assert got.json() == body
    assert agent_api.get(QUERIES).json()[0]["id"] == body["id"]
    assert agent_api.get(CHECKS).json() == []  # a query is not a check


def test_a_bandwidth_and_a_service_narrow_the_answer(noc_api, network):
    free, _, _ = network.sites
    ethernet = ServiceSpecification.objects.get(name="Ethernet Line Service")
    body = _body(
        free.pk,
        serviceSpecification={"id": str(ethernet.pk)},
        serviceCharacteristic=[{"name": "bandwidth", "value": "10Gbps"}],
    )

    answer = noc_api.post(QUERIES, body, format="json").json()

    (item,) = answer["serviceQualificationItem"]
    assert item["service"]["serviceSpecification"]["name"] == "Ethernet Line Service"
    assert item["qualificationResult"] == "unqualified"
    assert item["eligibilityUnavailabilityReason"][0]["code"] == "insufficientBandwidth"
    assert "at most 1000 Mbps" in item["eligibilityUnavailabilityReason"][0]["label"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "searchCriteria"),
        ({"searchCriteria": {"service": {"place": []}}}, "searchCriteria.service.place"),
        ({"searchCriteria": {"service": {"place": [{"id": "x"}]}}}, "place[0].id"),
        ("bandwidth", "searchCriteria.service.serviceCharacteristic.bandwidth"),
        ("unknown specification", "searchCriteria.service.serviceSpecification.id"),
        ("not a site service", "searchCriteria.service.serviceSpecification.id"),
    ],
)
def test_bad_input_is_refused_naming_the_field(agent_api, network, body, field):
    site = network.sites[0].pk
    if body == "bandwidth":
        body = _body(site, serviceCharacteristic=[{"name": "bandwidth", "value": "fast"}])
    elif body == "unknown specification":
        body = _body(site, serviceSpecification={"id": "987654"})
    elif body == "not a site service":
        slice_service = ServiceSpecification.objects.exclude(
            name__in=["IP VPN Service", "Ethernet Line Service"]
        ).first()
        body = _body(site, serviceSpecification={"id": str(slice_service.pk)})
    response = agent_api.post(QUERIES, body, format="json")
    assert response.status_code == 400, response.content
    assert field in str(response.json()), response.json()
    assert not ServiceQualification.objects.exists()


def test_only_agents_and_the_noc_query(finance_api, anonymous_api, network):
    body = _body(network.sites[0].pk)
    assert anonymous_api.post(QUERIES, body, format="json").status_code == 401
    assert finance_api.post(QUERIES, body, format="json").status_code == 403
    assert finance_api.get(QUERIES).status_code == 403


def test_the_list_reads_in_a_fixed_number_of_queries(agent_api, network):
    def count(queries: int) -> int:
        for _ in range(queries):
            agent_api.post(QUERIES, _body(*[s.pk for s in network.sites]), format="json")
        with CaptureQueriesContext(connection) as captured:
            assert agent_api.get(QUERIES).status_code == 200
        return len(captured)

    assert count(1) == count(4)
