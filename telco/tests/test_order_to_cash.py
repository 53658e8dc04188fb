"""The flow of the foundation issue, end to end through the public API and a real worker.

A customer orders "5G Premium"; the order activates a slice on a gNB in the lab network; usage
arrives (once replayed); 40 days later the bill run invoices activation, the prorated month (and
the next, when the activation came late in a month) and the usage beyond the allowance, and does
nothing the second time; an alarm on the gNB names the customer's
service. The failure path leaves nothing reserved and nothing billed.
"""

from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from io import StringIO

import pytest
import time_machine
from django.core.management import call_command
from django.utils import timezone

from billing.models import AppliedCharge, CustomerBill, UsageEvent
from catalog.models import ProductOffering, ResourceSpecification
from catalog.tests.factories import five_g_premium_offering
from inventory.models import ProductInstance, Region, Resource, ServiceResource, Site
from telco import clock
from telco.testing import wait_for

PARTY = "/tmf-api/party/v4/individual"
CUSTOMER = "/tmf-api/customerManagement/v4/customer"
ACCOUNT = "/tmf-api/accountManagement/v4/billingAccount"
ORDER = "/tmf-api/productOrderingManagement/v4/productOrder"
PRODUCT = "/tmf-api/productInventory/v4/product"
SERVICE = "/tmf-api/serviceInventory/v4/service"
USAGE = "/tmf-api/usageManagement/v4/usage"
BILL = "/tmf-api/customerBillManagement/v4/customerBill"
BILL_LINE = "/tmf-api/customerBillManagement/v4/appliedCustomerBillingRate"
ALARM = "/tmf-api/alarmManagement/v4/alarm"
FINAL = {"completed", "failed", "partial", "cancelled", "rejected"}


@pytest.fixture
def network(db):
    """One cell site with a gNB of 10 Gbit/s: the network the customer is served from."""
    five_g_premium_offering()
    site = Site.objects.create(
        region=Region.objects.create(name="North"), name="LEE-001", address="1 Park Row, Leeds"
    )
    gnb_spec = ResourceSpecification.objects.get(resource_kind="gnb")
    return Resource.objects.create(
        name="GNB-LEE-001",
        resource_kind="gnb",
        category="physical",
        resource_specification=gnb_spec,
        site=site,
        vendor="Ericsson",
        capacity_mbps=10_000,
    )


def onboard_customer(agent_api) -> tuple[str, str]:
    """Party, customer and billing account, created as a CRM front end would."""
    party = agent_api.post(
        PARTY,
        {
            "givenName": "Ada",
            "familyName": "Lovelace",
            "contactMedium": [
                {"mediumType": "email", "characteristic": {"emailAddress": "ada@example.org"}}
            ],
        },
        format="json",
    )
    assert party.status_code == 201, party.data
    customer = agent_api.post(
        CUSTOMER,
        {
            "name": "Ada Lovelace",
            "engagedParty": {"id": party.data["id"], "@referredType": "Individual"},
        },
        format="json",
    )
    assert customer.status_code == 201, customer.data
    account = agent_api.post(
        ACCOUNT,
        {
            "name": "Ada Lovelace",
            "currency": "EUR",
            "billCycleDay": 1,
            "relatedParty": [
                {"id": customer.data["id"], "@referredType": "Customer", "name": "Ada Lovelace"}
            ],
        },
        format="json",
    )
    assert account.status_code == 201, account.data
    return customer.data["id"], account.data["id"]


def place_order(agent_api, offering_id: str, customer_id: str, account_id: str):
    return agent_api.post(
        ORDER,
        {
            "productOrderItem": [
                {
                    "id": "1",
                    "action": "add",
                    "productOffering": {"id": offering_id},
                    "product": {"productCharacteristic": [{"name": "bandwidth", "value": "1Gbps"}]},
                }
            ],
            "relatedParty": [{"id": customer_id, "@referredType": "Customer"}],
            "billingAccount": {"id": account_id},
        },
        format="json",
    )


def wait_until_final(agent_api, order_id: str) -> dict:
    def final_order():
        body = agent_api.get(f"{ORDER}/{order_id}").data
        return body if body["state"] in FINAL else None

    return wait_for(final_order, timeout=60)


def usage(event_id: str, service_id: str, gigabytes: str) -> dict:
    characteristics = {
        "eventId": event_id,
        "serviceId": service_id,
        "volume": gigabytes,
        "unit": "GB",
        "ratingGroup": "DATA_5G_PREMIUM",
    }
    return {
        "usageDate": timezone.now().isoformat(),
        "usageType": "data",
        "usageSpecification": {"id": "data-session"},
        "usageCharacteristic": [{"name": k, "value": v} for k, v in characteristics.items()],
    }


def month_start(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def next_month_start(moment: datetime) -> datetime:
    return month_start(month_start(moment) + timedelta(days=32))


def ended_periods(activated: datetime, today: date) -> list[tuple[datetime, datetime]]:
    """The monthly periods (cycle day 1) from the activation's month that ended by `today`."""
    periods = []
    start = month_start(activated)
    while next_month_start(start).date() <= today:
        periods.append((start, next_month_start(start)))
        start = next_month_start(start)
    return periods


def prorated(monthly: Decimal, activated: datetime, start: datetime, end: datetime) -> Decimal:
    share = Decimal((end - max(start, activated)).total_seconds()) / Decimal(
        (end - start).total_seconds()
    )
    # As billing does: rated to 4 places, then the bill line rounds to the currency.
    return (
        (monthly * share)
        .quantize(Decimal("0.0001"), ROUND_HALF_EVEN)
        .quantize(Decimal("0.01"), ROUND_HALF_EVEN)
    )


def test_a_5g_order_activates_the_network_and_is_billed_once(
    celery_worker, network, agent_api, noc_api, finance_api
):
    offering_id = str(ProductOffering.objects.get(name="5G Premium").pk)
    customer_id, account_id = onboard_customer(agent_api)

    response = place_order(agent_api, offering_id, customer_id, account_id)
    assert response.status_code == 201, response.data
    assert response.data["state"] == "acknowledged"
    assert response["Location"] == response.data["href"]

    order = wait_until_final(agent_api, response.data["id"])
    assert order["state"] == "completed", order
    product_id = order["productOrderItem"][0]["product"]["id"]

    product = agent_api.get(f"{PRODUCT}/{product_id}").data
    assert product["status"] == "active"
    assert product["startDate"]
    assert len(product["realizingService"]) == 1
    service_id = product["realizingService"][0]["id"]

    service = noc_api.get(f"{SERVICE}/{service_id}").data
    assert service["state"] == "active"
    assert service["startDate"]
    resource_names = {ref["name"] for ref in service["supportingResource"]}
    assert "GNB-LEE-001" in resource_names
    assert len(resource_names) == 2  # the gNB and the slice allocated on it

    # Usage: 4 GB + 3 GB, and the first event replayed by the network.
    # A replay is the same record sent again, content and date alike.
    sent = usage("evt-1", service_id, "4")
    first = noc_api.post(USAGE, sent, format="json")
    assert first.status_code == 201, first.data
    assert noc_api.post(USAGE, usage("evt-2", service_id, "3"), format="json").status_code == 201
    replay = noc_api.post(USAGE, sent, format="json")
    assert replay.status_code == 200
    assert replay.data["id"] == first.data["id"]
    assert UsageEvent.objects.filter(product_id=product_id).count() == 2

    # 40 days on, the activation's month has ended (and the next too, when it came late in a
    # month): the bill run bills every ended period once, whatever the date the test runs on.
    activated = datetime.fromisoformat(product["startDate"])
    usage_date = UsageEvent.objects.get(event_id="evt-1").usage_date
    with time_machine.travel(clock.now() + timedelta(days=40), tick=True):
        periods = ended_periods(activated, clock.today())
        call_command("bill_run", stdout=StringIO())
        bills = finance_api.get(BILL, {"billingAccount.id": account_id}).data
        assert len(bills) == len(periods) >= 1
        bills.sort(key=lambda bill: bill["billingPeriod"]["startDateTime"])
        for bill, (start, end) in zip(bills, periods, strict=True):
            lines = finance_api.get(BILL_LINE, {"bill.id": bill["id"]}).data
            amounts = {
                line["type"]: Decimal(str(line["taxExcludedAmount"]["value"])) for line in lines
            }
            expected = {"recurring": prorated(Decimal("30.00"), activated, start, end)}
            if start <= activated < end:
                expected["oneTime"] = Decimal("49.00")
            if start <= usage_date < end:
                expected["usage"] = Decimal("4.00")  # 7 GB used, 5 GB included, 2 GB at 2.00
            assert amounts == expected, (start, end)
            assert {line["product"]["id"] for line in lines} == {product_id}
            net = sum(expected.values(), Decimal(0))
            assert Decimal(str(bill["taxExcludedAmount"]["value"])) == net

        # Running it again bills nothing new.
        charges = AppliedCharge.objects.count()
        call_command("bill_run", stdout=StringIO())
        assert CustomerBill.objects.count() == len(periods)
        assert AppliedCharge.objects.count() == charges == len(periods) + 2

    # A fault on the gNB affects this customer's service.
    alarm = noc_api.post(
        ALARM,
        {
            "alarmRaisedTime": timezone.now().isoformat(),
            "alarmType": "communicationsAlarm",
            "alarmedObject": {"id": str(network.pk)},
            "perceivedSeverity": "critical",
            "probableCause": "lossOfSignal",
            "sourceSystemId": "ems-north",
            "state": "raised",
        },
        format="json",
    )
    assert alarm.status_code == 201, alarm.data
    stored = noc_api.get(f"{ALARM}/{alarm.data['id']}").data
    assert stored["serviceAffecting"] is True
    assert [ref["id"] for ref in stored["affectedService"]] == [service_id]


def test_a_failed_activation_reserves_nothing_and_bills_nothing(celery_worker, network, agent_api):
    offering_id = str(ProductOffering.objects.get(name="5G Premium").pk)
    customer_id, account_id = onboard_customer(agent_api)
    call_command("labnet", "fail", "GNB-LEE-001", "--mode", "permanent", stdout=StringIO())

    response = place_order(agent_api, offering_id, customer_id, account_id)
    assert response.status_code == 201, response.data
    order = wait_until_final(agent_api, response.data["id"])

    assert order["state"] == "failed"
    assert "GNB-LEE-001" in str(order)  # the reason names the element that refused
    assert not ServiceResource.objects.exclude(state="released").exists()
    assert not ProductInstance.objects.filter(status="active").exists()
    call_command("bill_run", stdout=StringIO())
    assert not CustomerBill.objects.exists()
    assert not AppliedCharge.objects.exists()
