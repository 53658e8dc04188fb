"""TMF632 Party, TMF629 Customer and TMF666 Billing Account, through the HTTP API."""

import json
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from crm import selectors, services
from crm.models import (
    BillingAccount,
    BillingAccountStateChange,
    BillingCycleSpecification,
    Customer,
    Party,
)
from crm.tests.factories import (
    BillingAccountFactory,
    CustomerFactory,
    IndividualFactory,
    OrganizationFactory,
)
from telco.exceptions import DomainError, InvalidTransition

pytestmark = pytest.mark.django_db

HOST = "http://testserver"
PARTY = "/tmf-api/party/v4"
CUSTOMER = "/tmf-api/customerManagement/v4/customer"
ACCOUNT = "/tmf-api/accountManagement/v4/billingAccount"


def test_individual_create_and_read(agent_api):
    response = agent_api.post(
        f"{PARTY}/individual",
        {
            "givenName": "Grace",
            "familyName": "Hopper",
            "birthDate": "1906-12-09",
            "contactMedium": [
                {"mediumType": "email", "characteristic": {"emailAddress": "grace@example.com"}},
                {"mediumType": "phone", "characteristic": {"phoneNumber": "+447700900123"}},
                {
                    "mediumType": "postalAddress",
                    "characteristic": {
                        "street1": "1 Navy Way",
                        "city": "Arlington",
                        "postCode": "22202",
                        "country": "us",
                    },
                },
            ],
            "individualIdentification": [
                {
                    "identificationType": "passport",
                    "identificationId": "us 123 456",
                    "issuingAuthority": "US Department of State",
                    "issuingDate": "2020-01-02",
                    "validFor": {"endDateTime": "2030-01-02T00:00:00Z"},
                }
            ],
        },
        format="json",
    )
    assert response.status_code == 201, response.json()
    party = Party.objects.get()
    assert (party.kind, party.email, party.phone, party.city, party.country) == (
        "individual",
        "grace@example.com",
        "+447700900123",
        "Arlington",
        "US",
    )
    assert response.json() == {
        "id": str(party.pk),
        "href": f"{HOST}{PARTY}/individual/{party.pk}",
        "givenName": "Grace",
        "familyName": "Hopper",
        "fullName": "Grace Hopper",
        "birthDate": "1906-12-09",
        "contactMedium": [
            {
                "mediumType": "email",
                "preferred": False,
                "characteristic": {"emailAddress": "grace@example.com"},
            },
            {
                "mediumType": "phone",
                "preferred": False,
                "characteristic": {"phoneNumber": "+447700900123"},
            },
            {
                "mediumType": "postalAddress",
                "preferred": False,
                "characteristic": {
                    "street1": "1 Navy Way",
                    "city": "Arlington",
                    "postCode": "22202",
                    "country": "US",
                },
            },
        ],
        "individualIdentification": [
            {
                "identificationType": "passport",
                "identificationId": "US123456",
                "issuingAuthority": "US Department of State",
                "issuingCountry": "",
                "issuingDate": "2020-01-02",
                "validFor": {"endDateTime": "2030-01-02T00:00:00Z"},
            }
        ],
        "@type": "Individual",
    }
    assert response["Location"] == response.json()["href"]


def test_each_party_endpoint_sees_only_its_kind(agent_api):
    person = IndividualFactory()
    company = OrganizationFactory(organization_name="Acme Ltd")
    assert [p["id"] for p in agent_api.get(f"{PARTY}/individual").json()] == [str(person.pk)]
    organizations = agent_api.get(f"{PARTY}/organization/").json()
    assert [(o["id"], o["name"], o["tradingName"]) for o in organizations] == [
        (str(company.pk), "Acme Ltd", "Acme Ltd")
    ]
    assert agent_api.get(f"{PARTY}/individual/{company.pk}").status_code == 404
    assert agent_api.get(f"{PARTY}/organization/{person.pk}").status_code == 404


def test_organization_create_by_trading_name_and_bad_input(agent_api):
    response = agent_api.post(f"{PARTY}/organization", {"tradingName": "Initech"}, format="json")
    assert response.status_code == 201
    assert response.json()["name"] == "Initech"
    response = agent_api.post(
        f"{PARTY}/organization",
        {"contactMedium": [{"mediumType": "fax", "characteristic": {}}]},
        format="json",
    )
    assert response.status_code == 400
    assert "contactMedium[0].mediumType" in response.json()["errors"]
    response = agent_api.post(f"{PARTY}/individual", {"givenName": "No"}, format="json")
    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["familyName"]
    assert Party.objects.count() == 1


@pytest.mark.parametrize("content_type", ["application/merge-patch+json", "application/json"])
def test_party_patch_replaces_contact_media(agent_api, content_type):
    party = IndividualFactory(email="old@example.com", phone="+441", city="Leeds")
    response = agent_api.patch(
        f"{PARTY}/individual/{party.pk}",
        json.dumps(
            {
                "givenName": "Augusta",
                "contactMedium": [
                    {"mediumType": "email", "characteristic": {"emailAddress": "new@example.com"}}
                ],
            }
        ),
        content_type=content_type,
    )
    assert response.status_code == 200, response.json()
    party.refresh_from_db()
    assert (party.given_name, party.email, party.phone, party.city) == (
        "Augusta",
        "new@example.com",
        "",
        "",
    )
    response = agent_api.patch(f"{PARTY}/individual/{party.pk}", {"fullName": "X"}, format="json")
    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["fullName"]


def test_customer_create_minimum_body(agent_api):
    party = OrganizationFactory(organization_name="Acme Ltd", email="ops@acme.example")
    response = agent_api.post(
        f"{CUSTOMER}/",
        {"name": "Acme", "engagedParty": {"id": str(party.pk), "@referredType": "Organization"}},
        format="json",
    )
    assert response.status_code == 201, response.json()
    customer = Customer.objects.get()
    assert response["Location"] == f"{HOST}{CUSTOMER}/{customer.pk}"
    assert response.json() == {
        "id": str(customer.pk),
        "href": f"{HOST}{CUSTOMER}/{customer.pk}",
        "name": "Acme",
        "status": "approved",
        "customerCategory": "consumer",
        "engagedParty": {
            "id": str(party.pk),
            "href": f"{HOST}{PARTY}/organization/{party.pk}",
            "name": "Acme Ltd",
            "@referredType": "Organization",
        },
        "account": [],
        "contactMedium": [
            {
                "mediumType": "email",
                "preferred": True,
                "characteristic": {"emailAddress": "ops@acme.example"},
            }
        ],
        "creditProfile": [],
        "@type": "Customer",
    }


@pytest.mark.parametrize(
    ("engaged_party", "field"),
    [
        ({"id": "999", "@referredType": "Individual"}, "engagedParty.id"),
        ({"id": "abc", "@referredType": "Individual"}, "engagedParty.id"),
        (None, "engagedParty"),
        ("PARTY_AS_ORGANIZATION", "engagedParty.@referredType"),
    ],
)
def test_customer_create_bad_party_writes_nothing(agent_api, engaged_party, field):
    party = IndividualFactory()
    if engaged_party == "PARTY_AS_ORGANIZATION":
        engaged_party = {"id": str(party.pk), "@referredType": "Organization"}
    body = {"name": "X"} | ({"engagedParty": engaged_party} if engaged_party else {})
    response = agent_api.post(CUSTOMER, body, format="json")
    assert response.status_code == 400
    assert list(response.json()["errors"]) == [field]
    assert not Customer.objects.exists()


def test_customer_patch_and_account_refs(agent_api):
    customer = CustomerFactory(name="Old")
    account = BillingAccountFactory(customer=customer, name="Main")
    response = agent_api.patch(
        f"{CUSTOMER}/{customer.pk}",
        {"name": "New", "status": "validated", "customerCategory": "enterprise"},
        format="json",
    )
    assert response.status_code == 200
    body = response.json()
    assert (body["name"], body["status"], body["customerCategory"]) == (
        "New",
        "validated",
        "enterprise",
    )
    assert body["account"] == [
        {
            "id": str(account.pk),
            "href": f"{HOST}{ACCOUNT}/{account.pk}",
            "name": "Main",
            "@referredType": "BillingAccount",
        }
    ]
    response = agent_api.patch(f"{CUSTOMER}/{customer.pk}", {"status": "bogus"}, format="json")
    assert response.status_code == 400
    customer.refresh_from_db()
    assert customer.status == "validated"


def test_billing_account_create_minimum_body_and_generated_number(agent_api):
    customer = CustomerFactory(name="Ada")
    response = agent_api.post(
        ACCOUNT,
        {
            "name": "Ada main",
            "accountNumber": "CLIENT-CHOSEN",
            "relatedParty": [{"id": str(customer.pk), "@referredType": "Customer", "name": "Ada"}],
        },
        format="json",
    )
    assert response.status_code == 201, response.json()
    account = BillingAccount.objects.get()
    assert account.account_number == f"BA{account.pk:08d}"
    # With no cycle given, the standard monthly cycle of day 1.
    cycle = BillingCycleSpecification.objects.get(name="Monthly, day 1")
    assert account.cycle_specification == cycle
    body = response.json()
    assert body == {
        "id": str(account.pk),
        "href": f"{HOST}{ACCOUNT}/{account.pk}",
        "name": "Ada main",
        "accountNumber": f"BA{account.pk:08d}",
        "state": "active",
        "currency": "EUR",
        "billCycleDay": 1,
        "lastModified": body["lastModified"],
        "accountType": "postpaid",
        "creditLimit": {"unit": "EUR", "value": 0.0},
        "billStructure": {
            "cycleSpecification": {
                "id": str(cycle.pk),
                "href": f"{HOST}/tmf-api/accountManagement/v4/billingCycleSpecification/{cycle.pk}",
                "name": "Monthly, day 1",
                "billingDateShift": 1,
                "isRef": True,
                "@referredType": "BillingCycleSpecification",
            },
            "presentationMedia": [],
        },
        "defaultPaymentMethod": {
            "id": "directDebit",
            "name": "Direct Debit",
            "@referredType": "PaymentMethod",
        },
        "relatedParty": [
            {
                "id": str(customer.pk),
                "href": f"{HOST}{CUSTOMER}/{customer.pk}",
                "name": "Ada",
                "@referredType": "Customer",
                "role": "owner",
            }
        ],
        "contact": [],
        "@type": "BillingAccount",
    }


def test_billing_account_create_with_currency_cycle_and_payment(finance_api):
    customer = CustomerFactory()
    response = finance_api.post(
        ACCOUNT,
        {
            "name": "Business",
            "currency": "GBP",
            "billStructure": {"cycleSpecification": {"billingDateShift": 15}},
            "defaultPaymentMethod": {"id": "card"},
            "creditLimit": {"unit": "GBP", "value": 250},
            "relatedParty": [{"id": str(customer.pk), "@referredType": "Customer"}],
        },
        format="json",
    )
    assert response.status_code == 201, response.json()
    account = BillingAccount.objects.get()
    assert (
        account.currency,
        account.bill_cycle_day,
        account.payment_method,
        account.credit_limit,
    ) == ("GBP", 15, "card", Decimal("250.0000"))


@pytest.mark.parametrize(
    ("related", "extra", "field"),
    [
        (None, {}, "relatedParty"),
        ([], {}, "relatedParty"),
        ([{"id": "999", "@referredType": "Customer"}], {}, "relatedParty[0].id"),
        ("CUSTOMER", {"billCycleDay": 31}, "billCycleDay"),
        (
            "CUSTOMER",
            {"billStructure": {"cycleSpecification": {"billingDateShift": 29}}},
            "billStructure.cycleSpecification.billingDateShift",
        ),
        ("CUSTOMER", {"creditLimit": {"unit": "USD", "value": 1}}, "creditLimit.unit"),
        ("CUSTOMER", {"defaultPaymentMethod": {"id": "cash"}}, "defaultPaymentMethod.id"),
    ],
)
def test_billing_account_bad_input_writes_nothing(agent_api, related, extra, field):
    customer = CustomerFactory()
    if related == "CUSTOMER":
        related = [{"id": str(customer.pk), "@referredType": "Customer"}]
    body = {"name": "X", **extra} | ({"relatedParty": related} if related is not None else {})
    response = agent_api.post(ACCOUNT, body, format="json")
    assert response.status_code == 400
    assert field in response.json()["errors"], response.json()
    assert not BillingAccount.objects.exists()


def test_billing_account_patch_and_state_table(finance_api):
    account = BillingAccountFactory()
    url = f"{ACCOUNT}/{account.pk}"
    response = finance_api.patch(
        url,
        json.dumps(
            {
                "name": "Renamed",
                "state": "suspended",
                "creditLimit": {"unit": "EUR", "value": 100},
                "billStructure": {"cycleSpecification": {"billingDateShift": 20}},
                "defaultPaymentMethod": {"id": "bankTransfer"},
            }
        ),
        content_type="application/merge-patch+json",
    )
    assert response.status_code == 200, response.json()
    account.refresh_from_db()
    assert (
        account.name,
        account.state,
        account.credit_limit,
        account.bill_cycle_day,
        account.payment_method,
    ) == ("Renamed", "suspended", Decimal("100.0000"), 20, "bankTransfer")
    assert finance_api.patch(url, {"state": "closed"}, format="json").status_code == 200
    response = finance_api.patch(url, {"state": "active", "name": "Again"}, format="json")
    assert response.status_code == 409
    account.refresh_from_db()
    assert (account.state, account.name) == ("closed", "Renamed")
    history = BillingAccountStateChange.objects.filter(account=account)
    assert list(history.values_list("from_state", "to_state", "changed_by")) == [
        ("active", "suspended", "finance1"),
        ("suspended", "closed", "finance1"),
    ]
    response = finance_api.patch(url, {"currency": "USD"}, format="json")
    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["currency"]


def test_roles(anonymous_api, agent_api, noc_api, finance_api, admin_api):
    customer = CustomerFactory()
    body = {"name": "X", "engagedParty": {"id": str(customer.party.pk)}}
    for url in (CUSTOMER, ACCOUNT, f"{PARTY}/individual", f"{PARTY}/organization"):
        assert anonymous_api.get(url).status_code == 401
        for client in (agent_api, noc_api, finance_api, admin_api):
            assert client.get(url).status_code == 200
    assert noc_api.post(CUSTOMER, body, format="json").status_code == 403
    assert finance_api.post(CUSTOMER, body, format="json").status_code == 403
    assert (
        finance_api.post(f"{PARTY}/individual", {"familyName": "F"}, format="json").status_code
        == 403
    )
    account_body = {"name": "A", "relatedParty": [{"id": str(customer.pk)}]}
    assert noc_api.post(ACCOUNT, account_body, format="json").status_code == 403
    assert Customer.objects.count() == 1
    assert not BillingAccount.objects.exists()
    assert admin_api.post(CUSTOMER, body, format="json").status_code == 201


def test_unknown_ids_are_404(agent_api):
    for url in (f"{CUSTOMER}/999", f"{ACCOUNT}/999", f"{PARTY}/individual/x"):
        response = agent_api.get(url)
        assert response.status_code == 404
        assert (response.json()["@type"], response.json()["status"]) == ("Error", "404")


def test_idempotent_customer_create(agent_api):
    party = IndividualFactory()
    body = {"name": "Once", "engagedParty": {"id": str(party.pk), "@referredType": "Individual"}}
    first = agent_api.post(CUSTOMER, body, format="json", HTTP_IDEMPOTENCY_KEY="abc")
    second = agent_api.post(CUSTOMER, body, format="json", HTTP_IDEMPOTENCY_KEY="abc")
    assert first.json() == second.json()
    assert Customer.objects.count() == 1


def test_filters_on_accounts(agent_api):
    first = BillingAccountFactory(currency="EUR")
    second = BillingAccountFactory(currency="GBP")
    BillingAccountFactory(currency="USD")
    response = agent_api.get(f"{ACCOUNT}?currency=EUR,GBP")
    assert [a["id"] for a in response.json()] == [str(first.pk), str(second.pk)]
    response = agent_api.get(f"{ACCOUNT}?relatedParty.id={second.customer.pk}&fields=name")
    assert response.json() == [
        {"id": str(second.pk), "href": f"{HOST}{ACCOUNT}/{second.pk}", "name": second.name}
    ]
    assert agent_api.get(f"{ACCOUNT}?owner=1").status_code == 400


@pytest.mark.parametrize(
    ("url", "build"),
    [
        (CUSTOMER, lambda: BillingAccountFactory().customer),
        (ACCOUNT, BillingAccountFactory),
        (f"{PARTY}/individual", IndividualFactory),
    ],
)
def test_list_query_count_is_constant(agent_api, url, build):
    def count_queries():
        with CaptureQueriesContext(connection) as context:
            response = agent_api.get(url)
        return len(context.captured_queries), len(response.json())

    build()
    build()
    few, few_rows = count_queries()
    for _ in range(8):
        build()
    many, many_rows = count_queries()
    assert (few_rows, many_rows) == (2, 10)
    assert few == many


def test_customer_search_selector():
    ada = CustomerFactory(name="Ada Lovelace", party=IndividualFactory(email="ada@math.example"))
    bob = CustomerFactory(name="Bob", party=IndividualFactory(phone="+441234"))
    account = BillingAccountFactory(customer=bob, account_number="BA00000077")
    BillingAccountFactory(customer=bob)
    assert list(selectors.customer_search("lovelace")) == [ada]
    assert list(selectors.customer_search("MATH.example")) == [ada]
    assert list(selectors.customer_search("+44123")) == [bob]
    assert list(selectors.customer_search(account.account_number)) == [bob]
    assert list(selectors.customer_search("nobody")) == []


def test_services_refuse_bad_input():
    customer = CustomerFactory()
    with pytest.raises(DomainError) as error:
        services.billing_account_create(customer=customer, name="X", bill_cycle_day=30)
    assert error.value.field == "billStructure.cycleSpecification.billingDateShift"
    with pytest.raises(DomainError) as error:
        services.party_create(kind="organization", organization_name=" ")
    assert error.value.field == "name"
    account = services.billing_account_create(customer=customer, name="Y")
    with pytest.raises(InvalidTransition):
        services.billing_account_set_state(account=account, state="bogus")
    assert BillingAccount.objects.count() == 1
