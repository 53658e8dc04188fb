"""TMF622 modify (plan, characteristics, suspend, resume) and delete of products, their network
side through the workflow, reliesOn dependencies between items, and their validation."""

import contextlib
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from catalog.tests.factories import ProductOfferingFactory, five_g_premium_offering
from crm.tests.factories import BillingAccountFactory
from inventory.models import ProductInstance, Resource, Service, ServiceResource
from inventory.network.base import TransientNetworkError
from orders import services
from orders.choices import FINAL_ORDER_STATES
from orders.models import ActivationStep, ProductOrder, ProductOrderItem, ServiceOrder
from orders.services import ItemRequest, PartyRequest
from orders.tests.factories import five_g_world
from orders.tests.test_workflow import submit_and_run

ORDERS = "/tmf-api/productOrderingManagement/v4/productOrder"


def run(order: ProductOrder) -> ProductOrder:
    """What the worker does: process the order, run its service orders, and those that items
    relying on them start, until nothing is left to run."""
    services.product_order_process(product_order_id=order.pk)
    while pending := list(
        ServiceOrder.objects.filter(product_order=order).exclude(state__in=FINAL_ORDER_STATES)
    ):
        for service_order in pending:
            with contextlib.suppress(TransientNetworkError):
                services.service_order_run(service_order_id=service_order.pk)
    order.refresh_from_db()
    return order


def submit(account, *items: ItemRequest) -> ProductOrder:
    return services.product_order_submit(
        items=list(items), parties=[PartyRequest(str(account.customer_id), "Customer")], by="agent1"
    )


def active_product(offering, account, bandwidth="500Mbps") -> ProductInstance:
    order = submit_and_run(offering, account, bandwidth=bandwidth)
    assert order.state == "completed"
    return ProductInstance.objects.get(product_order_id=str(order.pk))


def _services(product) -> list[Service]:
    cfs = product.services.get()
    return [cfs, *cfs.children.order_by("pk")]


def _active_payloads(lab, product) -> dict[str, dict]:
    """What each element holds for the product's services now (gNB and slice: the generic
    model, the characteristics as given)."""
    refs = {str(service.pk) for service in _services(product)}
    return {
        element: {**entry["characteristics"], "adminState": entry["admin-state"]}
        for element in lab.configured()
        for key, entry in lab.config(element).items()
        if key in refs
    }


def _history(product) -> list[tuple[str, str, str]]:
    return [(h.from_state, h.to_state, h.changed_by) for h in product.history.all()]


@pytest.mark.django_db
def test_suspend_then_resume_stop_and_restart_traffic(lab):
    offering, account, gnb = five_g_world()
    product = active_product(offering, account)
    slice_name = f"slice-{product.services.get().pk}"

    order = run(
        submit(account, ItemRequest("1", "modify", product_id=str(product.pk), status="suspended"))
    )

    assert order.state == "completed"
    assert order.items.get().state == "completed"
    product.refresh_from_db()
    assert product.status == "suspended"
    assert {s.state for s in _services(product)} == {"inactive"}
    payloads = _active_payloads(lab, product)
    assert {name: p["adminState"] for name, p in payloads.items()} == {
        gnb.name: "locked",
        slice_name: "locked",
    }
    assert _history(product)[-1] == ("active", "suspended", "activation-workflow")
    # The capacity stays held while suspended.
    assert ServiceResource.objects.filter(state="active").count() == 2

    order = run(
        submit(account, ItemRequest("1", "modify", product_id=str(product.pk), status="active"))
    )

    assert order.state == "completed"
    product.refresh_from_db()
    assert product.status == "active"
    assert {s.state for s in _services(product)} == {"active"}
    assert {p["adminState"] for p in _active_payloads(lab, product).values()} == {"unlocked"}
    assert [h[:2] for h in _history(product)][-2:] == [
        ("active", "suspended"),
        ("suspended", "active"),
    ]
    steps = ActivationStep.objects.filter(item__order__product_order=order).order_by("sequence")
    assert [(s.operation, s.state) for s in steps] == [
        ("modify", "done"),
        ("modify", "done"),
        ("verify", "done"),
        ("activate", "done"),
    ]


@pytest.mark.django_db
def test_modify_bandwidth_adjusts_capacity_and_elements(lab):
    offering, account, gnb = five_g_world(gnb_capacity_mbps=2000)
    product = active_product(offering, account, bandwidth="500Mbps")

    order = run(
        submit(
            account,
            ItemRequest(
                "1", "modify", product_id=str(product.pk), characteristics={"bandwidth": "1Gbps"}
            ),
        )
    )

    assert order.state == "completed"
    product.refresh_from_db()
    assert product.characteristics == {"bandwidth": "1Gbps"}
    assert product.status == "active"
    assert {s.characteristics["bandwidth"] for s in _services(product)} == {"1Gbps"}
    assert set(ServiceResource.objects.values_list("capacity_mbps", flat=True)) == {1000}
    assert Resource.objects.get(resource_kind="slice").capacity_mbps == 1000
    assert {p["bandwidth"] for p in _active_payloads(lab, product).values()} == {"1Gbps"}
    last = product.history.last()
    assert (last.from_state, last.to_state) == ("active", "active")
    assert last.reason == f"Product order {order.pk} item 1: bandwidth 500Mbps → 1Gbps"
    steps = ActivationStep.objects.filter(item__order__product_order=order).order_by("sequence")
    assert [s.operation for s in steps] == ["adjust", "modify", "modify", "verify", "activate"]


@pytest.mark.django_db
def test_failed_modify_is_compensated_back_to_the_old_configuration(lab):
    offering, account, gnb = five_g_world(gnb_capacity_mbps=2000)
    product = active_product(offering, account, bandwidth="500Mbps")
    slice_name = f"slice-{product.services.get().pk}"
    call_command("labnet", "fail", slice_name, "--mode", "permanent")

    order = run(
        submit(
            account,
            ItemRequest(
                "1", "modify", product_id=str(product.pk), characteristics={"bandwidth": "1Gbps"}
            ),
        )
    )

    assert order.state == "failed"
    assert order.failure_reason == (
        f"Step 3 'Modify {slice_name}' failed: {slice_name}: configuration rejected by the element."
    )
    product.refresh_from_db()
    assert (product.status, product.characteristics) == ("active", {"bandwidth": "500Mbps"})
    assert set(ServiceResource.objects.values_list("capacity_mbps", "state")) == {(500, "active")}
    assert _active_payloads(lab, product)[gnb.name]["bandwidth"] == "500Mbps"
    assert {s.state for s in _services(product)} == {"active"}
    steps = ActivationStep.objects.filter(item__order__product_order=order).order_by("sequence")
    assert [(s.operation, s.state) for s in steps] == [
        ("adjust", "compensated"),
        ("modify", "compensated"),
        ("modify", "failed"),
        ("verify", "pending"),
        ("activate", "pending"),
    ]


@pytest.mark.django_db
def test_change_of_plan_moves_the_product_to_the_new_offering():
    offering, account, _ = five_g_world()
    business = five_g_premium_offering(name="5G Business")
    product = active_product(offering, account)

    order = run(
        submit(
            account,
            ItemRequest("1", "modify", target_id=str(business.pk), product_id=str(product.pk)),
        )
    )

    assert order.state == "completed"
    product.refresh_from_db()
    assert (product.product_offering, product.name, product.status) == (
        business,
        "5G Business",
        "active",
    )
    assert product.history.last().reason == (
        f"Product order {order.pk} item 1: plan 5G Premium → 5G Business"
    )


@pytest.mark.django_db
def test_terminate_releases_everything_and_ends_billing(lab):
    offering, account, gnb = five_g_world()
    product = active_product(offering, account)
    services_before = _services(product)

    order = run(submit(account, ItemRequest("1", "delete", product_id=str(product.pk))))

    assert order.state == "completed"
    product.refresh_from_db()
    assert product.status == "terminated"
    assert product.termination_date == order.completion_date
    assert [h[:2] for h in _history(product)][-2:] == [
        ("active", "pendingTerminate"),
        ("pendingTerminate", "terminated"),
    ]
    assert {Service.objects.get(pk=s.pk).state for s in services_before} == {"terminated"}
    assert not ServiceResource.objects.exclude(state="released").exists()
    assert Resource.objects.get(resource_kind="slice").resource_status == "standby"
    assert lab.configured() == {}
    assert [change["operation"] for change in lab.changes(gnb.name)] == ["put", "delete"]


@pytest.mark.django_db
def test_failed_termination_puts_the_product_back():
    offering, account, gnb = five_g_world()
    product = active_product(offering, account)
    run(submit(account, ItemRequest("1", "modify", product_id=str(product.pk), status="suspended")))
    call_command("labnet", "fail", gnb.name, "--mode", "permanent")

    order = run(submit(account, ItemRequest("1", "delete", product_id=str(product.pk))))

    assert order.state == "failed"
    product.refresh_from_db()
    assert product.status == "suspended"
    assert product.termination_date is None
    assert ServiceResource.objects.filter(state="active").count() == 2


@pytest.mark.django_db
def test_items_run_after_those_they_rely_on():
    offering, account, _ = five_g_world()
    first = active_product(offering, account)
    second = active_product(offering, account)
    order = submit(
        account,
        ItemRequest("a", "modify", product_id=str(first.pk), status="suspended", relies_on=["b"]),
        ItemRequest("b", "delete", product_id=str(second.pk)),
    )

    services.product_order_process(product_order_id=order.pk)
    # Only b is under way; a waits for it.
    assert dict(order.items.values_list("item_id", "state")) == {"a": "pending", "b": "inProgress"}
    assert ServiceOrder.objects.filter(product_order=order).count() == 1

    order = run(order)

    assert order.state == "completed"
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.status, second.status) == ("suspended", "terminated")
    suspended_at = first.history.last().changed_at
    terminated_at = second.history.last().changed_at
    assert terminated_at < suspended_at


@pytest.mark.django_db
def test_dependants_of_a_failed_item_do_not_run_and_the_order_is_partial():
    offering, account, gnb = five_g_world()
    first = active_product(offering, account)
    second = active_product(offering, account)
    third = active_product(offering, account)
    call_command("labnet", "fail", f"slice-{first.services.get().pk}", "--mode", "permanent")
    order = submit(
        account,
        ItemRequest("1", "modify", product_id=str(first.pk), status="suspended"),
        ItemRequest("2", "delete", product_id=str(second.pk), relies_on=["1"]),
        ItemRequest("3", "modify", product_id=str(third.pk), status="suspended"),
    )

    order = run(order)

    assert order.state == "partial"
    assert dict(order.items.values_list("item_id", "state")) == {
        "1": "failed",
        "2": "failed",
        "3": "completed",
    }
    assert order.items.get(item_id="2").failure_reason == (
        "Not run: it relies on item 1, which did not complete."
    )
    second.refresh_from_db()
    assert second.status == "active"
    assert ServiceOrder.objects.filter(product_order=order).count() == 2


@pytest.mark.django_db
def test_api_item_shapes_and_dependencies(agent_api):
    offering, account, _ = five_g_world()
    product = active_product(offering, account)
    body = {
        "productOrderItem": [
            {
                "id": "10",
                "action": "modify",
                "product": {"id": str(product.pk), "status": "suspended"},
            },
            {
                "id": "11",
                "action": "add",
                "productOffering": {"id": str(offering.pk)},
                "productOrderItemRelationship": [{"id": "10", "relationshipType": "reliesOn"}],
            },
        ],
        "relatedParty": [{"id": str(account.customer_id), "@referredType": "Customer"}],
    }

    response = agent_api.post(ORDERS, body, format="json")

    assert response.status_code == 201, response.data
    suspend, add = response.data["productOrderItem"]
    assert (suspend["action"], suspend["product"]["id"], suspend["product"]["status"]) == (
        "modify",
        str(product.pk),
        "suspended",
    )
    assert suspend["productOrderItemRelationship"] == []
    assert add["productOrderItemRelationship"] == [{"id": "10", "relationshipType": "reliesOn"}]
    item = ProductOrderItem.objects.get(item_id="10")
    assert (item.product, item.target_status) == (product, "suspended")


def _refused(agent_api, account, items) -> dict:
    before = ProductOrder.objects.count()
    body = {
        "productOrderItem": items,
        "relatedParty": [{"id": str(account.customer_id), "@referredType": "Customer"}],
    }
    response = agent_api.post(ORDERS, body, format="json")
    assert response.status_code == 400, response.data
    assert ProductOrder.objects.count() == before
    return response.data["errors"]


@pytest.mark.django_db
def test_actions_are_refused_with_the_field(agent_api):
    offering, account, _ = five_g_world()
    product = active_product(offering, account)
    other = active_product(offering, BillingAccountFactory())
    pid = str(product.pk)

    def modify(**product_fields):
        return {"id": "1", "action": "modify", "product": {"id": pid, **product_fields}}

    cases = [
        (modify(status="active"), "productOrderItem[0].product.status"),
        (modify(status="terminated"), "productOrderItem[0].product.status"),
        (
            modify(
                status="suspended", productCharacteristic=[{"name": "bandwidth", "value": "1Gbps"}]
            ),
            "productOrderItem[0].product.status",
        ),
        (
            modify(productCharacteristic=[{"name": "bandwidth", "value": "500Mbps"}]),
            "productOrderItem[0].product",
        ),
        (
            modify(productCharacteristic=[{"name": "bandwidth", "value": "3Gbps"}]),
            "productOrderItem[0].product.productCharacteristic.bandwidth",
        ),
        (
            {"id": "1", "action": "delete", "product": {"id": str(other.pk)}},
            "productOrderItem[0].product.id",
        ),
        (
            {"id": "1", "action": "delete", "product": {"id": "999999"}},
            "productOrderItem[0].product.id",
        ),
        ({"id": "1", "action": "delete"}, "productOrderItem[0].product.id"),
        ({"id": "1", "action": "add"}, "productOrderItem[0].productOffering"),
    ]
    for item, field in cases:
        assert list(_refused(agent_api, account, [item])) == [field], item

    # resume needs a suspended product; suspend an already suspended one is refused too.
    errors = _refused(
        agent_api,
        account,
        [modify(status="suspended"), {"id": "2", "action": "delete", "product": {"id": pid}}],
    )
    assert list(errors) == ["productOrderItem[1].product.id"]


@pytest.mark.django_db
def test_a_product_with_an_order_in_progress_is_refused(agent_api):
    offering, account, _ = five_g_world()
    product = active_product(offering, account)
    submit(account, ItemRequest("1", "modify", product_id=str(product.pk), status="suspended"))

    errors = _refused(
        agent_api, account, [{"id": "1", "action": "delete", "product": {"id": str(product.pk)}}]
    )

    assert errors == {
        "productOrderItem[0].product.id": [
            f"Product '{product.pk}' already has an order in progress."
        ]
    }


@pytest.mark.django_db
def test_suspended_product_cannot_be_suspended_or_modified(agent_api):
    offering, account, _ = five_g_world()
    product = active_product(offering, account)
    run(submit(account, ItemRequest("1", "modify", product_id=str(product.pk), status="suspended")))

    errors = _refused(
        agent_api,
        account,
        [
            {
                "id": "1",
                "action": "modify",
                "product": {"id": str(product.pk), "status": "suspended"},
            }
        ],
    )
    assert errors == {
        "productOrderItem[0].product.status": [f"Product {product.pk} is already suspended."]
    }
    errors = _refused(
        agent_api,
        account,
        [
            {
                "id": "1",
                "action": "modify",
                "product": {
                    "id": str(product.pk),
                    "productCharacteristic": [{"name": "bandwidth", "value": "1Gbps"}],
                },
            }
        ],
    )
    assert errors == {
        "productOrderItem[0].product.status": [
            f"Product {product.pk} is suspended: only a product that is active can be modified."
        ]
    }


@pytest.mark.django_db
def test_bad_relationships_are_refused(agent_api):
    offering, account, _ = five_g_world()

    def item(item_id, *relies_on):
        return {
            "id": item_id,
            "action": "add",
            "productOffering": {"id": str(offering.pk)},
            "productOrderItemRelationship": [
                {"id": other, "relationshipType": "reliesOn"} for other in relies_on
            ],
        }

    assert list(_refused(agent_api, account, [item("1", "9")])) == [
        "productOrderItem[0].productOrderItemRelationship[0].id"
    ]
    assert list(_refused(agent_api, account, [item("1", "1")])) == [
        "productOrderItem[0].productOrderItemRelationship[0].id"
    ]
    assert _refused(agent_api, account, [item("1", "3"), item("2", "1"), item("3", "2")]) == {
        "productOrderItem[0].productOrderItemRelationship": [
            "Item '1' is part of a cycle of reliesOn relationships."
        ]
    }
    bad_type = item("1")
    bad_type["productOrderItemRelationship"] = [{"id": "2", "relationshipType": "bundles"}]
    assert list(_refused(agent_api, account, [bad_type, item("2")])) == [
        "productOrderItem[0].productOrderItemRelationship[0].relationshipType"
    ]


@pytest.mark.django_db
def test_product_shows_prices_in_force_and_status_history(agent_api):
    offering, account, _ = five_g_world()
    product = active_product(offering, account)
    # A price that ended yesterday is no longer shown.
    offering.prices.filter(name="Monthly fee").update(valid_to=timezone.now() - timedelta(days=1))
    run(submit(account, ItemRequest("1", "modify", product_id=str(product.pk), status="suspended")))

    body = agent_api.get(f"/tmf-api/productInventory/v4/product/{product.pk}").data

    assert body["status"] == "suspended"
    assert body["productCharacteristic"] == [{"name": "bandwidth", "value": "500Mbps"}]
    assert [(p["name"], p["priceType"]) for p in body["productPrice"]] == [
        ("Activation fee", "oneTime"),
        ("Data usage", "usage"),
    ]
    assert [
        (change["previousStatus"], change["status"], change["changedBy"])
        for change in body["statusChangeHistory"]
    ] == [
        ("", "created", "activation-workflow"),
        ("created", "pendingActive", "activation-workflow"),
        ("pendingActive", "active", "activation-workflow"),
        ("active", "suspended", "activation-workflow"),
    ]
    assert body["statusChangeHistory"][-1]["reason"].startswith("Product order ")


def _bundle(offering):
    extra = ProductOfferingFactory(name="Cloud storage")
    bundle = ProductOfferingFactory(name="5G + Cloud", is_bundle=True)
    bundle.bundled_offerings.add(offering, extra)
    return bundle, extra


@pytest.mark.django_db
def test_a_bundle_gives_one_product_per_bundled_offering_under_its_own(agent_api):
    offering, account, gnb = five_g_world()
    bundle, extra = _bundle(offering)

    order = run(submit(account, ItemRequest("1", "add", str(bundle.pk), {"bandwidth": "1Gbps"})))

    assert order.state == "completed"
    parent = order.items.get().product
    assert (parent.product_offering, parent.status, parent.parent) == (bundle, "active", None)
    children = list(parent.bundled_products.order_by("pk"))
    assert [(c.product_offering, c.status) for c in children] == [
        (offering, "active"),
        (extra, "active"),
    ]
    assert children[0].characteristics == {"bandwidth": "1Gbps"}
    assert children[1].characteristics == {}
    assert parent.start_date == children[0].start_date
    body = agent_api.get(f"/tmf-api/productInventory/v4/product/{parent.pk}").data
    assert body["isBundle"] is True
    assert [(r["relationshipType"], r["product"]["id"]) for r in body["productRelationship"]] == [
        ("bundles", str(children[0].pk)),
        ("bundles", str(children[1].pk)),
    ]
    # The bundle itself is changed through its products.
    errors = _refused(
        agent_api, account, [{"id": "1", "action": "delete", "product": {"id": str(parent.pk)}}]
    )
    assert list(errors) == ["productOrderItem[0].product.id"]


@pytest.mark.django_db
def test_a_failed_bundle_aborts_all_its_products(agent_api):
    offering, account, gnb = five_g_world()
    bundle, _ = _bundle(offering)
    call_command("labnet", "fail", gnb.name, "--mode", "permanent")

    order = run(submit(account, ItemRequest("1", "add", str(bundle.pk), {})))

    assert order.state == "failed"
    assert set(ProductInstance.objects.values_list("status", flat=True)) == {"aborted"}
    assert ProductInstance.objects.count() == 3
    errors = _refused(
        agent_api,
        account,
        [
            {
                "id": "1",
                "action": "add",
                "productOffering": {"id": str(bundle.pk)},
                "product": {"productCharacteristic": [{"name": "colour", "value": "red"}]},
            }
        ],
    )
    assert errors == {
        "productOrderItem[0].product.productCharacteristic.colour": [
            "'colour' is not a characteristic of any product of '5G + Cloud'."
        ]
    }
