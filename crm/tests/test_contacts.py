"""Contact media, identifications (TMF632), credit profiles (TMF629) and billing account
contacts (TMF666), through the HTTP API and the services."""

from datetime import date

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from crm import selectors, services
from crm.models import (
    BillingAccountContact,
    ContactMedium,
    CreditProfile,
    Party,
    PartyIdentification,
)
from crm.tests.factories import BillingAccountFactory, CustomerFactory, IndividualFactory
from telco.exceptions import DomainError

pytestmark = pytest.mark.django_db

PARTY = "/tmf-api/party/v4"
CUSTOMER = "/tmf-api/customerManagement/v4/customer"
ACCOUNT = "/tmf-api/accountManagement/v4/billingAccount"

MEDIA = [
    {"mediumType": "email", "characteristic": {"emailAddress": "work@example.com"}},
    {
        "mediumType": "email",
        "preferred": True,
        "characteristic": {"emailAddress": "home@example.com", "contactType": "home"},
    },
    {"mediumType": "phone", "characteristic": {"phoneNumber": "+44 20 7946 0000"}},
    {"mediumType": "mobile", "preferred": True, "characteristic": {"phoneNumber": "+447700900999"}},
    {
        "mediumType": "postalAddress",
        "characteristic": {"street1": "2 Old Road", "city": "Leeds", "postCode": "LS1 1AA"},
        "validFor": {"endDateTime": "2020-01-01T00:00:00Z"},
    },
    {
        "mediumType": "postalAddress",
        "characteristic": {
            "street1": "9 New Street",
            "street2": "Flat 3",
            "city": "York",
            "postCode": "YO1 7HH",
            "country": "gb",
        },
    },
]


def create_individual(api, **extra):
    body = {"givenName": "Mary", "familyName": "Somerville", **extra}
    return api.post(f"{PARTY}/individual", body, format="json")


def test_the_preferred_media_become_the_party_columns(agent_api):
    response = create_individual(agent_api, contactMedium=MEDIA)
    assert response.status_code == 201, response.json()
    party = Party.objects.get()
    # The preferred email and mobile; the current address (the old one's validity has ended).
    assert (party.email, party.phone, party.street, party.city, party.postcode, party.country) == (
        "home@example.com",
        "+447700900999",
        "9 New Street, Flat 3",
        "York",
        "YO1 7HH",
        "GB",
    )
    media = response.json()["contactMedium"]
    assert [(m["mediumType"], m["preferred"]) for m in media] == [
        ("email", False),
        ("email", True),
        ("phone", False),
        ("mobile", True),
        ("postalAddress", False),
        ("postalAddress", False),
    ]
    assert media[1]["characteristic"] == {"contactType": "home", "emailAddress": "home@example.com"}
    assert media[4]["validFor"] == {"endDateTime": "2020-01-01T00:00:00Z"}
    # Search keeps working on the maintained columns.
    customer = CustomerFactory(party=party, name="Mary Somerville")
    assert list(selectors.customer_search("home@example")) == [customer]
    assert list(selectors.customer_search("900999")) == [customer]


@pytest.mark.parametrize(
    ("medium", "field"),
    [
        (
            {"mediumType": "email", "characteristic": {"emailAddress": "not-an-email"}},
            "contactMedium[1].characteristic.emailAddress",
        ),
        (
            {"mediumType": "email", "characteristic": {}},
            "contactMedium[1].characteristic.emailAddress",
        ),
        (
            {"mediumType": "mobile", "characteristic": {"phoneNumber": "call me"}},
            "contactMedium[1].characteristic.phoneNumber",
        ),
        (
            {"mediumType": "postalAddress", "characteristic": {"street1": "1 Road"}},
            "contactMedium[1].characteristic.city",
        ),
        (
            {"mediumType": "postalAddress", "characteristic": {"city": "Bath", "street1": "1 A"}}
            | {"validFor": {"startDateTime": "2026-01-02T00:00:00Z", "endDateTime": "2026-01-01"}},
            "contactMedium[1].validFor.endDateTime",
        ),
        ({"mediumType": "pigeon", "characteristic": {}}, "contactMedium[1].mediumType"),
        (
            {
                "mediumType": "email",
                "preferred": True,
                "characteristic": {"emailAddress": "b@x.io"},
            },
            "contactMedium[1].preferred",
        ),
        (
            {"mediumType": "phone", "characteristic": {"phoneNumber": "+441", "country": "GBR"}},
            "contactMedium[1].characteristic.country",
        ),
    ],
)
def test_a_bad_medium_is_400_naming_it_and_nothing_is_written(agent_api, medium, field):
    first = {"mediumType": "email", "preferred": True, "characteristic": {"emailAddress": "a@x.io"}}
    response = create_individual(agent_api, contactMedium=[first, medium])
    assert response.status_code == 400
    assert list(response.json()["errors"]) == [field]
    assert not Party.objects.exists()
    assert not ContactMedium.objects.exists()


def test_patch_replaces_media_and_identifications_or_changes_nothing(agent_api):
    party = IndividualFactory(email="old@example.com", phone="+441234")
    url = f"{PARTY}/individual/{party.pk}"
    passport = {
        "identificationType": "passport",
        "identificationId": "123456789",
        "issuingAuthority": "HMPO",
        "issuingCountry": "GB",
    }
    response = agent_api.patch(
        url,
        {
            "contactMedium": [
                {"mediumType": "email", "characteristic": {"emailAddress": "new@example.com"}}
            ],
            "individualIdentification": [passport],
        },
        format="json",
    )
    assert response.status_code == 200, response.json()
    party.refresh_from_db()
    assert (party.email, party.phone) == ("new@example.com", "")
    assert response.json()["individualIdentification"] == [
        {**passport, "issuingDate": None, "identificationId": "123456789"}
    ]
    # A bad entry anywhere: 400 naming it, the party keeps its media and documents.
    response = agent_api.patch(
        url,
        {
            "contactMedium": [
                {"mediumType": "email", "characteristic": {"emailAddress": "z@example.com"}}
            ],
            "individualIdentification": [passport, {"identificationType": "vat"}],
        },
        format="json",
    )
    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["individualIdentification[1].identificationType"]
    party.refresh_from_db()
    assert party.email == "new@example.com"
    assert list(party.contact_media.values_list("email_address", flat=True)) == ["new@example.com"]
    assert party.identifications.get().identification_id == "123456789"


def test_a_document_identifies_one_party_only(agent_api):
    document = {
        "identificationType": "nationalId",
        "identificationId": "ab 12 34 56 c",
        "issuingCountry": "GB",
    }
    response = create_individual(agent_api, individualIdentification=[document])
    assert response.status_code == 201, response.json()
    assert PartyIdentification.objects.get().identification_id == "AB123456C"
    # The same number, spaced or cased differently, for another party.
    twin = {**document, "identificationId": "AB123456c"}
    response = agent_api.post(
        f"{PARTY}/individual",
        {"familyName": "Other", "individualIdentification": [twin]},
        format="json",
    )
    assert response.status_code == 400
    assert response.json()["errors"] == {
        "individualIdentification[0].identificationId": [
            "This nationalId already identifies another party."
        ]
    }
    assert Party.objects.count() == 1
    # Issued by another country, it is another document.
    other = {**twin, "issuingCountry": "IE"}
    response = agent_api.post(
        f"{PARTY}/individual",
        {"familyName": "Other", "individualIdentification": [other]},
        format="json",
    )
    assert response.status_code == 201
    # The same document twice in one request.
    response = agent_api.post(
        f"{PARTY}/individual",
        {
            "familyName": "Twice",
            "individualIdentification": [document | {"issuingCountry": "FR"}] * 2,
        },
        format="json",
    )
    assert list(response.json()["errors"]) == ["individualIdentification[1].identificationId"]


def test_organizations_take_company_documents_only(agent_api):
    response = agent_api.post(
        f"{PARTY}/organization",
        {
            "name": "Initech",
            "organizationIdentification": [
                {"identificationType": "companyRegistration", "identificationId": "01234567"},
                {"identificationType": "vat", "identificationId": "GB 123 4567 89"},
            ],
        },
        format="json",
    )
    assert response.status_code == 201, response.json()
    assert [
        (d["identificationType"], d["identificationId"])
        for d in response.json()["organizationIdentification"]
    ] == [("companyRegistration", "01234567"), ("vat", "GB123456789")]
    response = agent_api.post(
        f"{PARTY}/organization",
        {
            "name": "Globex",
            "organizationIdentification": [
                {"identificationType": "passport", "identificationId": "1"}
            ],
        },
        format="json",
    )
    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["organizationIdentification[0].identificationType"]


def test_service_refuses_a_document_issued_in_the_future():
    with pytest.raises(DomainError) as error:
        services.party_create(
            kind="individual",
            family_name="Future",
            identifications=[
                {
                    "identification_type": "passport",
                    "identification_id": "X1",
                    "issuing_date": date(2999, 1, 1),
                }
            ],
        )
    assert error.value.field == "individualIdentification[0].issuingDate"
    assert not Party.objects.exists()


def test_customer_credit_profile_create_patch_and_bad_input(agent_api):
    party = IndividualFactory()
    response = agent_api.post(
        CUSTOMER,
        {
            "name": "Ada",
            "engagedParty": {"id": str(party.pk)},
            "creditProfile": [
                {
                    "creditProfileDate": "2026-01-05T10:00:00Z",
                    "creditScore": 720,
                    "creditRiskRating": 2,
                    "validFor": {
                        "startDateTime": "2026-01-05T10:00:00Z",
                        "endDateTime": "2027-01-05T10:00:00Z",
                    },
                }
            ],
        },
        format="json",
    )
    assert response.status_code == 201, response.json()
    assert response.json()["creditProfile"] == [
        {
            "creditProfileDate": "2026-01-05T10:00:00Z",
            "creditScore": 720,
            "creditRiskRating": 2,
            "validFor": {
                "startDateTime": "2026-01-05T10:00:00Z",
                "endDateTime": "2027-01-05T10:00:00Z",
            },
        }
    ]
    url = f"{CUSTOMER}/{response.json()['id']}"
    for profile, field in [
        ({"creditScore": 1000, "creditRiskRating": 1}, "creditProfile[0].creditScore"),
        ({"creditScore": 500, "creditRiskRating": 6}, "creditProfile[0].creditRiskRating"),
        ({"creditRiskRating": 3}, "creditProfile[0].creditScore"),
    ]:
        response = agent_api.patch(url, {"creditProfile": [profile]}, format="json")
        assert response.status_code == 400, profile
        assert list(response.json()["errors"]) == [field]
    assert CreditProfile.objects.get().credit_score == 720
    response = agent_api.patch(
        url, {"creditProfile": [{"creditScore": 610, "creditRiskRating": 3}]}, format="json"
    )
    assert response.status_code == 200
    assert [
        (p["creditScore"], p["creditRiskRating"]) for p in response.json()["creditProfile"]
    ] == [(610, 3)]


def test_billing_account_contacts(agent_api, finance_api):
    account = BillingAccountFactory()
    contact = {
        "contactName": "Jo Accounts",
        "contactType": "billing",
        "partyRoleType": "accountsPayable",
        "contactMedium": [
            {
                "mediumType": "email",
                "preferred": True,
                "characteristic": {"emailAddress": "jo@a.io"},
            },
            {"mediumType": "phone", "characteristic": {"phoneNumber": "+44 113 496 0000"}},
        ],
    }
    response = finance_api.patch(f"{ACCOUNT}/{account.pk}", {"contact": [contact]}, format="json")
    assert response.status_code == 200, response.json()
    assert response.json()["contact"] == [
        {
            "contactName": "Jo Accounts",
            "contactType": "billing",
            "partyRoleType": "accountsPayable",
            "contactMedium": [
                {
                    "mediumType": "email",
                    "preferred": True,
                    "characteristic": {"emailAddress": "jo@a.io"},
                },
                {
                    "mediumType": "phone",
                    "preferred": False,
                    "characteristic": {"phoneNumber": "+44 113 496 0000"},
                },
            ],
        }
    ]
    bad = {**contact, "contactMedium": [{"mediumType": "phone", "characteristic": {}}]}
    response = agent_api.patch(
        f"{ACCOUNT}/{account.pk}", {"contact": [contact, bad]}, format="json"
    )
    assert response.status_code == 400
    assert list(response.json()["errors"]) == [
        "contact[1].contactMedium[0].characteristic.phoneNumber"
    ]
    response = agent_api.patch(
        f"{ACCOUNT}/{account.pk}",
        {"contact": [{**contact, "contactType": "boss"}]},
        format="json",
    )
    assert list(response.json()["errors"]) == ["contact[0].contactType"]
    assert BillingAccountContact.objects.get().contact_name == "Jo Accounts"


def test_party_and_customer_lists_have_a_fixed_query_count(agent_api):
    def count(n):
        for i in range(n):
            party = services.party_create(
                kind="individual",
                family_name=f"Count{i}",
                contact_media=[{"medium_type": "email", "email_address": f"c{i}@x.io"}],
                identifications=[
                    {"identification_type": "passport", "identification_id": f"P{n}-{i}"}
                ],
            )
            customer = services.customer_create(
                party=party,
                name=party.display_name,
                credit_profiles=[{"credit_score": 500, "credit_risk_rating": 3}],
            )
            BillingAccountFactory(customer=customer)
        counts = []
        for url in (f"{PARTY}/individual", CUSTOMER, ACCOUNT):
            with CaptureQueriesContext(connection) as ctx:
                assert agent_api.get(url).status_code == 200
            counts.append(len(ctx))
        return counts

    assert count(1) == count(5)


def test_columns_follow_media_edited_outside_the_services():
    party = IndividualFactory(email="old@example.com", phone="")
    party.contact_media.update(preferred=False)
    ContactMedium.objects.create(
        party=party, medium_type="email", preferred=True, email_address="admin@example.com"
    )
    ContactMedium.objects.create(party=party, medium_type="mobile", phone_number="+447700900555")
    services.party_refresh_contact_columns(party=party)
    party.refresh_from_db()
    assert (party.email, party.phone) == ("admin@example.com", "+447700900555")
