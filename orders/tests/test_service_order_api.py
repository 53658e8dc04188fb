"""TMF641 service orders posted by other systems: validation and roles."""

import pytest

from catalog.models import ServiceSpecification
from orders.models import ActivationStep, ServiceOrder
from orders.tests.factories import five_g_world

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
    body = _body(str(ServiceSpecification.objects.get().pk))

    assert anonymous_api.get(SERVICE_ORDERS).status_code == 401
    assert agent_api.get(SERVICE_ORDERS).status_code == 200
    assert finance_api.get(SERVICE_ORDERS).status_code == 403
    assert agent_api.post(SERVICE_ORDERS, body, format="json").status_code == 403
    assert ServiceOrder.objects.count() == 0
