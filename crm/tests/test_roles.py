"""Who may change an account's standing and who may read personal data, through the API and
the portal (crm.permissions)."""

from datetime import date
from decimal import Decimal

import pytest

from crm.models import (
    Account,
    BillFormat,
    BillingAccount,
    BillingAccountStateChange,
    CreditProfile,
    PartyIdentification,
)
from crm.tests.factories import (
    BillingAccountFactory,
    CustomerFactory,
    IndividualFactory,
    OrganizationFactory,
)

pytestmark = pytest.mark.django_db

PARTY = "/tmf-api/party/v4"
CUSTOMER = "/tmf-api/customerManagement/v4/customer"
ACCOUNTS = "/tmf-api/accountManagement/v4"
ACCOUNT = f"{ACCOUNTS}/billingAccount"


def _standing(account: BillingAccount) -> tuple:
    account.refresh_from_db()
    return (account.credit_limit, account.state, account.last_update)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"creditLimit": {"unit": "EUR", "value": 99999999}}, "creditLimit"),
        ({"creditLimit": {"unit": "EUR", "value": 0}}, "creditLimit"),
        ({"state": "closed"}, "state"),
        ({"state": "suspended", "name": "Also renamed"}, "state"),
    ],
)
def test_an_agent_may_not_change_credit_limit_or_state(agent_api, change, field):
    account = BillingAccountFactory(credit_limit=Decimal("500"), name="Kept")
    before = _standing(account)
    response = agent_api.patch(f"{ACCOUNT}/{account.pk}", change, format="json")
    assert response.status_code == 403
    body = response.json()
    assert (body["@type"], body["status"], body["code"]) == ("Error", "403", "forbidden")
    assert list(body["errors"]) == [field]
    assert _standing(account) == before
    assert account.name == "Kept"
    assert not BillingAccountStateChange.objects.filter(account=account).exists()


def test_an_agent_may_not_open_an_account_with_a_credit_limit(agent_api):
    customer = CustomerFactory()
    body = {
        "name": "Big spender",
        "creditLimit": {"unit": "EUR", "value": 99999999},
        "relatedParty": [{"id": str(customer.pk), "@referredType": "Customer"}],
    }
    response = agent_api.post(ACCOUNT, body, format="json")
    assert response.status_code == 403
    assert list(response.json()["errors"]) == ["creditLimit"]
    assert not BillingAccount.objects.exists()


def test_an_agent_still_changes_the_rest_and_may_resend_the_standing(agent_api):
    account = BillingAccountFactory(credit_limit=Decimal("500"))
    response = agent_api.patch(
        f"{ACCOUNT}/{account.pk}",
        {
            "name": "Renamed",
            "billCycleDay": 9,
            "state": "active",
            "creditLimit": {"unit": "EUR", "value": 500},
        },
        format="json",
    )
    assert response.status_code == 200, response.json()
    account.refresh_from_db()
    assert (account.name, account.bill_cycle_day, account.credit_limit, account.state) == (
        "Renamed",
        9,
        Decimal("500.0000"),
        "active",
    )


def test_finance_changes_credit_limit_and_state(finance_api, admin_api):
    account = BillingAccountFactory(credit_limit=Decimal("500"))
    url = f"{ACCOUNT}/{account.pk}"
    response = finance_api.patch(
        url, {"creditLimit": {"unit": "EUR", "value": 750}, "state": "suspended"}, format="json"
    )
    assert response.status_code == 200, response.json()
    assert (response.json()["creditLimit"], response.json()["state"]) == (
        {"unit": "EUR", "value": 750.0},
        "suspended",
    )
    assert admin_api.patch(url, {"state": "active"}, format="json").status_code == 200
    account.refresh_from_db()
    assert (account.credit_limit, account.state) == (Decimal("750.0000"), "active")


def _individual_with_personal_data():
    party = IndividualFactory(birth_date=date(1815, 12, 10))
    PartyIdentification.objects.create(
        party=party, identification_type="passport", identification_id="P123456"
    )
    customer = CustomerFactory(party=party)
    CreditProfile.objects.create(customer=customer, credit_score=812, credit_risk_rating=2)
    return party, customer


def test_the_noc_reads_no_personal_data_through_party_and_customer(noc_api, agent_api):
    party, customer = _individual_with_personal_data()
    organization = OrganizationFactory()
    PartyIdentification.objects.create(
        party=organization, identification_type="vat", identification_id="GB999"
    )
    for url in (f"{PARTY}/individual/{party.pk}", f"{PARTY}/individual"):
        body = noc_api.get(url).json()
        body = body[0] if isinstance(body, list) else body
        assert body["familyName"] == party.family_name
        assert "birthDate" not in body
        assert "individualIdentification" not in body
    body = noc_api.get(f"{PARTY}/organization/{organization.pk}").json()
    assert body["name"] == organization.organization_name
    assert "organizationIdentification" not in body
    for url in (f"{CUSTOMER}/{customer.pk}", CUSTOMER):
        body = noc_api.get(url).json()
        body = body[0] if isinstance(body, list) else body
        assert body["name"] == customer.name
        assert "creditProfile" not in body
    # `?fields=` cannot bring them back.
    fields = "fields=birthDate,individualIdentification"
    body = noc_api.get(f"{PARTY}/individual/{party.pk}?{fields}").json()
    assert set(body) == {"id", "href"}
    # The roles that deal with the customer see them.
    body = agent_api.get(f"{PARTY}/individual/{party.pk}").json()
    assert body["birthDate"] == "1815-12-10"
    assert [d["identificationId"] for d in body["individualIdentification"]] == ["P123456"]
    body = agent_api.get(f"{CUSTOMER}/{customer.pk}").json()
    assert [p["creditScore"] for p in body["creditProfile"]] == [812]


@pytest.mark.parametrize(
    "query",
    [
        "birthDate=1815-12-10",
        "birthDate.lt=1900-01-01",
        "birthDate=1815-12-10,2000-01-01",
        "individualIdentification.identificationId=P123456",
    ],
)
def test_the_noc_cannot_filter_on_personal_data(noc_api, agent_api, query):
    party, _ = _individual_with_personal_data()
    IndividualFactory(birth_date=date(1990, 1, 1))
    response = noc_api.get(f"{PARTY}/individual?{query}")
    assert response.status_code == 403
    assert list(response.json()["errors"]) == [query.split("=")[0]]
    if query.startswith("birthDate"):
        found = agent_api.get(f"{PARTY}/individual?{query}").json()
        assert [p["id"] for p in found] == [str(party.pk)]


def test_the_noc_cannot_filter_customers_on_credit_profile(noc_api):
    _individual_with_personal_data()
    response = noc_api.get(f"{CUSTOMER}?creditProfile.creditScore=812")
    assert response.status_code == 403
    assert list(response.json()["errors"]) == ["creditProfile.creditScore"]


def test_the_portal_shows_personal_data_to_agents_and_keeps_the_noc_out(agent_client, noc_client):
    _, customer = _individual_with_personal_data()
    page = agent_client.get(f"/portal/customers/{customer.pk}/").content.decode()
    assert "1815-12-10" in page
    assert "P123456" in page
    assert "812 / 999" in page
    assert noc_client.get(f"/portal/customers/{customer.pk}/").status_code == 403


@pytest.mark.parametrize(
    "resource",
    [
        "partyAccount",
        "settlementAccount",
        "financialAccount",
        "billingCycleSpecification",
        "billFormat",
        "billPresentationMedia",
    ],
)
def test_account_management_resources_by_role(
    resource, anonymous_api, agent_api, noc_api, finance_api, admin_api
):
    url = f"{ACCOUNTS}/{resource}"
    party = IndividualFactory()
    body = {"name": f"new {resource}"}
    if resource in ("partyAccount", "settlementAccount"):
        body["relatedParty"] = [{"id": str(party.pk), "@referredType": "Individual"}]
    formats = BillFormat.objects.count()
    assert anonymous_api.get(url).status_code == 401
    assert noc_api.get(url).status_code == 403
    for client in (agent_api, finance_api, admin_api):
        assert client.get(url).status_code == 200
    for client in (agent_api, noc_api):
        assert client.post(url, body, format="json").status_code == 403
    assert not Account.objects.exists()
    assert BillFormat.objects.count() == formats
    created = finance_api.post(url, body, format="json")
    assert created.status_code == 201, created.json()
    detail = f"{url}/{created.json()['id']}"
    assert agent_api.patch(detail, {"description": "x"}, format="json").status_code == 403
    assert finance_api.patch(detail, {"description": "x"}, format="json").status_code == 200
    body["name"] = f"admin {resource}"
    assert admin_api.post(url, body, format="json").status_code == 201
