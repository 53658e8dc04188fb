"""The NOC service page's configuration on the elements: what each element reports holding
for a fibre line (read over RESTCONF from the lab) beside what the inventory expects, with a
change made on an element's console marked, an unreachable element named, and NOC-only."""

import re

import pytest

from catalog.demo import ensure_catalog
from crm.tests.factories import BillingAccountFactory
from inventory.models import Service
from inventory.network import driver_for
from inventory.tests.factories import fibre_access
from orders import services
from orders.services import ItemRequest, PartyRequest

pytestmark = pytest.mark.django_db


@pytest.fixture
def line():
    """An active fibre line ordered through the workflow: its CFS, access RFS, OLT and BNG."""
    offering = ensure_catalog()["Fibre 500"]
    account = BillingAccountFactory()
    access = fibre_access()
    order = services.product_order_submit(
        items=[ItemRequest("1", "add", str(offering.pk), {"bandwidth": "500Mbps"})],
        parties=[PartyRequest(str(account.customer_id), "Customer")],
    )
    services.product_order_process(product_order_id=order.pk)
    for service_order in order.service_orders.all():
        services.service_order_run(service_order_id=service_order.pk)
    cfs = Service.objects.get(product__product_order_id=str(order.pk), parent=None)
    assert cfs.state == "active"
    rfs = {child.service_specification.name: child for child in cfs.children.all()}
    return {"cfs": cfs, "access": rfs["FTTH access"], **access}


def tables(html: str) -> dict[str, str]:
    """{element name: its table's HTML}."""
    return dict(re.findall(r'data-element="([^"]+)">(.*?)</table>', html, re.S))


def differing_keys(table: str) -> list[str]:
    return re.findall(r'<tr class="differs" data-key="([^"]+)"', table)


def test_the_page_loads_the_element_reading_without_waiting_for_it(noc_client, line):
    page = noc_client.get(f"/noc/inventory/services/{line['cfs'].pk}/")

    assert page.status_code == 200
    html = page.content.decode()
    assert f'data-live-url="/noc/inventory/services/{line["cfs"].pk}/config/"' in html
    assert "data-live-now" in html


def test_each_element_reports_what_the_inventory_expects(noc_client, line):
    answer = noc_client.get(f"/noc/inventory/services/{line['cfs'].pk}/config/")

    html = answer.content.decode()
    by_element = tables(html)
    assert set(by_element) == {line["olt"].name, line["bng"].name}
    assert all(differing_keys(table) == [] for table in by_element.values())
    assert "every element holds what the inventory expects" in html
    # The rows are the element's model: the OLT's ONT and VLAN, the BNG's address.
    assert 'data-key="ontSerial"' in by_element[line["olt"].name]
    assert 'data-key="ipAddress"' in by_element[line["bng"].name]
    assert "100.64." in by_element[line["bng"].name]


def test_a_change_on_the_console_is_marked_on_its_element_only(noc_client, line, lab):
    olt, access = line["olt"], line["access"]
    entry = lab.config(olt.name)[str(access.pk)]
    driver_for("olt").modify(
        element=olt.name,
        idempotency_key="console-7",
        service_ref=str(access.pk),
        payload={
            "service": line["cfs"].name,
            "ponPort": entry["pon-port"],
            "ontSerial": entry["serial-number"],
            "ontId": entry["ont-id"],
            "vlan": 7,
            "bandwidth": "500Mbps",
            "adminState": "unlocked",
        },
    )

    html = noc_client.get(f"/noc/inventory/services/{line['cfs'].pk}/config/").content.decode()

    by_element = tables(html)
    assert differing_keys(by_element[olt.name]) == ["vlan"]
    assert "<mark>7</mark>" in by_element[olt.name]
    assert differing_keys(by_element[line["bng"].name]) == []
    assert "1 element differs" in html


def test_configuration_removed_from_an_element_shows_it_not_configured(noc_client, line):
    bng = line["bng"]
    holder = next(
        child for child in line["cfs"].children.all() if child.bindings.filter(resource=bng)
    )
    driver_for("router").deactivate(
        element=bng.name, idempotency_key="console-rm", service_ref=str(holder.pk)
    )

    html = noc_client.get(f"/noc/inventory/services/{line['cfs'].pk}/config/").content.decode()

    assert "not configured" in tables(html)[bng.name]
    assert "not configured" not in tables(html)[line["olt"].name]


def test_an_element_that_refuses_to_answer_is_named_not_a_500(noc_client, line, lab):
    lab.fail(line["bng"].name, "permanent")

    answer = noc_client.get(f"/noc/inventory/services/{line['cfs'].pk}/config/")

    assert answer.status_code == 200
    table = tables(answer.content.decode())[line["bng"].name]
    assert "unreachable" in table


def test_the_reading_is_the_nocs(agent_client, client, line):
    url = f"/noc/inventory/services/{line['cfs'].pk}/config/"
    assert agent_client.get(url).status_code == 403
    assert client.get(url).status_code == 302


def test_a_setting_removed_on_the_console_is_missing_on_the_page_and_for_verify(
    noc_client, line, lab
):
    from inventory import services as inventory_services

    olt, access = line["olt"], line["access"]
    entry = lab.config(olt.name)[str(access.pk)]
    # The service port (and its VLAN) deleted from the ONT's entry on the OLT's console.
    driver_for("olt").modify(
        element=olt.name,
        idempotency_key="console-no-vlan",
        service_ref=str(access.pk),
        payload={
            "service": line["cfs"].name,
            "ponPort": entry["pon-port"],
            "ontSerial": entry["serial-number"],
            "ontId": entry["ont-id"],
            "bandwidth": "500Mbps",
            "adminState": "unlocked",
        },
    )

    html = noc_client.get(f"/noc/inventory/services/{line['cfs'].pk}/config/").content.decode()

    assert differing_keys(tables(html)[olt.name]) == ["vlan"]
    reported = driver_for("olt").status(element=olt.name, service_ref=str(access.pk))["config"]
    expected = inventory_services.element_config_expected(line["cfs"], resource=olt)
    assert inventory_services.config_differences(
        expected, reported, driver_for("olt").config_keys
    ) == ["vlan"]
