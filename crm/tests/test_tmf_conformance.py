"""TMF666 Account Management as a standard client sees it: billingCycleSpecification,
billFormat, billPresentationMedia, partyAccount, settlementAccount, financialAccount, and the
billing account's bill structure that references them."""

import importlib
import json
from decimal import Decimal
from types import SimpleNamespace

import pytest
from django.apps import apps
from django.db import connection
from django.test.utils import CaptureQueriesContext

from crm.models import (
    Account,
    AccountStateChange,
    BillFormat,
    BillingAccount,
    BillingCycleSpecification,
    BillPresentationMedia,
)
from crm.tests.factories import BillingAccountFactory, CustomerFactory, IndividualFactory

pytestmark = pytest.mark.django_db

HOST = "http://testserver"
BASE = "/tmf-api/accountManagement/v4"
CYCLES = f"{BASE}/billingCycleSpecification"
ACCOUNT = f"{BASE}/billingAccount"


def _day(day: int) -> BillingCycleSpecification:
    return BillingCycleSpecification.objects.get(name=f"Monthly, day {day}")


def _names(client, url: str) -> list[str]:
    return [row["name"] for row in client.get(url).json()]


def test_standard_rows_are_served(agent_api):
    assert _names(agent_api, f"{BASE}/billFormat") == ["detailed", "summary"]
    assert _names(agent_api, f"{BASE}/billPresentationMedia") == ["email", "paper", "portal"]
    response = agent_api.get(CYCLES)
    assert response["X-Total-Count"] == "28"
    cycle = _day(15)
    assert agent_api.get(f"{CYCLES}?billingDateShift=15").json() == [
        {
            "id": str(cycle.pk),
            "href": f"{HOST}{CYCLES}/{cycle.pk}",
            "name": "Monthly, day 15",
            "description": "Bills cut on day 15 of every month.",
            "billingDateShift": 15,
            "billingPeriod": "month",
            "frequency": "monthly",
            "chargeDateOffset": None,
            "creditDateOffset": None,
            "mailingDateOffset": None,
            "paymentDueDateOffset": None,
            "@type": "BillingCycleSpecification",
        }
    ]


@pytest.mark.parametrize(
    ("resource", "model", "tmf_type"),
    [
        ("billFormat", BillFormat, "BillFormat"),
        ("billPresentationMedia", BillPresentationMedia, "BillPresentationMedia"),
    ],
)
def test_reference_resource_create_get_patch_filter(finance_api, resource, model, tmf_type):
    url = f"{BASE}/{resource}"
    response = finance_api.post(url, {"name": "braille"}, format="json")
    assert response.status_code == 201, response.json()
    row = model.objects.get(name="braille")
    href = f"{HOST}{url}/{row.pk}"
    assert response["Location"] == href
    assert response.json() == {
        "id": str(row.pk),
        "href": href,
        "name": "braille",
        "description": "",
        "@type": tmf_type,
    }
    response = finance_api.patch(
        f"{url}/{row.pk}",
        json.dumps({"description": "Embossed"}),
        content_type="application/merge-patch+json",
    )
    assert response.status_code == 200
    assert finance_api.get(f"{url}/{row.pk}").json()["description"] == "Embossed"
    assert finance_api.get(f"{url}?name=braille&fields=name").json() == [
        {"id": str(row.pk), "href": href, "name": "braille"}
    ]
    count = model.objects.count()
    response = finance_api.post(url, {"name": "braille"}, format="json")
    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["name"]
    response = finance_api.post(url, {"description": "no name"}, format="json")
    assert list(response.json()["errors"]) == ["name"]
    assert model.objects.count() == count


def test_cycle_specification_minimum_body_and_full_body(finance_api):
    response = finance_api.post(CYCLES, {"name": "Bespoke"}, format="json")
    assert response.status_code == 201, response.json()
    assert (response.json()["billingDateShift"], response.json()["frequency"]) == (None, "monthly")
    body = {
        "name": "Mid-month, due in 14 days",
        "billingDateShift": 15,
        "billingPeriod": "month",
        "paymentDueDateOffset": 14,
        "mailingDateOffset": 1,
        "validFor": {"startDateTime": "2026-01-01T00:00:00Z"},
    }
    response = finance_api.post(CYCLES, body, format="json")
    assert response.status_code == 201, response.json()
    created = response.json()
    assert (created["billingDateShift"], created["paymentDueDateOffset"]) == (15, 14)
    assert created["validFor"] == {"startDateTime": "2026-01-01T00:00:00Z"}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "X", "billingDateShift": 29}, "billingDateShift"),
        ({"name": "X", "billingDateShift": 0}, "billingDateShift"),
        ({"name": "X", "frequency": "weekly"}, "frequency"),
        ({"name": "X", "paymentDueDateOffset": 400}, "paymentDueDateOffset"),
        ({"name": "Monthly, day 3"}, "name"),
    ],
)
def test_cycle_specification_bad_input_writes_nothing(finance_api, body, field):
    count = BillingCycleSpecification.objects.count()
    response = finance_api.post(CYCLES, body, format="json")
    assert response.status_code == 400
    assert list(response.json()["errors"]) == [field]
    assert BillingCycleSpecification.objects.count() == count


def test_a_cycle_in_use_keeps_its_day(finance_api):
    account = BillingAccountFactory(bill_cycle_day=5)
    cycle = _day(5)
    url = f"{CYCLES}/{cycle.pk}"
    response = finance_api.patch(url, {"billingDateShift": 6}, format="json")
    assert response.status_code == 409
    assert list(response.json()["errors"]) == ["billingDateShift"]
    cycle.refresh_from_db()
    account.refresh_from_db()
    assert (cycle.billing_date_shift, account.bill_cycle_day) == (5, 5)
    response = finance_api.patch(url, {"paymentDueDateOffset": 10}, format="json")
    assert response.status_code == 200
    assert response.json()["paymentDueDateOffset"] == 10
    # A cycle no account uses may move.
    unused = _day(6)
    response = finance_api.patch(f"{CYCLES}/{unused.pk}", {"billingDateShift": 7}, format="json")
    assert (response.status_code, response.json()["billingDateShift"]) == (200, 7)


def test_billing_account_bill_structure_references_the_rows(finance_api):
    account = BillingAccountFactory()
    url = f"{ACCOUNT}/{account.pk}"
    custom = BillingCycleSpecification.objects.create(
        name="Mid-month, due in 14 days", billing_date_shift=15, payment_due_date_offset=14
    )
    summary = BillFormat.objects.get(name="summary")
    email = BillPresentationMedia.objects.get(name="email")
    paper = BillPresentationMedia.objects.get(name="paper")
    response = finance_api.patch(
        url,
        {
            "billStructure": {
                "cycleSpecification": {"id": str(custom.pk), "isRef": True},
                "format": {"name": "summary"},
                "presentationMedia": [{"id": str(email.pk)}, {"name": "paper"}],
            }
        },
        format="json",
    )
    assert response.status_code == 200, response.json()
    account.refresh_from_db()
    assert (account.cycle_specification, account.bill_cycle_day, account.bill_format) == (
        custom,
        15,
        summary,
    )
    assert list(account.presentation_media.order_by("id")) == [email, paper]
    body = response.json()
    assert body["billCycleDay"] == 15
    assert body["billStructure"] == {
        "cycleSpecification": {
            "id": str(custom.pk),
            "href": f"{HOST}{CYCLES}/{custom.pk}",
            "name": "Mid-month, due in 14 days",
            "billingDateShift": 15,
            "isRef": True,
            "@referredType": "BillingCycleSpecification",
        },
        "format": {
            "id": str(summary.pk),
            "href": f"{HOST}{BASE}/billFormat/{summary.pk}",
            "name": "summary",
            "isRef": True,
            "@referredType": "BillFormat",
        },
        "presentationMedia": [
            {
                "id": str(media.pk),
                "href": f"{HOST}{BASE}/billPresentationMedia/{media.pk}",
                "name": media.name,
                "isRef": True,
                "@referredType": "BillPresentationMedia",
            }
            for media in (email, paper)
        ],
    }
    # Merge patch: only what is named changes; the plain day moves to the standard cycle.
    response = finance_api.patch(
        url, {"billCycleDay": 20, "billStructure": {"format": None}}, format="json"
    )
    assert response.status_code == 200, response.json()
    account.refresh_from_db()
    assert (account.cycle_specification, account.bill_cycle_day, account.bill_format) == (
        _day(20),
        20,
        None,
    )
    assert list(account.presentation_media.order_by("id")) == [email, paper]
    # The same day again keeps the account's own cycle.
    structure = {"cycleSpecification": {"id": str(custom.pk)}}
    finance_api.patch(url, {"billStructure": structure}, format="json")
    finance_api.patch(url, {"billCycleDay": 15}, format="json")
    account.refresh_from_db()
    assert account.cycle_specification == custom


@pytest.mark.parametrize(
    ("structure", "field"),
    [
        ({"cycleSpecification": {"id": "999999"}}, "billStructure.cycleSpecification.id"),
        ({"cycleSpecification": {"name": "Weekly"}}, "billStructure.cycleSpecification.name"),
        ({"cycleSpecification": {"isRef": True}}, "billStructure.cycleSpecification.id"),
        ({"cycleSpecification": "monthly"}, "billStructure.cycleSpecification"),
        ({"format": {"id": "²"}}, "billStructure.format.id"),
        ({"format": {}}, "billStructure.format.id"),
        ({"format": {"name": "a\x00b"}}, "billStructure.format.name"),
        ({"presentationMedia": [{"name": "fax"}]}, "billStructure.presentationMedia[0].name"),
        ("NO_DAY", "billStructure.cycleSpecification"),
    ],
)
def test_billing_account_bill_structure_refuses_what_names_no_usable_row(
    finance_api, structure, field
):
    account = BillingAccountFactory(bill_cycle_day=3)
    if structure == "NO_DAY":
        dayless = BillingCycleSpecification.objects.create(name="Undecided")
        structure = {"cycleSpecification": {"id": str(dayless.pk)}}
    before = BillingAccount.objects.filter(pk=account.pk).values().get()
    response = finance_api.patch(
        f"{ACCOUNT}/{account.pk}", {"billStructure": structure}, format="json"
    )
    assert response.status_code == 400
    assert list(response.json()["errors"]) == [field]
    assert BillingAccount.objects.filter(pk=account.pk).values().get() == before


def test_billing_account_created_with_a_cycle_reference(agent_api):
    customer = CustomerFactory()
    cycle = _day(12)
    response = agent_api.post(
        ACCOUNT,
        {
            "name": "Referenced",
            "billStructure": {
                "cycleSpecification": {"id": str(cycle.pk)},
                "presentationMedia": [{"name": "portal"}],
            },
            "relatedParty": [{"id": str(customer.pk), "@referredType": "Customer"}],
        },
        format="json",
    )
    assert response.status_code == 201, response.json()
    account = BillingAccount.objects.get()
    assert (account.bill_cycle_day, account.cycle_specification) == (12, cycle)
    assert [m.name for m in account.presentation_media.all()] == ["portal"]


def test_the_data_migration_points_existing_accounts_at_their_day():
    account = BillingAccountFactory(bill_cycle_day=7)
    BillingAccount.objects.filter(pk=account.pk).update(cycle_specification=None)
    BillingCycleSpecification.objects.create(name="Later day 7", billing_date_shift=7)
    migration = importlib.import_module("crm.migrations.0008_standard_bill_structure")
    migration.seed(apps, SimpleNamespace(connection=connection))
    account.refresh_from_db()
    assert account.cycle_specification == _day(7)


def _owner_ref(party) -> list[dict]:
    return [{"id": str(party.pk), "@referredType": "Individual", "name": party.display_name}]


def test_party_account_minimum_body(finance_api):
    party = IndividualFactory()
    url = f"{BASE}/partyAccount"
    response = finance_api.post(
        url, {"name": "Partner", "relatedParty": _owner_ref(party)}, format="json"
    )
    assert response.status_code == 201, response.json()
    account = Account.objects.get()
    href = f"{HOST}{url}/{account.pk}"
    assert response["Location"] == href
    body = response.json()
    assert body == {
        "id": str(account.pk),
        "href": href,
        "name": "Partner",
        "description": "",
        "accountType": "",
        "state": "active",
        "lastModified": body["lastModified"],
        "taxExemption": [],
        "accountRelationship": [],
        "paymentStatus": "",
        "paymentPlan": [],
        "creditLimit": None,
        "relatedParty": [
            {
                "id": str(party.pk),
                "href": f"{HOST}/tmf-api/party/v4/individual/{party.pk}",
                "name": party.display_name,
                "@referredType": "Individual",
                "role": "owner",
            }
        ],
        "accountBalance": [],
        "contact": [],
        "billStructure": {"presentationMedia": []},
        "@type": "PartyAccount",
    }
    assert account.kind == "partyAccount"


def test_settlement_account_full_body_with_financial_account(finance_api):
    party = IndividualFactory()
    financial = finance_api.post(
        f"{BASE}/financialAccount",
        {"name": "Partners", "creditLimit": {"unit": "GBP", "value": 1000}},
        format="json",
    )
    assert financial.status_code == 201, financial.json()
    financial_id = financial.json()["id"]
    assert (financial.json()["@type"], financial.json()["relatedParty"]) == (
        "FinancialAccount",
        [],
    )
    body = {
        "name": "Roaming partner",
        "accountType": "roaming",
        "paymentStatus": "due",
        "relatedParty": _owner_ref(party),
        "financialAccount": {"id": financial_id},
        "creditLimit": {"unit": "GBP", "value": 250.5},
        "defaultPaymentMethod": {"id": "bankTransfer"},
        "billStructure": {
            "cycleSpecification": {"billingDateShift": 10},
            "format": {"name": "summary"},
        },
        "taxExemption": [
            {"issuingJurisdiction": "UK", "validFor": {"startDateTime": "2026-01-01T00:00:00Z"}}
        ],
        "paymentPlan": [{"numberOfPayments": 3, "totalAmount": {"unit": "GBP", "value": 30}}],
        "accountRelationship": [
            {
                "relationshipType": "parent",
                "account": {"id": financial_id},
                "validFor": {"startDateTime": "2026-01-01T00:00:00Z"},
            }
        ],
        "contact": [
            {
                "contactName": "Ops desk",
                "contactType": "billing",
                "contactMedium": [
                    {"mediumType": "email", "characteristic": {"emailAddress": "ops@p.example"}}
                ],
            }
        ],
    }
    response = finance_api.post(f"{BASE}/settlementAccount", body, format="json")
    assert response.status_code == 201, response.json()
    account = Account.objects.get(kind="settlementAccount")
    assert (
        account.currency,
        account.credit_limit,
        account.payment_method,
        account.financial_account_id,
        account.cycle_specification,
        account.bill_format.name,
    ) == ("GBP", Decimal("250.5000"), "bankTransfer", int(financial_id), _day(10), "summary")
    created = response.json()
    assert created["financialAccount"]["id"] == financial_id
    assert created["creditLimit"] == {"unit": "GBP", "value": 250.5}
    assert created["taxExemption"] == body["taxExemption"]
    assert created["paymentPlan"] == body["paymentPlan"]
    assert created["accountRelationship"] == body["accountRelationship"]
    assert created["contact"] == [
        {
            "contactName": "Ops desk",
            "contactType": "billing",
            "partyRoleType": "",
            "contactMedium": [
                {
                    "mediumType": "email",
                    "preferred": False,
                    "characteristic": {"emailAddress": "ops@p.example"},
                }
            ],
        }
    ]
    listed = finance_api.get(f"{BASE}/settlementAccount?financialAccount.id={financial_id}")
    assert [a["id"] for a in listed.json()] == [str(account.pk)]


@pytest.mark.parametrize(
    ("resource", "body", "field"),
    [
        ("partyAccount", {"name": "No owner"}, "relatedParty"),
        ("partyAccount", {"name": "X", "relatedParty": []}, "relatedParty"),
        (
            "partyAccount",
            {"name": "X", "relatedParty": [{"id": "999999"}]},
            "relatedParty[0].id",
        ),
        (
            "partyAccount",
            {"name": "X", "relatedParty": "OWNER", "financialAccount": {"id": "999999"}},
            "financialAccount.id",
        ),
        (
            "settlementAccount",
            {
                "name": "X",
                "relatedParty": "OWNER",
                "taxExemption": [{"reason": "x", "validFor": {}}],
            },
            "taxExemption[0].issuingJurisdiction",
        ),
        (
            "settlementAccount",
            {"name": "X", "relatedParty": "OWNER", "creditLimit": {"unit": "GBP", "value": -1}},
            "creditLimit.value",
        ),
        ("financialAccount", {"description": "no name"}, "name"),
    ],
)
def test_account_bad_input_writes_nothing(finance_api, resource, body, field):
    party = IndividualFactory()
    if body.get("relatedParty") == "OWNER":
        body["relatedParty"] = _owner_ref(party)
    response = finance_api.post(f"{BASE}/{resource}", body, format="json")
    assert response.status_code == 400
    assert list(response.json()["errors"]) == [field]
    assert not Account.objects.exists()


def test_party_account_patch_filters_and_state_table(finance_api):
    party, other = IndividualFactory(), IndividualFactory()
    url = f"{BASE}/partyAccount"
    first = finance_api.post(url, {"name": "A", "relatedParty": _owner_ref(party)}, format="json")
    second = finance_api.post(url, {"name": "B", "relatedParty": _owner_ref(other)}, format="json")
    first_id, second_id = first.json()["id"], second.json()["id"]
    response = finance_api.patch(
        f"{url}/{first_id}",
        {"state": "suspended", "description": "On hold", "relatedParty": _owner_ref(other)},
        format="json",
    )
    assert response.status_code == 200, response.json()
    assert (response.json()["state"], response.json()["relatedParty"][0]["id"]) == (
        "suspended",
        str(other.pk),
    )
    assert [a["id"] for a in finance_api.get(f"{url}?state=suspended").json()] == [first_id]
    assert [a["id"] for a in finance_api.get(f"{url}?relatedParty.id={other.pk}").json()] == [
        first_id,
        second_id,
    ]
    assert (
        finance_api.patch(f"{url}/{first_id}", {"state": "closed"}, format="json").status_code
        == 200
    )
    response = finance_api.patch(f"{url}/{first_id}", {"state": "active"}, format="json")
    assert response.status_code == 409
    history = AccountStateChange.objects.filter(account_id=first_id)
    assert list(history.values_list("from_state", "to_state", "changed_by")) == [
        ("active", "suspended", "finance1"),
        ("suspended", "closed", "finance1"),
    ]
    response = finance_api.patch(f"{url}/{first_id}", {"accountBalance": []}, format="json")
    assert list(response.json()["errors"]) == ["accountBalance"]
    # Each kind is its own collection.
    assert finance_api.get(f"{BASE}/settlementAccount/{first_id}").status_code == 404
    assert finance_api.get(f"{BASE}/financialAccount").json() == []


def test_account_list_query_count_is_constant(finance_api):
    url = f"{BASE}/partyAccount"
    media = [{"name": "email"}, {"name": "paper"}]

    def make():
        party = IndividualFactory()
        body = {
            "name": "Counted",
            "relatedParty": _owner_ref(party),
            "billStructure": {
                "cycleSpecification": {"billingDateShift": 2},
                "presentationMedia": media,
            },
        }
        assert finance_api.post(url, body, format="json").status_code == 201

    def count_queries():
        with CaptureQueriesContext(connection) as context:
            response = finance_api.get(url)
        return len(context.captured_queries), len(response.json())

    make()
    make()
    few, few_rows = count_queries()
    for _ in range(6):
        make()
    many, many_rows = count_queries()
    assert (few_rows, many_rows) == (2, 8)
    assert few == many
