"""Enterprise VPN and Ethernet: ordered through TMF622 with the sites as `product.place`,
refused when a site cannot be served, reserved and configured per site on the PEs (the lab's
RESTCONF routers), modified (a site added, the bandwidth changed) and terminated."""

from decimal import Decimal

import pytest

from catalog.demo import ensure_catalog
from catalog.demo_enterprise import ensure_enterprise_catalog
from crm.tests.factories import BillingAccountFactory
from inventory import services as inventory_services
from inventory.models import ProductInstance, Resource, ServiceResource
from inventory.services import SiteDemand
from inventory.tests.enterprise import enterprise_network
from orders import services
from orders.models import ActivationStep, ProductOrder, ServiceOrder
from orders.services.enterprise import sites_of as enterprise_sites_of
from orders.tests.test_ftth import run

pytestmark = pytest.mark.django_db

ORDER = "/tmf-api/productOrderingManagement/v4/productOrder"
SERVICE_ORDER = "/tmf-api/serviceOrdering/v4/serviceOrder"


@pytest.fixture
def vpn():
    """The demo catalog with Enterprise VPN, three sites on their own PEs (two free 1G access
    ports each, 1.5G uplinks), and an enterprise customer's account."""
    ensure_catalog()
    return {
        "offering": ensure_enterprise_catalog(),
        "account": BillingAccountFactory(customer__segment="enterprise"),
        "network": enterprise_network(sites=3, access_ports=2, uplink_mbps=1500),
    }


def order_body(offering, account, sites, bandwidth="100Mbps") -> dict:
    return {
        "productOrderItem": [
            {
                "id": "1",
                "action": "add",
                "productOffering": {"id": str(offering.pk)},
                "product": {
                    "productCharacteristic": [{"name": "bandwidth", "value": bandwidth}],
                    "place": [
                        {"id": str(site.pk), "role": "vpnSite", "@referredType": "GeographicSite"}
                        for site in sites
                    ],
                },
            }
        ],
        "relatedParty": [{"id": str(account.customer_id), "@referredType": "Customer"}],
        "billingAccount": {"id": str(account.pk)},
    }


def change(product, body_product: dict, agent_api) -> ProductOrder:
    response = agent_api.post(
        ORDER,
        {
            "productOrderItem": [
                {"id": "1", "action": "modify", "product": {"id": str(product.pk), **body_product}}
            ],
            "relatedParty": [{"id": str(product.customer_id), "@referredType": "Customer"}],
            "billingAccount": {"id": str(product.billing_account_id)},
        },
        format="json",
    )
    assert response.status_code == 201, response.data
    return run(ProductOrder.objects.get(pk=response.data["id"]))


def held(service) -> list[tuple[str, int]]:
    return sorted(
        ServiceResource.objects.filter(service=service)
        .exclude(state="released")
        .values_list("resource__resource_kind", "capacity_mbps")
    )


def pe_entry(lab, router) -> dict:
    (entry,) = lab.config(router.name).values()
    return entry


def test_a_vpn_order_configures_each_sites_pe_then_activates(vpn, agent_api, lab):
    network = vpn["network"]
    first, second, _ = network.sites
    response = agent_api.post(
        ORDER, order_body(vpn["offering"], vpn["account"], [first, second]), format="json"
    )
    assert response.status_code == 201, response.data
    assert [p["id"] for p in response.data["productOrderItem"][0]["product"]["place"]] == [
        str(first.pk),
        str(second.pk),
    ]
    order = run(ProductOrder.objects.get(pk=response.data["id"]))

    assert order.state == "completed"
    service_order = order.service_orders.get()
    pe = network.edge_routers
    steps = ActivationStep.objects.filter(item__order=service_order).order_by("sequence")
    assert [(step.name, step.state) for step in steps] == [
        ("Reserve PE ports, VLANs, bandwidth and route target", "done"),
        (f"Configure PE {pe[first.pk].name}", "done"),
        (f"Configure PE {pe[second.pk].name}", "done"),
        ("Verify configuration", "done"),
        ("Activate service", "done"),
    ]
    cfs = service_order.items.get().service
    sites = list(cfs.children.order_by("pk"))
    assert [child.service_specification.name for child in sites] == ["VPN site access"] * 2
    assert {s.state for s in [cfs, *sites]} == {"active"}
    assert held(cfs) == [("routeTarget", 0)]
    assert held(sites[0]) == [
        ("fibreLink", 100),
        ("ipAddress", 0),
        ("port", 100),
        ("router", 100),
        ("vlan", 0),
    ]
    # What each PE holds, as it reports it over RESTCONF: the VRF with the VPN's route target,
    # the site's subinterface with its VLAN and address, the policer at the site's bandwidth.
    for number, site in enumerate(sites):
        router = pe[int(site.characteristics["site"])]
        entry = pe_entry(lab, router)
        assert entry["vrf"] == {
            "name": f"VPN-{cfs.pk}",
            "route-distinguisher": f"65000:{cfs.pk}",
            "import-route-targets": ["65000:1000"],
            "export-route-targets": ["65000:1000"],
        }
        assert entry["subinterface"]["interface"] == f"{router.name}/0/2"
        assert entry["subinterface"]["vlan-id"] == 100 + number
        assert entry["subinterface"]["ipv4-address"] == f"10.200.0.{1 + number}"
        assert entry["policer"] == {"rate-mbps": 100}
    product = ProductInstance.objects.get()
    assert (product.status, product.characteristics["sites"]) == (
        "active",
        f"{first.pk},{second.pk}",
    )


def test_a_site_that_cannot_be_served_refuses_the_order_naming_it(vpn, agent_api, lab):
    network = vpn["network"]
    first, full, _ = network.sites
    for _ in range(2):  # both access ports of the second site's PE are taken
        other = inventory_services.service_create(
            service_specification=vpn[
                "offering"
            ].product_specification.service_specifications.get(),
            characteristics={},
        )
        inventory_services.access_reserve(holders={other: SiteDemand(full.pk, 10)})

    response = agent_api.post(
        ORDER, order_body(vpn["offering"], vpn["account"], [first, full]), format="json"
    )

    assert response.status_code == 400
    body = response.json()
    assert list(body["errors"]) == ["productOrderItem[0].product.place[1]"]
    assert body["errors"]["productOrderItem[0].product.place[1]"] == [
        f"Not feasible: Site E-SITE-2 ({full.pk}): PE-E-2 has no free port of 100 Mbps."
    ]
    assert not ProductOrder.objects.exists()
    # A link short of bandwidth is named the same way.
    third = network.sites[2]
    ServiceResource.objects.create(
        service=other, resource=network.uplinks[third.pk], capacity_mbps=1000
    )
    body = order_body(vpn["offering"], vpn["account"], [first, third], bandwidth="1Gbps")
    response = agent_api.post(ORDER, body, format="json")
    assert response.status_code == 400
    assert response.json()["errors"] == {
        "productOrderItem[0].product.place[1]": [
            f"Not feasible: Site E-SITE-3 ({third.pk}): link PE-E-3-UPLINK lacks 500 Mbps "
            "(for 1000 Mbps from PE-E-3 to the core)."
        ]
    }
    no_place = order_body(vpn["offering"], vpn["account"], [])
    response = agent_api.post(ORDER, no_place, format="json")
    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["productOrderItem[0].product.place"]


def test_a_site_is_added_the_bandwidth_changed_then_terminate_gives_everything_back(
    vpn, agent_api, lab
):
    network = vpn["network"]
    first, second, third = network.sites
    pe = network.edge_routers
    response = agent_api.post(
        ORDER, order_body(vpn["offering"], vpn["account"], [first, second]), format="json"
    )
    assert run(ProductOrder.objects.get(pk=response.data["id"])).state == "completed"
    product = ProductInstance.objects.get()
    cfs = product.services.get()

    places = [
        {"id": str(site.pk), "role": "vpnSite", "@referredType": "GeographicSite"}
        for site in (first, second, third)
    ]
    order = change(product, {"place": places}, agent_api)
    assert order.state == "completed", order.service_orders.get().failure_reason
    steps = ActivationStep.objects.filter(item__order=order.service_orders.get())
    assert [step.name for step in steps.order_by("sequence")] == [
        "Reserve PE ports, VLANs, bandwidth and route target",
        f"Modify {pe[first.pk].name}",
        f"Modify {pe[second.pk].name}",
        f"Configure PE {pe[third.pk].name}",
        "Verify configuration",
        "Record the change",
    ]
    added = cfs.children.order_by("pk").last()
    assert added.state == "active"
    assert pe_entry(lab, pe[third.pk])["vrf"]["import-route-targets"] == ["65000:1000"]
    product.refresh_from_db()
    assert product.characteristics["sites"] == f"{first.pk},{second.pk},{third.pk}"

    order = change(
        product, {"productCharacteristic": [{"name": "bandwidth", "value": "500Mbps"}]}, agent_api
    )
    assert order.state == "completed", order.service_orders.get().failure_reason
    uplinks = [network.uplinks[site.pk] for site in (first, second, third)]
    assert [
        sum(
            ServiceResource.objects.filter(resource=link)
            .exclude(state="released")
            .values_list("capacity_mbps", flat=True)
        )
        for link in uplinks
    ] == [500, 500, 500]
    assert {pe_entry(lab, pe[site.pk])["policer"]["rate-mbps"] for site in network.sites} == {500}

    response = agent_api.post(
        ORDER,
        {
            "productOrderItem": [
                {"id": "1", "action": "delete", "product": {"id": str(product.pk)}}
            ],
            "relatedParty": [{"id": str(product.customer_id), "@referredType": "Customer"}],
        },
        format="json",
    )
    assert response.status_code == 201, response.data
    assert run(ProductOrder.objects.get(pk=response.data["id"])).state == "completed"
    product.refresh_from_db()
    assert product.status == "terminated"
    assert not ServiceResource.objects.exclude(state="released").exists()
    assert not lab.configured()
    assert not Resource.objects.filter(
        resource_kind__in=["routeTarget", "vlan", "ipAddress"], resource_status="reserved"
    ).exists()
    answers = inventory_services.feasibility_check(
        [SiteDemand(site.pk, 1000) for site in network.sites]
    )
    assert [answer.reasons for answer in answers] == [[], [], []]


def test_enterprise_ethernet_is_one_sites_access_without_a_vrf(vpn, agent_api, lab):
    ethernet = ensure_catalog()["Enterprise Ethernet"]
    network = vpn["network"]
    first, second, _ = network.sites
    body = order_body(ethernet, vpn["account"], [first, second], bandwidth="1Gbps")
    response = agent_api.post(ORDER, body, format="json")
    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["productOrderItem[0].product.place"]

    body = order_body(ethernet, vpn["account"], [first], bandwidth="1Gbps")
    response = agent_api.post(ORDER, body, format="json")
    assert response.status_code == 201, response.data
    order = run(ProductOrder.objects.get(pk=response.data["id"]))
    assert order.state == "completed", order.service_orders.get().failure_reason
    entry = pe_entry(lab, network.edge_routers[first.pk])
    assert "vrf" not in entry
    assert entry["subinterface"]["vlan-id"] == 100
    assert entry["policer"] == {"rate-mbps": 1000}


def test_a_pe_that_refuses_fails_the_order_and_leaves_nothing_configured_or_held(
    vpn, agent_api, lab
):
    network = vpn["network"]
    first, second, _ = network.sites
    lab.fail(network.edge_routers[second.pk].name, "permanent")
    response = agent_api.post(
        ORDER, order_body(vpn["offering"], vpn["account"], [first, second]), format="json"
    )
    order = run(ProductOrder.objects.get(pk=response.data["id"]))

    assert order.state == "failed"
    steps = ActivationStep.objects.filter(item__order=order.service_orders.get())
    assert [step.state for step in steps.order_by("sequence")] == [
        "compensated",  # the reservation, given back
        "compensated",  # the first PE, configured then undone
        "failed",
        "pending",
        "pending",
    ]
    assert ProductInstance.objects.get().status == "aborted"
    assert not lab.configured()
    assert not ServiceResource.objects.exclude(state="released").exists()
    assert not Resource.objects.filter(resource_status="reserved").exists()


def test_suspend_and_resume_lock_and_unlock_every_pe(vpn, agent_api, lab):
    network = vpn["network"]
    first, second, _ = network.sites
    response = agent_api.post(
        ORDER, order_body(vpn["offering"], vpn["account"], [first, second]), format="json"
    )
    run(ProductOrder.objects.get(pk=response.data["id"]))
    product = ProductInstance.objects.get()
    routers = [network.edge_routers[site.pk] for site in (first, second)]

    assert change(product, {"status": "suspended"}, agent_api).state == "completed"
    assert [pe_entry(lab, router)["enabled"] for router in routers] == [False, False]
    product.refresh_from_db()
    assert product.status == "suspended"

    assert change(product, {"status": "active"}, agent_api).state == "completed"
    assert [pe_entry(lab, router)["enabled"] for router in routers] == [True, True]
    # Suspension keeps the access: the ports stay the customer's.
    assert held(product.services.get().children.order_by("pk").first())[2] == ("port", 100)


def test_a_vpn_service_ordered_directly_through_tmf641(vpn, noc_api, lab):
    network = vpn["network"]
    first, second, _ = network.sites
    specification = vpn["offering"].product_specification.service_specifications.get()

    def body(*sites):
        service = {
            "serviceSpecification": {"id": str(specification.pk)},
            "serviceCharacteristic": [{"name": "bandwidth", "value": "50Mbps"}],
            "place": [{"id": str(pk), "role": "vpnSite"} for pk in sites],
        }
        return {"serviceOrderItem": [{"id": "1", "action": "add", "service": service}]}

    response = noc_api.post(SERVICE_ORDER, body(first.pk, 987654), format="json")
    assert response.status_code == 400
    assert response.json()["errors"] == {
        "serviceOrderItem[0].service.place[1]": ["Not feasible: Site 987654 does not exist."]
    }
    response = noc_api.post(SERVICE_ORDER, body(first.pk, second.pk), format="json")
    assert response.status_code == 201, response.data
    services.service_order_run(service_order_id=int(response.data["id"]))
    order = noc_api.get(f"{SERVICE_ORDER}/{response.data['id']}").json()
    assert order["state"] == "completed"
    assert {
        pe_entry(lab, network.edge_routers[s.pk])["policer"]["rate-mbps"] for s in (first, second)
    } == {50}


def test_a_bandwidth_a_sites_link_cannot_carry_is_refused_and_nothing_changes(vpn, agent_api, lab):
    network = vpn["network"]
    first, second, _ = network.sites
    response = agent_api.post(
        ORDER, order_body(vpn["offering"], vpn["account"], [first, second]), format="json"
    )
    run(ProductOrder.objects.get(pk=response.data["id"]))
    product = ProductInstance.objects.get()
    other = product.services.get()  # any holder: 1000 Mbps more on the second site's uplink
    ServiceResource.objects.create(
        service=other, resource=network.uplinks[second.pk], capacity_mbps=1000
    )

    response = agent_api.post(
        ORDER,
        {
            "productOrderItem": [
                {
                    "id": "1",
                    "action": "modify",
                    "product": {
                        "id": str(product.pk),
                        "productCharacteristic": [{"name": "bandwidth", "value": "1Gbps"}],
                    },
                }
            ],
            "relatedParty": [{"id": str(product.customer_id), "@referredType": "Customer"}],
        },
        format="json",
    )

    assert response.status_code == 400
    assert response.json()["errors"] == {
        "productOrderItem[0].product.productCharacteristic.bandwidth": [
            f"Not feasible: a port or link of a site of {product.name} service lacks 1000 Mbps."
        ]
    }
    assert ProductOrder.objects.count() == 1
    assert pe_entry(lab, network.edge_routers[second.pk])["policer"] == {"rate-mbps": 100}


def test_a_direct_change_of_sites_is_checked_as_a_product_change_is(vpn, noc_api, lab):
    network = vpn["network"]
    first, second, third = network.sites
    specification = vpn["offering"].product_specification.service_specifications.get()
    response = noc_api.post(
        SERVICE_ORDER,
        {
            "serviceOrderItem": [
                {
                    "id": "1",
                    "action": "add",
                    "service": {
                        "serviceSpecification": {"id": str(specification.pk)},
                        "serviceCharacteristic": [{"name": "bandwidth", "value": "50Mbps"}],
                        "place": [{"id": str(s.pk), "role": "vpnSite"} for s in (first, second)],
                    },
                }
            ]
        },
        format="json",
    )
    services.service_order_run(service_order_id=int(response.data["id"]))
    cfs = ServiceOrder.objects.get(pk=response.data["id"]).items.get().service

    def modify(**service):
        item = {"id": "1", "action": "modify", "service": {"id": str(cfs.pk), **service}}
        return noc_api.post(SERVICE_ORDER, {"serviceOrderItem": [item]}, format="json")

    def places(*site_ids):
        return [{"id": str(pk), "role": "vpnSite"} for pk in site_ids]

    unknown = modify(place=places(first.pk, second.pk, 987654))
    dropped = modify(place=places(first.pk))
    assert unknown.status_code == dropped.status_code == 400
    assert list(unknown.json()["errors"]) == ["serviceOrderItem[0].service.place[2]"]
    assert "cannot be left out" in dropped.json()["errors"]["serviceOrderItem[0].service.place"][0]

    suspend = modify(state="inactive")
    services.service_order_run(service_order_id=int(suspend.data["id"]))
    while_suspended = modify(place=places(first.pk, second.pk, third.pk))

    assert while_suspended.status_code == 400
    assert while_suspended.json()["errors"] == {
        "serviceOrderItem[0].service.place[2]": [
            f"Site {third.pk} cannot be added while the service is suspended: resume it first."
        ]
    }
    cfs.refresh_from_db()
    assert enterprise_sites_of(cfs.characteristics) == [str(first.pk), str(second.pk)]


def test_the_nocs_element_reading_of_a_vpn_does_not_query_per_site(vpn, agent_api, noc_client):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    sites = vpn["network"].sites

    def reading_queries(site_list) -> tuple[int, str]:
        response = agent_api.post(
            ORDER, order_body(vpn["offering"], vpn["account"], site_list), format="json"
        )
        run(ProductOrder.objects.get(pk=response.data["id"]))
        cfs = ProductInstance.objects.get(product_order_id=response.data["id"]).services.get()
        with CaptureQueriesContext(connection) as queries:
            html = noc_client.get(f"/noc/inventory/services/{cfs.pk}/config/").content.decode()
        return len(queries), html

    two, two_html = reading_queries(sites[:2])
    three, three_html = reading_queries(sites)

    assert two_html.count('data-element="') == 2
    assert three_html.count('data-element="') == 3
    assert "every element holds what the inventory expects" in three_html
    assert three == two


def test_the_credit_check_counts_the_monthly_fee_of_every_site(vpn, agent_api, lab):
    account = vpn["account"]
    account.credit_limit = Decimal("800.00")
    account.save(update_fields=["credit_limit"])
    first, second, _ = vpn["network"].sites

    two_sites = order_body(vpn["offering"], account, [first, second])
    response = agent_api.post(ORDER, two_sites, format="json")

    assert response.status_code == 400
    assert response.json()["errors"]["billingAccount.id"] == [
        "Credit limit exceeded: balance 0.00 plus 900.00 a month is over the limit of 800.00 EUR."
    ]
    assert not ProductOrder.objects.exists()
    one_site = order_body(vpn["offering"], account, [first])  # 400 + 250 a month
    assert agent_api.post(ORDER, one_site, format="json").status_code == 201
