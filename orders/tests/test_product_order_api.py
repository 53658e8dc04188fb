"""TMF622 product orders: acceptance, validation (400 naming the field, nothing written), roles."""

import pytest

from catalog.choices import LifecycleStatus
from crm.tests.factories import BillingAccountFactory, CustomerFactory
from inventory.models import ProductInstance, Service
from orders.models import ProductOrder, ServiceOrder
from orders.tests.factories import five_g_world, product_order_body

ORDERS = "/tmf-api/productOrderingManagement/v4/productOrder"


def _nothing_written():
    assert ProductOrder.objects.count() == 0
    assert ServiceOrder.objects.count() == 0
    assert ProductInstance.objects.count() == 0
    assert Service.objects.count() == 0


@pytest.mark.django_db
def test_minimum_body_with_individual_party_is_acknowledged(agent_api):
    offering, account, _ = five_g_world()
    body = {
        "productOrderItem": [
            {"id": "1", "action": "add", "productOffering": {"id": str(offering.pk)}}
        ],
        "relatedParty": [{"id": str(account.customer.party_id), "@referredType": "Individual"}],
    }

    response = agent_api.post(ORDERS, body, format="json")

    assert response.status_code == 201, response.data
    order = ProductOrder.objects.get()
    assert response["Location"] == response.data["href"]
    assert response.data["state"] == "acknowledged"
    assert (order.customer, order.billing_account, order.created_by) == (
        account.customer,
        account,
        "agent1",
    )
    item = response.data["productOrderItem"][0]
    assert item["id"] == "1"
    assert item["action"] == "add"
    assert item["state"] == "acknowledged"
    assert item["quantity"] == 1
    assert item["productOffering"]["id"] == str(offering.pk)
    # The catalog's default value is filled in.
    assert item["product"] == {"productCharacteristic": [{"name": "bandwidth", "value": "500Mbps"}]}
    assert response.data["relatedParty"][0]["id"] == str(account.customer_id)
    assert response.data["billingAccount"]["id"] == str(account.pk)
    assert response.data["note"] == []
    assert response.data["serviceOrder"] == []


def _post(agent_api, body):
    response = agent_api.post(ORDERS, body, format="json")
    assert response.status_code == 400, response.data
    return response.data


@pytest.mark.django_db
def test_unknown_offering_is_refused(agent_api):
    _, account, _ = five_g_world()
    body = product_order_body(offering_id=999999, party_id=account.customer_id)

    errors = _post(agent_api, body)["errors"]

    assert list(errors) == ["productOrderItem[0].productOffering.id"]
    _nothing_written()


@pytest.mark.django_db
def test_offering_not_launched_is_refused(agent_api):
    offering, account, _ = five_g_world()
    offering.lifecycle_status = LifecycleStatus.RETIRED
    offering.save()

    errors = _post(
        agent_api, product_order_body(offering_id=offering.pk, party_id=account.customer_id)
    )

    assert errors["errors"] == {
        "productOrderItem[0].productOffering.id": ["Product offering '5G Premium' is not launched."]
    }
    _nothing_written()


@pytest.mark.django_db
def test_invalid_characteristic_is_refused(agent_api):
    offering, account, _ = five_g_world()
    body = product_order_body(
        offering_id=offering.pk, party_id=account.customer_id, bandwidth="2Gbps"
    )

    errors = _post(agent_api, body)["errors"]

    assert list(errors) == ["productOrderItem[0].product.productCharacteristic.bandwidth"]
    _nothing_written()


@pytest.mark.django_db
def test_billing_account_of_another_customer_is_refused(agent_api):
    offering, account, _ = five_g_world()
    other = BillingAccountFactory()
    body = product_order_body(
        offering_id=offering.pk, party_id=account.customer_id, account_id=other.pk
    )

    errors = _post(agent_api, body)["errors"]

    assert errors == {
        "billingAccount.id": [
            f"Billing account '{other.pk}' does not belong to customer {account.customer_id}."
        ]
    }
    _nothing_written()


@pytest.mark.django_db
def test_unknown_billing_account_is_refused(agent_api):
    offering, account, _ = five_g_world()
    body = product_order_body(offering_id=offering.pk, party_id=account.customer_id, account_id=0)

    assert list(_post(agent_api, body)["errors"]) == ["billingAccount.id"]
    _nothing_written()


@pytest.mark.django_db
def test_account_must_be_named_when_customer_has_several(agent_api):
    offering, account, _ = five_g_world()
    BillingAccountFactory(customer=account.customer)
    body = product_order_body(offering_id=offering.pk, party_id=account.customer_id)

    assert list(_post(agent_api, body)["errors"]) == ["billingAccount"]
    _nothing_written()


@pytest.mark.django_db
def test_unknown_customer_is_refused(agent_api):
    offering, _, _ = five_g_world()

    errors = _post(agent_api, product_order_body(offering_id=offering.pk, party_id=999999))

    assert errors["errors"] == {"relatedParty[0].id": ["Customer '999999' does not exist."]}
    _nothing_written()


@pytest.mark.django_db
def test_party_that_is_not_a_customer_is_refused(agent_api):
    offering, _, _ = five_g_world()
    party = CustomerFactory().party
    party.customer_roles.all().delete()
    body = product_order_body(
        offering_id=offering.pk, party_id=party.pk, referred_type="Individual"
    )

    assert list(_post(agent_api, body)["errors"]) == ["relatedParty[0].id"]
    _nothing_written()


@pytest.mark.django_db
def test_order_without_capacity_is_not_feasible(agent_api):
    offering, account, _ = five_g_world(gnb_capacity_mbps=500)
    body = product_order_body(offering_id=offering.pk, party_id=account.customer_id)

    errors = _post(agent_api, body)["errors"]

    assert errors == {
        "productOrderItem[0].product.productCharacteristic.bandwidth": [
            "Not feasible: no gNB has 1000 Mbps of free capacity."
        ]
    }
    _nothing_written()


@pytest.mark.django_db
def test_missing_items_and_bad_action_are_refused(agent_api):
    offering, account, _ = five_g_world()
    body = product_order_body(offering_id=offering.pk, party_id=account.customer_id)
    body["productOrderItem"][0]["action"] = "modify"

    # A modify names the product it changes.
    assert list(_post(agent_api, body)["errors"]) == ["productOrderItem[0].product.id"]
    body["productOrderItem"][0]["action"] = "noChange"
    assert list(_post(agent_api, body)["errors"]) == ["productOrderItem[0].action"]
    assert list(_post(agent_api, {"productOrderItem": []})["errors"]) == ["productOrderItem"]
    _nothing_written()


@pytest.mark.django_db
def test_roles(agent_api, noc_api, finance_api, anonymous_api):
    offering, account, _ = five_g_world()
    body = product_order_body(offering_id=offering.pk, party_id=account.customer_id)

    assert anonymous_api.get(ORDERS).status_code == 401
    assert noc_api.get(ORDERS).status_code == 200
    assert finance_api.get(ORDERS).status_code == 200
    assert noc_api.post(ORDERS, body, format="json").status_code == 403
    assert finance_api.post(ORDERS, body, format="json").status_code == 403
    _nothing_written()
    assert agent_api.get(f"{ORDERS}/12345").status_code == 404
