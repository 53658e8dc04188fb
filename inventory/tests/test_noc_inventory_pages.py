"""NOC inventory pages: index and search, site, equipment, link, impact and service pages."""

import re

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from assurance import services as assurance_services
from assurance.tests.factories import subscribe
from crm.tests.factories import BillingAccountFactory, CustomerFactory
from inventory.models import Service, ServiceResource, ServiceStateChange
from inventory.services import cable_create, card_create, duct_create, link_create, port_create
from inventory.tests.factories import (
    GnbFactory,
    RegionFactory,
    RouterFactory,
    SiteFactory,
    SliceFactory,
)

pytestmark = pytest.mark.django_db

INDEX = "/noc/inventory/"


def raise_alarm(resource, cause: str = "lossOfSignal"):
    return assurance_services.alarm_raise(
        source_system_id="ems",
        alarmed_object_id=resource.name,
        alarm_type="communicationsAlarm",
        perceived_severity="major",
        probable_cause=cause,
        alarm_raised_time=timezone.now(),
        by="ems",
    )[0]


def row(page: str, row_id: str) -> str:
    return page.split(f'<tr id="{row_id}"')[1].split("</tr>")[0]


def queries_for(client, url: str) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200
    return len(queries)


# ---------------------------------------------------------------------------------------------
# Index and search
# ---------------------------------------------------------------------------------------------


def test_index_lists_regions_and_sites_with_equipment_and_open_alarms(noc_client):
    north = RegionFactory(name="North")
    south = RegionFactory(name="South")
    harbour = SiteFactory(region=north, name="Harbour", address="1 Quay Street")
    hill = SiteFactory(region=north, name="Hill")
    valley = SiteFactory(region=south, name="Valley")
    gnb = GnbFactory(site=harbour)
    RouterFactory(site=harbour)
    SliceFactory(parent=gnb)  # logical, inside the gNB: not counted as equipment
    GnbFactory(site=hill)
    raise_alarm(gnb)
    raise_alarm(gnb, cause="highTemperature")
    assurance_services.alarm_clear(alarm=raise_alarm(gnb, cause="old"), by="noc1")

    page = noc_client.get(INDEX).content.decode()

    north_row = row(page, f"region-{north.pk}")
    assert [int(n) for n in re.findall(r'class="num">(?:<span[^>]*>)?(\d+)', north_row)] == [
        2,
        3,
        2,
    ]
    harbour_row = row(page, f"site-{harbour.pk}")
    assert f'href="/noc/inventory/sites/{harbour.pk}/">Harbour</a>' in harbour_row
    assert "1 Quay Street" in harbour_row
    assert 'data-equipment="2"' in harbour_row
    assert 'data-alarms="2"' in harbour_row
    assert 'data-equipment="1"' in row(page, f"site-{hill.pk}")
    assert 'data-alarms="0"' in row(page, f"site-{hill.pk}")
    sites = re.findall(r'<tr id="site-(\d+)"', page)
    assert sites == [str(harbour.pk), str(hill.pk), str(valley.pk)]

    in_south = noc_client.get(INDEX, {"region": south.pk}).content.decode()
    assert re.findall(r'<tr id="site-(\d+)"', in_south) == [str(valley.pk)]
    assert noc_client.get(INDEX, {"region": 99999}).status_code == 404


def test_search_finds_sites_equipment_links_and_services_by_id(noc_client):
    site = SiteFactory(name="Docklands Exchange")
    router = RouterFactory(name="dock-router-1", site=site)
    gnb = GnbFactory(name="dock-gnb-7")
    link = link_create(name="dock-fibre-9", a_end=gnb, z_end=router)
    subscription = subscribe(gnb, customer=CustomerFactory(name="Dock Ltd"))
    cable = cable_create(name="dock-cable-3")

    page = noc_client.get(INDEX, {"q": "dock"}).content.decode()
    assert f'href="/noc/inventory/cables/{cable.pk}/">dock-cable-3</a>' in page
    assert f'href="/noc/inventory/sites/{site.pk}/">Docklands Exchange</a>' in page
    assert f'href="/noc/inventory/equipment/{router.pk}/">dock-router-1</a>' in page
    assert f'href="/noc/inventory/equipment/{gnb.pk}/">dock-gnb-7</a>' in page
    assert f'href="/noc/inventory/links/{link.pk}/">dock-fibre-9</a>' in page

    by_id = noc_client.get(INDEX, {"q": str(subscription.service.pk)}).content.decode()
    assert (
        f'href="/noc/inventory/services/{subscription.service.pk}/">{subscription.service.name}</a>'
        in by_id
    )
    assert "Dock Ltd" in by_id
    nothing = noc_client.get(INDEX, {"q": "zzz-none"}).content.decode()
    assert "Nothing matches “zzz-none”." in nothing


def build_sites(count: int) -> None:
    region = RegionFactory()
    for _ in range(count):
        gnb = GnbFactory(site=SiteFactory(region=region))
        raise_alarm(gnb)


def test_index_and_search_query_counts_do_not_grow_with_rows(noc_client):
    build_sites(1)
    one = queries_for(noc_client, INDEX)
    one_search = queries_for(noc_client, f"{INDEX}?q=gnb")
    build_sites(8)
    assert queries_for(noc_client, INDEX) == one
    assert queries_for(noc_client, f"{INDEX}?q=gnb") == one_search


# ---------------------------------------------------------------------------------------------
# Site and equipment
# ---------------------------------------------------------------------------------------------


def test_site_page_shows_location_equipment_utilisation_and_alarms(noc_client):
    site = SiteFactory(name="Harbour", address="1 Quay Street", latitude="51.500000")
    site.longitude = "-0.120000"
    site.save()
    gnb = GnbFactory(site=site, vendor="Ericsson", model="AIR 6449", serial_number="SN-42")
    slice_ = SliceFactory(parent=gnb)
    subscription = subscribe(gnb, slice_)
    ServiceResource.objects.filter(service=subscription.service, resource=gnb).update(
        capacity_mbps=2500
    )
    alarm = raise_alarm(gnb)

    page = noc_client.get(f"/noc/inventory/sites/{site.pk}/").content.decode()

    assert "1 Quay Street" in page
    assert "51.500000, -0.120000" in page
    gnb_row = row(page, f"resource-{gnb.pk}")
    for text in ("gNB cell site", "Ericsson", "AIR 6449", "SN-42", "enable", "unlocked"):
        assert text in gnb_row
    assert 'data-utilisation="25"' in gnb_row
    assert "2500 / 10000 Mbit/s" in gnb_row
    assert f"resource-{slice_.pk}" not in page  # a slice is not equipment of the site
    assert f'<tr id="alarm-{alarm.pk}"' in page
    assert noc_client.get("/noc/inventory/sites/99999/").status_code == 404


def test_site_page_query_count_does_not_grow(noc_client):
    site = SiteFactory()
    gnb = GnbFactory(site=site)
    raise_alarm(gnb)
    one = queries_for(noc_client, f"/noc/inventory/sites/{site.pk}/")
    for number in range(6):
        raise_alarm(GnbFactory(site=site), cause=f"cause-{number}")
    assert queries_for(noc_client, f"/noc/inventory/sites/{site.pk}/") == one


def test_equipment_page_shows_parts_links_services_and_alarms(noc_client):
    RouterFactory(name="core-1", capacity_mbps=40000)
    far = RouterFactory(name="edge-9", site=SiteFactory(name="Edge Site"))
    gnb = GnbFactory(name="gnb-A")
    card = card_create(equipment=gnb, slot="1", capacity_mbps=20000)
    port = port_create(parent=card, position="1", capacity_mbps=10000)
    far_port = port_create(parent=far, position="7", capacity_mbps=10000)
    slice_ = SliceFactory(parent=gnb, name="slice-A1", capacity_mbps=1000)
    cable = cable_create(name="cable-A", duct=duct_create(name="duct-A"))
    uplink = link_create(name="fibre-A", a_end=port, z_end=far_port, cable=cable)
    enterprise = CustomerFactory(name="Big Corp", segment="enterprise")
    subscription = subscribe(gnb, slice_, customer=enterprise, through_rfs=True)
    ServiceResource.objects.filter(resource=slice_).update(capacity_mbps=500)
    alarm = raise_alarm(slice_)

    page = noc_client.get(f"/noc/inventory/equipment/{gnb.pk}/").content.decode()

    parts = re.findall(r'<tr id="resource-(\d+)" data-depth="(\d)">', page)
    assert parts == [
        (str(card.pk), "1"),
        (str(port.pk), "2"),
        (str(slice_.pk), "1"),
    ]
    slice_row = row(page, f"resource-{slice_.pk}")
    assert 'data-utilisation="50"' in slice_row
    link_row = row(page, f"link-{uplink.pk}")
    assert "<td>uplink</td>" in link_row
    assert f"<td>{port.name}</td>" in link_row
    assert f'href="/noc/inventory/equipment/{far.pk}/">edge-9</a>' in link_row
    assert f"port {far_port.name}" in link_row
    assert "at Edge Site" in link_row
    assert f'href="/noc/inventory/cables/{cable.pk}/">cable-A</a>' in link_row
    assert "in duct-A" in link_row
    service_row = row(page, f"service-{subscription.service.pk}")
    assert f'href="/portal/customers/{enterprise.pk}/">Big Corp</a>' in service_row
    assert "Enterprise" in service_row
    assert "Services riding it (1)" in page
    assert f'<tr id="alarm-{alarm.pk}"' in page  # an alarm on a slice inside it
    assert f"/noc/inventory/impact/{gnb.pk}/" in page
    # Nothing from the unrelated router.
    assert "core-1" not in page
    assert noc_client.get("/noc/inventory/equipment/99999/").status_code == 404
    # A link or cable asked for as equipment goes to its own page.
    assert noc_client.get(f"/noc/inventory/equipment/{uplink.pk}/")["Location"] == (
        f"/noc/inventory/links/{uplink.pk}/"
    )
    assert noc_client.get(f"/noc/inventory/equipment/{cable.pk}/")["Location"] == (
        f"/noc/inventory/cables/{cable.pk}/"
    )


def test_equipment_services_are_paginated(noc_client):
    gnb = GnbFactory()
    for _ in range(27):
        subscribe(SliceFactory(parent=gnb))
    first = noc_client.get(f"/noc/inventory/equipment/{gnb.pk}/").content.decode()
    second = noc_client.get(f"/noc/inventory/equipment/{gnb.pk}/?page=2").content.decode()
    assert first.count('<tr id="service-') == 25
    assert second.count('<tr id="service-') == 2
    assert "page 1 of 2" in first
    assert 'href="?page=2"' in first


def test_equipment_page_query_count_does_not_grow(noc_client):
    gnb = GnbFactory()
    other = RouterFactory()
    subscribe(SliceFactory(parent=gnb))
    link_create(name="l-0", a_end=gnb, z_end=other)
    raise_alarm(gnb)
    one = queries_for(noc_client, f"/noc/inventory/equipment/{gnb.pk}/")
    for number in range(1, 7):
        subscribe(SliceFactory(parent=gnb))
        link_create(name=f"l-{number}", a_end=RouterFactory(), z_end=gnb)
        raise_alarm(gnb, cause=f"c{number}")
    assert queries_for(noc_client, f"/noc/inventory/equipment/{gnb.pk}/") == one


# ---------------------------------------------------------------------------------------------
# Links and impact
# ---------------------------------------------------------------------------------------------


def test_link_page_shows_ends_and_the_services_downstream(noc_client):
    router = RouterFactory(name="agg-1", site=SiteFactory(name="Aggregation"))
    gnb = GnbFactory(name="gnb-L")
    link = link_create(name="mw-7", a_end=gnb, z_end=router, medium="microwave")
    downstream = subscribe(SliceFactory(parent=gnb), customer=CustomerFactory(name="Rider Inc"))
    subscribe(router, customer=CustomerFactory(name="Upstream Only"))

    page = noc_client.get(f"/noc/inventory/links/{link.pk}/").content.decode()

    assert "<dt>Medium</dt><dd>microwave</dd>" in page
    assert f'href="/noc/inventory/equipment/{router.pk}/">agg-1</a>' in page
    assert f'href="/noc/inventory/sites/{router.site_id}/">Aggregation</a>' in page
    assert f'href="/noc/inventory/equipment/{gnb.pk}/">gnb-L</a>' in page
    assert re.findall(r'<tr id="service-(\d+)"', page) == [str(downstream.service.pk)]
    assert 'data-count="customers"><strong>1</strong>' in page
    assert 'data-count="links">1<' in page
    assert 'data-count="equipment">1<' in page
    assert "Upstream Only" not in page
    assert noc_client.get("/noc/inventory/links/99999/").status_code == 404


def build_cut(cable, customers: list) -> list:
    """A router behind `cable`, with a gNB each for `customers`, hanging off it by microwave."""
    core = RouterFactory()
    router = RouterFactory()
    link_create(name=f"{cable.name}-{router.name}", a_end=router, z_end=core, cable=cable)
    subscriptions = []
    for customer in customers:
        gnb = GnbFactory()
        link_create(name=f"mw-{gnb.name}", a_end=gnb, z_end=router, medium="microwave")
        subscriptions.append(subscribe(SliceFactory(parent=gnb), customer=customer))
    return subscriptions


def test_cable_page_is_the_impact_of_cutting_it(noc_client):
    duct = duct_create(name="duct-9")
    cable = cable_create(name="cable-9", duct=duct)
    acme = CustomerFactory(name="Acme Enterprise", segment="enterprise")
    subscriptions = build_cut(
        cable,
        [
            CustomerFactory(name="Ann Consumer"),
            acme,
            acme,
            CustomerFactory(segment="smallBusiness"),
        ],
    )
    subscribe(GnbFactory(), customer=CustomerFactory(name="Not Behind It"))
    ServiceResource.objects.update(capacity_mbps=1000)

    page = noc_client.get(f"/noc/inventory/cables/{cable.pk}/").content.decode()

    assert "Cable cable-9" in page
    assert f'href="/noc/inventory/cables/{duct.pk}/">In duct duct-9</a>' in page
    assert 'data-count="links">1<' in page  # the link in the cable; the microwave ones stay up
    assert 'data-count="equipment">5<' in page  # the router and four gNBs
    assert 'data-count="services">4<' in page
    assert 'data-count="customers"><strong>3</strong>' in page
    assert 'data-segment="enterprise" data-count="1"' in page
    listed = re.findall(r'<li data-segment="(\w+)">', page)
    assert listed == ["enterprise", "smallBusiness", "consumer"]
    assert sorted(re.findall(r'<tr id="service-(\d+)"', page)) == sorted(
        str(s.service.pk) for s in subscriptions
    )
    assert page.count('<tr id="link-') == 1
    # The cable's link carries the four services behind it: 4000 of its 10000 Mbit/s.
    assert 'data-utilisation="40"' in page
    assert "4000 / 10000 Mbit/s" in page
    assert "Not Behind It" not in page
    duct_page = noc_client.get(f"/noc/inventory/cables/{duct.pk}/").content.decode()
    assert 'data-count="customers"><strong>3</strong>' in duct_page
    assert f'href="/noc/inventory/cables/{cable.pk}/">cable-9</a>' in duct_page
    assert noc_client.get("/noc/inventory/cables/99999/").status_code == 404
    gnb = subscriptions[0].service.bindings.first().resource
    assert noc_client.get(f"/noc/inventory/cables/{gnb.pk}/").status_code == 404


def test_cable_page_query_count_does_not_grow(noc_client):
    cable = cable_create(name="cable-q")
    build_cut(cable, [CustomerFactory()])
    one = queries_for(noc_client, f"/noc/inventory/cables/{cable.pk}/")
    build_cut(cable, [CustomerFactory(segment=s) for s in ("enterprise", "consumer", "consumer")])
    assert queries_for(noc_client, f"/noc/inventory/cables/{cable.pk}/") == one


def test_impact_counts_customers_by_segment_enterprise_first(noc_client):
    gnb = GnbFactory(name="gnb-cut")
    customers = [
        CustomerFactory(name="Zed Consumer"),
        CustomerFactory(name="Acme Enterprise", segment="enterprise"),
        CustomerFactory(name="Bob Shop", segment="smallBusiness"),
    ]
    for customer in customers:
        subscribe(SliceFactory(parent=gnb), customer=customer)
    # A second product of the same enterprise: two services, still one customer.
    subscribe(SliceFactory(parent=gnb), customer=customers[1])
    subscribe(GnbFactory(), customer=CustomerFactory(name="Elsewhere"))

    page = noc_client.get(f"/noc/inventory/impact/?resource={gnb.pk}").content.decode()

    assert 'data-count="services">4<' in page
    assert 'data-count="customers"><strong>3</strong>' in page
    assert 'data-count="resources">5<' in page  # the gNB and its four slices
    assert 'data-segment="enterprise" data-count="1"' in page
    assert 'data-segment="smallBusiness" data-count="1"' in page
    assert 'data-segment="consumer" data-count="1"' in page
    listed = re.findall(r'<li data-segment="\w+"><a href="[^"]+">([^<]+)</a>', page)
    assert listed == ["Acme Enterprise", "Bob Shop", "Zed Consumer"]
    assert "Elsewhere" not in page
    assert page.count('<tr id="service-') == 4
    same = noc_client.get(f"/noc/inventory/impact/{gnb.pk}/").content.decode()
    assert 'data-count="customers"><strong>3</strong>' in same


def test_impact_of_a_site_covers_all_its_equipment(noc_client):
    site = SiteFactory(name="Hub")
    subscribe(GnbFactory(site=site))
    subscribe(RouterFactory(site=site))
    subscribe(GnbFactory())

    page = noc_client.get(f"/noc/inventory/impact/?site={site.pk}").content.decode()

    assert "What breaks if site Hub goes down" in page
    assert 'data-count="services">2<' in page
    assert 'data-count="customers"><strong>2</strong>' in page


def test_impact_bad_input_is_404(noc_client):
    assert noc_client.get("/noc/inventory/impact/").status_code == 404
    assert noc_client.get("/noc/inventory/impact/?resource=abc").status_code == 404
    assert noc_client.get("/noc/inventory/impact/?resource=99999").status_code == 404
    assert noc_client.get("/noc/inventory/impact/?site=99999").status_code == 404


def test_impact_and_link_query_counts_do_not_grow(noc_client):
    gnb = GnbFactory()
    router = RouterFactory()
    link = link_create(name="l-q", a_end=gnb, z_end=router)
    subscribe(router, SliceFactory(parent=gnb))
    impact_one = queries_for(noc_client, f"/noc/inventory/impact/{gnb.pk}/")
    link_one = queries_for(noc_client, f"/noc/inventory/links/{link.pk}/")
    for segment in ("enterprise", "smallBusiness", "consumer", "enterprise"):
        account = BillingAccountFactory(customer=CustomerFactory(segment=segment))
        subscribe(router, SliceFactory(parent=gnb), customer=account.customer)
    assert queries_for(noc_client, f"/noc/inventory/impact/{gnb.pk}/") == impact_one
    assert queries_for(noc_client, f"/noc/inventory/links/{link.pk}/") == link_one


# ---------------------------------------------------------------------------------------------
# Service
# ---------------------------------------------------------------------------------------------


def test_service_page_shows_rfs_characteristics_history_and_path(noc_client):
    site = SiteFactory(name="North Cell")
    gnb = GnbFactory(site=site, name="gnb-P")
    slice_ = SliceFactory(parent=gnb, name="slice-P")
    card = card_create(equipment=gnb, slot="2")
    port = port_create(parent=card, position="1", capacity_mbps=10000)
    core = RouterFactory(name="core-P", site=SiteFactory(name="Core"))
    core_port = port_create(parent=core, position="9", capacity_mbps=10000)
    cable = cable_create(name="cable-P")
    link = link_create(name="fibre-P", a_end=port, z_end=core_port, cable=cable)
    customer = CustomerFactory(name="Path Co")
    subscription = subscribe(slice_, customer=customer, through_rfs=True)
    cfs = subscription.service
    cfs.characteristics = {"bandwidth": "1Gbps", "latency": "10ms"}
    cfs.save()
    rfs = cfs.children.get()
    ServiceStateChange.objects.create(
        service=cfs, from_state="reserved", to_state="active", changed_by="activation-workflow"
    )

    page = noc_client.get(f"/noc/inventory/services/{cfs.pk}/").content.decode()

    assert f'href="/noc/inventory/services/{rfs.pk}/">{rfs.name}</a>' in page
    assert "<dt>bandwidth</dt><dd>1Gbps</dd><dt>latency</dt><dd>10ms</dd>" in page
    assert f'href="/portal/customers/{customer.pk}/">Path Co</a>' in page
    assert "<td>reserved</td><td>active</td><td>activation-workflow</td>" in page
    chain = page.split('<ol class="path-chain" data-chain="1">')[1].split("</ol>")[0]
    hops = re.findall(r'<li class="hop hop-(\w+)"><a href="(/noc/inventory/[a-z]+/\d+/)">', chain)
    assert hops == [
        ("site", f"/noc/inventory/sites/{site.pk}/"),
        ("device", f"/noc/inventory/equipment/{gnb.pk}/"),
        ("slice", f"/noc/inventory/equipment/{slice_.pk}/"),
        ("card", f"/noc/inventory/equipment/{card.pk}/"),
        ("port", f"/noc/inventory/equipment/{port.pk}/"),
        ("link", f"/noc/inventory/links/{link.pk}/"),
        ("port", f"/noc/inventory/equipment/{core_port.pk}/"),
        ("site", f"/noc/inventory/sites/{core.site_id}/"),
        ("device", f"/noc/inventory/equipment/{core.pk}/"),
    ]
    assert f'href="/noc/inventory/cables/{cable.pk}/">cable-P</a>' in chain
    rfs_page = noc_client.get(f"/noc/inventory/services/{rfs.pk}/").content.decode()
    assert f'href="/noc/inventory/services/{cfs.pk}/">Part of' in rfs_page
    assert noc_client.get("/noc/inventory/services/99999/").status_code == 404


def test_service_page_query_count_does_not_grow(noc_client):
    gnb = GnbFactory()
    subscription = subscribe(gnb, through_rfs=True)
    url = f"/noc/inventory/services/{subscription.service.pk}/"
    one = queries_for(noc_client, url)
    rfs = subscription.service.children.get()
    for _ in range(4):
        slice_ = SliceFactory(parent=gnb)
        ServiceResource.objects.create(service=rfs, resource=slice_, state="active")
        Service.objects.create(
            name="another RFS",
            category="RFS",
            service_specification=rfs.service_specification,
            parent=subscription.service,
        )
        ServiceStateChange.objects.create(service=subscription.service, to_state="active")
    assert queries_for(noc_client, url) == one


# ---------------------------------------------------------------------------------------------
# Permissions
# ---------------------------------------------------------------------------------------------


def test_pages_are_for_noc_and_admin_only(
    agent_client, finance_client, noc_client, admin_role_client
):
    site = SiteFactory()
    gnb = GnbFactory(site=site)
    link = link_create(name="perm-link", a_end=gnb, z_end=RouterFactory())
    cable = cable_create(name="perm-cable")
    service = subscribe(gnb).service
    urls = [
        INDEX,
        f"{INDEX}?q=x",
        f"/noc/inventory/sites/{site.pk}/",
        f"/noc/inventory/equipment/{gnb.pk}/",
        f"/noc/inventory/links/{link.pk}/",
        f"/noc/inventory/cables/{cable.pk}/",
        f"/noc/inventory/impact/?resource={gnb.pk}",
        f"/noc/inventory/impact/{gnb.pk}/",
        f"/noc/inventory/services/{service.pk}/",
    ]
    refused = [agent_client, finance_client]
    for url in urls:
        assert [client.get(url).status_code for client in refused] == [403, 403], url
        anonymous = Client().get(url)
        assert anonymous.status_code == 302
        assert anonymous["Location"].startswith("/accounts/login/")
    # The same check guards every page; noc and admin get in (each page's own test covers noc).
    for client in (noc_client, admin_role_client):
        assert [client.get(url).status_code for url in urls[:3]] == [200, 200, 200]
    assert admin_role_client.get(urls[5]).status_code == 200
