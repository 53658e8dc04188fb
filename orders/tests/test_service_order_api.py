"""TMF641 service orders posted by other systems: validation and roles."""

import pytest

from catalog.models import ServiceSpecification
from inventory.models import Service, ServiceResource
from orders import services
from orders.models import ActivationStep, ServiceOrder
from orders.tests.factories import five_g_world
from orders.tests.test_workflow import submit_and_run

SERVICE_ORDERS = "/tmf-api/serviceOrdering/v4/serviceOrder"


def _body(specification_id) -> dict:
    return {
        "externalId": "OSS-42",
        "serviceOrderItem": [
            {
                "id": "1",
                "action": "add",
                "service": {"serviceSpecification": {"id": specification_id}},
            }
        ],
    }


@pytest.mark.django_db
def test_service_order_is_acknowledged_with_service_and_steps(noc_api):
    five_g_world()
    specification = ServiceSpecification.objects.get(name="5G Slice Service")

    response = noc_api.post(SERVICE_ORDERS, _body(str(specification.pk)), format="json")

    assert response.status_code == 201, response.data
    assert response.data["state"] == "acknowledged"
    assert response.data["externalId"] == "OSS-42"
    assert response.data["orderRelationship"] == []
    item = response.data["serviceOrderItem"][0]
    assert (item["id"], item["action"], item["state"]) == ("1", "add", "acknowledged")
    assert item["service"]["state"] == "designed"
    assert item["service"]["serviceSpecification"]["id"] == str(specification.pk)
    order = ServiceOrder.objects.get()
    assert list(
        ActivationStep.objects.filter(item__order=order).values_list("operation", flat=True)
    ) == ["reserve", "configure", "configure", "verify", "activate"]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"serviceOrderItem": []}, "serviceOrderItem"),
        ({}, "serviceOrderItem"),
        (
            {
                "serviceOrderItem": [
                    {"id": "1", "action": "add", "service": {"serviceSpecification": {}}}
                ]
            },
            "serviceOrderItem[0].service.serviceSpecification.id",
        ),
        (_body("999999"), "serviceOrderItem[0].service.serviceSpecification.id"),
    ],
)
def test_bad_service_orders_are_refused(noc_api, body, field):
    five_g_world()

    response = noc_api.post(SERVICE_ORDERS, body, format="json")

    assert response.status_code == 400
    assert list(response.data["errors"]) == [field]
    assert ServiceOrder.objects.count() == 0


@pytest.mark.django_db
def test_roles(noc_api, agent_api, finance_api, anonymous_api):
    five_g_world()
    body = _body(str(ServiceSpecification.objects.get(name="5G Slice Service").pk))

    assert anonymous_api.get(SERVICE_ORDERS).status_code == 401
    assert agent_api.get(SERVICE_ORDERS).status_code == 200
    assert finance_api.get(SERVICE_ORDERS).status_code == 403
    assert agent_api.post(SERVICE_ORDERS, body, format="json").status_code == 403
    assert ServiceOrder.objects.count() == 0


def _direct_service(noc_api, bandwidth="500Mbps"):
    """A service ordered directly through TMF641 and run to completion."""
    specification = ServiceSpecification.objects.get(name="5G Slice Service")
    body = _body(str(specification.pk))
    body["serviceOrderItem"][0]["service"]["serviceCharacteristic"] = [
        {"name": "bandwidth", "value": bandwidth}
    ]
    response = noc_api.post(SERVICE_ORDERS, body, format="json")
    assert response.status_code == 201, response.data
    services.service_order_run(service_order_id=int(response.data["id"]))
    return response.data["serviceOrderItem"][0]["service"]["id"]


def _post_and_run(noc_api, items):
    response = noc_api.post(SERVICE_ORDERS, {"serviceOrderItem": items}, format="json")
    assert response.status_code == 201, response.data
    services.service_order_run(service_order_id=int(response.data["id"]))
    return noc_api.get(f"{SERVICE_ORDERS}/{response.data['id']}").data


@pytest.mark.django_db
def test_direct_modify_suspend_resume_and_delete_of_a_service(noc_api):
    five_g_world()
    service_id = _direct_service(noc_api)

    order = _post_and_run(
        noc_api,
        [
            {
                "id": "1",
                "action": "modify",
                "service": {
                    "id": service_id,
                    "serviceCharacteristic": [{"name": "bandwidth", "value": "1Gbps"}],
                },
            }
        ],
    )
    assert order["state"] == "completed"
    assert order["serviceOrderItem"][0]["action"] == "modify"
    service = Service.objects.get(pk=service_id)
    assert service.characteristics == {"bandwidth": "1Gbps"}
    assert set(ServiceResource.objects.values_list("capacity_mbps", flat=True)) == {1000}

    order = _post_and_run(
        noc_api,
        [{"id": "1", "action": "modify", "service": {"id": service_id, "state": "inactive"}}],
    )
    assert order["state"] == "completed"
    assert order["serviceOrderItem"][0]["service"]["state"] == "inactive"
    order = _post_and_run(
        noc_api, [{"id": "1", "action": "modify", "service": {"id": service_id, "state": "active"}}]
    )
    assert order["serviceOrderItem"][0]["service"]["state"] == "active"

    order = _post_and_run(noc_api, [{"id": "1", "action": "delete", "service": {"id": service_id}}])
    assert order["state"] == "completed"
    service.refresh_from_db()
    assert service.state == "terminated"
    assert service.end_date is not None
    assert not ServiceResource.objects.exclude(state="released").exists()
    assert [(h.from_state, h.to_state) for h in service.history.all()][-4:] == [
        ("active", "active"),
        ("active", "inactive"),
        ("inactive", "active"),
        ("active", "terminated"),
    ]


@pytest.mark.django_db
def test_direct_changes_are_refused_with_the_field(noc_api):
    offering, account, _ = five_g_world()
    service_id = _direct_service(noc_api)
    product_service = submit_and_run(offering, account).items.get().product.services.get()
    before = ServiceOrder.objects.count()
    cases = [
        ({"id": "1", "action": "delete", "service": {}}, "serviceOrderItem[0].service.id"),
        (
            {"id": "1", "action": "delete", "service": {"id": "999999"}},
            "serviceOrderItem[0].service.id",
        ),
        (
            {"id": "1", "action": "delete", "service": {"id": str(product_service.pk)}},
            "serviceOrderItem[0].service.id",
        ),
        (
            {"id": "1", "action": "modify", "service": {"id": service_id, "state": "active"}},
            "serviceOrderItem[0].service",
        ),
        (
            {"id": "1", "action": "modify", "service": {"id": service_id, "state": "reserved"}},
            "serviceOrderItem[0].service.state",
        ),
        (
            {"id": "1", "action": "add", "service": {"id": service_id}},
            "serviceOrderItem[0].service.serviceSpecification",
        ),
    ]
    for item, field in cases:
        response = noc_api.post(SERVICE_ORDERS, {"serviceOrderItem": [item]}, format="json")
        assert response.status_code == 400, (item, response.data)
        assert list(response.data["errors"]) == [field], item
    assert ServiceOrder.objects.count() == before
