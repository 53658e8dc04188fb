"""Fibre (FTTH) activation: a PON port and an ONT on an OLT, a VLAN and an address on the BNG,
configured on both elements over RESTCONF (the lab network), verified by reading back, then
the product active; retries, compensation, and the changes of a live line."""

import pytest

from catalog.demo import ensure_catalog
from crm.tests.factories import BillingAccountFactory
from inventory import selectors as inventory_selectors
from inventory import services as inventory_services
from inventory.models import ProductInstance, Resource, Service, ServiceResource
from inventory.network import driver_for
from inventory.network.base import TransientNetworkError
from inventory.tests.factories import ProductInstanceFactory, fibre_access
from orders import services
from orders.models import ActivationStep, ProductOrder, ServiceOrder
from orders.services import ItemRequest, PartyRequest
from telco.exceptions import DomainError

pytestmark = pytest.mark.django_db

ORDER = "/tmf-api/productOrderingManagement/v4/productOrder"
FTTH_STEPS = [
    "Reserve access port, ONT, VLAN and IP",
    "Configure OLT {olt}",
    "Configure BNG {bng}",
    "Verify configuration",
    "Activate service",
]


@pytest.fixture
def fibre():
    """The demo catalog's fibre offerings, one OLT with two PON ports behind a BNG, and a
    customer's billing account."""
    offerings = ensure_catalog()
    return {
        "fibre_500": offerings["Fibre 500"],
        "fibre_1000": offerings["Fibre 1000"],
        "account": BillingAccountFactory(),
        **fibre_access(),
    }


def run(order: ProductOrder) -> ProductOrder:
    """Decompose the product order and run its service orders inline, as the worker does."""
    services.product_order_process(product_order_id=order.pk)
    for service_order in order.service_orders.exclude(state__in=["completed", "failed"]):
        services.service_order_run(service_order_id=service_order.pk)
    order.refresh_from_db()
    return order


def order_line(fibre, **characteristics) -> ProductOrder:
    account = fibre["account"]
    return services.product_order_submit(
        items=[ItemRequest("1", "add", str(fibre["fibre_500"].pk), characteristics)],
        parties=[PartyRequest(str(account.customer_id), "Customer")],
    )


def change(product, **request) -> ProductOrder:
    order = services.product_order_submit(
        items=[
            ItemRequest("1", request.pop("action", "modify"), product_id=str(product.pk), **request)
        ],
        parties=[PartyRequest(str(product.customer_id), "Customer")],
    )
    return run(order)


def rfs(cfs: Service) -> dict[str, Service]:
    return {child.service_specification.name: child for child in cfs.children.all()}


def held(service: Service) -> list[str]:
    return list(
        ServiceResource.objects.filter(service=service)
        .exclude(state="released")
        .order_by("pk")
        .values_list("resource__name", flat=True)
    )


def test_a_fibre_order_through_the_api_configures_the_olt_and_the_bng_then_activates(
    fibre, agent_api, lab
):
    account, olt, bng = fibre["account"], fibre["olt"], fibre["bng"]
    response = agent_api.post(
        ORDER,
        {
            "productOrderItem": [
                {
                    "id": "1",
                    "action": "add",
                    "productOffering": {"id": str(fibre["fibre_500"].pk)},
                    "product": {
                        "productCharacteristic": [{"name": "ontSerial", "value": "ALCL1234ABCD"}]
                    },
                }
            ],
            "relatedParty": [{"id": str(account.customer_id), "@referredType": "Customer"}],
            "billingAccount": {"id": str(account.pk)},
        },
        format="json",
    )
    assert response.status_code == 201, response.data
    order = run(ProductOrder.objects.get(pk=response.data["id"]))

    assert order.state == "completed"
    service_order = order.service_orders.get()
    steps = ActivationStep.objects.filter(item__order=service_order).order_by("sequence")
    assert [(step.name, step.state) for step in steps] == [
        (name.format(olt=olt.name, bng=bng.name), "done") for name in FTTH_STEPS
    ]
    cfs = service_order.items.get().service
    lines = rfs(cfs)
    port = fibre["pon_ports"][0]
    assert {name: held(service) for name, service in lines.items()} == {
        "FTTH access": [olt.name, port.name, "ONT-ALCL1234ABCD"],
        "FTTH VLAN": [bng.name, fibre["bng_port"].name, f"{fibre['vlan_pool'].name}/vlan-1000"],
        "FTTH IP": ["ip-100.64.0.1"],
    }
    assert held(cfs) == []
    ont = Resource.objects.get(name="ONT-ALCL1234ABCD")
    assert (ont.parent, ont.position, ont.resource_kind, ont.usage_state) == (
        port,
        "1",
        "ont",
        "active",
    )
    assert set(
        ServiceResource.objects.filter(service__parent=cfs).values_list("state", flat=True)
    ) == {"active"}
    assert {service.state for service in [cfs, *lines.values()]} == {"active"}

    # What each element holds, as it reports it over RESTCONF.
    access, vlan = lines["FTTH access"], lines["FTTH VLAN"]
    assert lab.config(olt.name) == {
        str(access.pk): {
            "name": str(access.pk),
            "description": cfs.name,
            "admin-state": "unlocked",
            "serial-number": "ALCL1234ABCD",
            "pon-port": port.name,
            "ont-id": 1,
            "service-port": {"vlan": 1000},
            "bandwidth-profile": {"cir-mbps": 0, "pir-mbps": 500},
        }
    }
    assert lab.config(bng.name) == {
        str(vlan.pk): {
            "name": str(vlan.pk),
            "description": cfs.name,
            "enabled": True,
            "subinterface": {
                "interface": fibre["bng_port"].name,
                "vlan-id": 1000,
                "ipv4-address": "100.64.0.1",
                "prefix-length": 27,
            },
            "policer": {"rate-mbps": 500},
        }
    }
    # The one answer to "what should this element hold", as the workflow sent it.
    assert inventory_services.element_config_expected(cfs, resource=olt) == {
        "service": cfs.name,
        "bandwidth": "500Mbps",
        "ontSerial": "ALCL1234ABCD",
        "adminState": "unlocked",
        "ponPort": port.name,
        "ontId": 1,
        "vlan": 1000,
    }
    assert inventory_services.element_config_expected(vlan, resource=bng) == {
        "service": cfs.name,
        "bandwidth": "500Mbps",
        "ontSerial": "ALCL1234ABCD",
        "adminState": "unlocked",
        "port": fibre["bng_port"].name,
        "vlan": 1000,
        "ipAddress": "100.64.0.1/27",
    }
    product = ProductInstance.objects.get()
    assert product.status == "active"
    assert product.start_date == service_order.completion_date


def test_a_busy_bng_is_retried_and_the_product_is_not_active_until_both_elements_hold_it(
    fibre, lab
):
    bng = fibre["bng"]
    lab.fail(bng.name, "transient:2")
    order = order_line(fibre)
    services.product_order_process(product_order_id=order.pk)
    service_order = order.service_orders.get()
    for _ in range(2):
        with pytest.raises(TransientNetworkError):
            services.service_order_run(service_order_id=service_order.pk)
        # The OLT holds the line already; billing starts only once the product is active.
        assert set(lab.configured()) == {fibre["olt"].name}
        assert ProductInstance.objects.get().status == "pendingActive"

    services.service_order_run(service_order_id=service_order.pk)

    service_order.refresh_from_db()
    assert service_order.state == "completed"
    steps = ActivationStep.objects.filter(item__order=service_order).order_by("sequence")
    assert [(step.operation, step.attempts) for step in steps] == [
        ("reserve", 1),
        ("configure", 1),
        ("configure", 3),
        ("verify", 1),
        ("activate", 1),
    ]
    assert [each["operation"] for each in lab.changes(bng.name)] == ["put"]
    assert ProductInstance.objects.get().status == "active"


def test_a_bng_busy_past_its_retries_holds_the_line_for_the_noc_who_retries_it(fibre, lab):
    olt, bng = fibre["olt"], fibre["bng"]
    lab.fail(bng.name, f"transient:{services.ACTIVATION_MAX_ATTEMPTS}")
    order = order_line(fibre)
    services.product_order_process(product_order_id=order.pk)
    service_order = order.service_orders.get()
    for _ in range(services.ACTIVATION_MAX_ATTEMPTS - 1):
        with pytest.raises(TransientNetworkError):
            services.service_order_run(service_order_id=service_order.pk)
    services.service_order_run(service_order_id=service_order.pk)  # the last attempt: held

    service_order.refresh_from_db()
    assert service_order.state == "held"
    assert service_order.failure_reason.startswith(f"Step 3 'Configure BNG {bng.name}' failed:")
    # Held, not undone: the line keeps its reservation and the OLT its configuration.
    assert set(lab.configured()) == {olt.name}
    assert ServiceResource.objects.filter(state="reserved").count() == 7
    assert ProductInstance.objects.get().status == "pendingActive"

    services.service_order_retry(service_order_id=service_order.pk, by="noc1")
    services.service_order_run(service_order_id=service_order.pk)

    service_order.refresh_from_db()
    assert service_order.state == "completed"
    assert set(lab.configured()) == {olt.name, bng.name}
    assert ProductInstance.objects.get().status == "active"


def test_verify_reads_the_elements_back_and_refuses_a_configuration_changed_behind_its_back(
    fibre, lab
):
    olt, bng = fibre["olt"], fibre["bng"]
    lab.fail(bng.name, "transient:1")
    order = order_line(fibre)
    services.product_order_process(product_order_id=order.pk)
    service_order = order.service_orders.get()
    with pytest.raises(TransientNetworkError):
        services.service_order_run(service_order_id=service_order.pk)
    # Someone on the OLT's console moves the line to another VLAN before the BNG is done.
    access = rfs(service_order.items.get().service)["FTTH access"]
    entry = lab.config(olt.name)[str(access.pk)]
    driver_for("olt").modify(
        element=olt.name,
        idempotency_key="console-1",
        service_ref=str(access.pk),
        payload={
            "service": access.parent.name,
            "ponPort": entry["pon-port"],
            "ontSerial": entry["serial-number"],
            "ontId": entry["ont-id"],
            "vlan": 7,
            "bandwidth": "500Mbps",
        },
    )

    services.service_order_run(service_order_id=service_order.pk)

    service_order.refresh_from_db()
    assert service_order.state == "failed"
    assert service_order.failure_reason == (
        f"Step 4 'Verify configuration' failed: {olt.name} holds vlan=7 (expected 1000)."
    )
    assert lab.configured() == {}
    assert not ServiceResource.objects.exclude(state="released").exists()


def free(pool: Resource, kind: str) -> int:
    return inventory_selectors.pool_free_members(kind, pool=pool).count()


def test_a_bng_refusing_the_line_undoes_the_olt_and_gives_everything_back(fibre, lab):
    olt, bng = fibre["olt"], fibre["bng"]
    lab.fail(bng.name, "permanent")

    order = run(order_line(fibre, ontSerial="ALCL00000001"))

    assert order.state == "failed"
    service_order = order.service_orders.get()
    steps = ActivationStep.objects.filter(item__order=service_order).order_by("sequence")
    assert [(step.operation, step.state) for step in steps] == [
        ("reserve", "compensated"),
        ("configure", "compensated"),
        ("configure", "failed"),
        ("verify", "pending"),
        ("activate", "pending"),
    ]
    assert service_order.failure_reason.startswith(
        f"Step 3 'Configure BNG {bng.name}' failed: {bng.name}:"
    )
    # The OLT was configured, then its configuration removed: nothing is left on any element.
    assert [each["operation"] for each in lab.changes(olt.name)] == ["put", "delete"]
    assert lab.configured() == {}
    # Nothing is held: the pools are whole again, the ONT off its port and free.
    assert not ServiceResource.objects.exclude(state="released").exists()
    assert free(fibre["vlan_pool"], "vlan") == 32
    assert free(fibre["ip_pool"], "ipAddress") == 30
    ont = Resource.objects.get(name="ONT-ALCL00000001")
    assert (ont.parent, ont.position, ont.resource_status) == (None, "", "available")
    assert ProductInstance.objects.get().status == "aborted"

    # Given back for real: the next order of that box takes the same port, id, VLAN and address.
    lab.heal(bng.name)
    again = run(order_line(fibre, ontSerial="ALCL00000001"))
    assert again.state == "completed"
    cfs = again.service_orders.get().items.get().service
    ont.refresh_from_db()
    assert (ont.parent, ont.position) == (fibre["pon_ports"][0], "1")
    expected = inventory_services.element_config_expected(cfs, resource=bng)
    assert (expected["vlan"], expected["ipAddress"]) == (1000, "100.64.0.1/27")


def test_a_live_line_changes_plan_is_suspended_resumed_and_terminated_on_both_elements(fibre, lab):
    olt, bng = fibre["olt"], fibre["bng"]
    order = run(order_line(fibre))
    cfs = order.service_orders.get().items.get().service
    access, vlan = rfs(cfs)["FTTH access"], rfs(cfs)["FTTH VLAN"]
    product = ProductInstance.objects.get()

    def on_elements() -> tuple:
        olt_entry = lab.config(olt.name)[str(access.pk)]
        bng_entry = lab.config(bng.name)[str(vlan.pk)]
        return (
            olt_entry["admin-state"],
            olt_entry["bandwidth-profile"]["pir-mbps"],
            bng_entry["enabled"],
            bng_entry["policer"]["rate-mbps"],
        )

    assert on_elements() == ("unlocked", 500, True, 500)

    # Fibre 500 -> Fibre 1000: a change of plan, the new plan's bandwidth on both elements.
    upgrade = change(product, target_id=str(fibre["fibre_1000"].pk))
    assert upgrade.state == "completed"
    steps = ActivationStep.objects.filter(item__order__product_order=upgrade).order_by("sequence")
    assert [step.name for step in steps] == [
        f"Modify {olt.name}",
        f"Modify {bng.name}",
        "Verify configuration",
        "Record the change",
    ]
    assert on_elements() == ("unlocked", 1000, True, 1000)
    product.refresh_from_db()
    assert (product.product_offering, product.characteristics["bandwidth"]) == (
        fibre["fibre_1000"],
        "1Gbps",
    )

    assert change(product, status="suspended").state == "completed"
    assert on_elements() == ("locked", 1000, False, 1000)
    product.refresh_from_db()
    assert product.status == "suspended"

    assert change(product, status="active").state == "completed"
    assert on_elements() == ("unlocked", 1000, True, 1000)

    assert change(product, action="delete").state == "completed"
    assert lab.configured() == {}
    product.refresh_from_db()
    assert product.status == "terminated"
    assert not ServiceResource.objects.exclude(state="released").exists()
    assert free(fibre["vlan_pool"], "vlan") == 32
    assert free(fibre["ip_pool"], "ipAddress") == 30
    assert not Resource.objects.filter(resource_kind="ont", parent__isnull=False).exists()


def test_a_fibre_line_ordered_directly_tmf641_is_modified_on_its_elements(fibre, lab):
    specification = fibre["fibre_500"].product_specification.service_specifications.get()
    order = services.service_order_submit(
        items=[ItemRequest("1", "add", str(specification.pk), {"bandwidth": "500Mbps"})]
    )
    services.service_order_run(service_order_id=order.pk)
    cfs = order.items.get().service
    cfs.refresh_from_db()
    assert cfs.state == "active"

    change_order = services.service_order_submit(
        items=[
            ItemRequest(
                "1", "modify", service_id=str(cfs.pk), characteristics={"bandwidth": "1Gbps"}
            )
        ]
    )
    services.service_order_run(service_order_id=change_order.pk)

    change_order.refresh_from_db()
    assert change_order.state == "completed"
    vlan = rfs(cfs)["FTTH VLAN"]
    assert lab.config(fibre["bng"].name)[str(vlan.pk)]["policer"] == {"rate-mbps": 1000}
    cfs.refresh_from_db()
    assert cfs.characteristics == {"bandwidth": "1Gbps"}


def test_a_fibre_order_is_refused_when_no_olt_has_a_free_pon_port(fibre):
    Resource.objects.filter(characteristics__portType="pon").update(administrative_state="locked")
    with pytest.raises(DomainError) as refused:
        order_line(fibre)
    assert refused.value.field == "productOrderItem[0].productOffering.id"
    assert "no OLT has a free PON port" in refused.value.message
    assert not ServiceOrder.objects.exists()


def test_a_generated_demo_line_bound_to_its_olt_directly_changes_in_inventory_only(fibre, lab):
    # As `inventory.demo` makes its customers' lines: the CFS bound to an OLT, nothing more.
    product = ProductInstanceFactory(
        product_offering=fibre["fibre_500"],
        billing_account=fibre["account"],
        characteristics={"bandwidth": "500Mbps"},
    )
    cfs = Service.objects.create(
        name="FTTH Access Service for a demo customer",
        category="CFS",
        service_specification=fibre["fibre_500"].product_specification.service_specifications.get(),
        product=product,
        state="active",
        characteristics={"bandwidth": "500Mbps"},
    )
    ServiceResource.objects.create(
        service=cfs, resource=fibre["olt"], capacity_mbps=500, state="active"
    )

    order = change(product, status="suspended")

    assert order.state == "completed"
    steps = ActivationStep.objects.filter(item__order__product_order=order)
    assert [step.name for step in steps] == ["Suspend service"]
    assert lab.elements() == []
    product.refresh_from_db()
    assert product.status == "suspended"
