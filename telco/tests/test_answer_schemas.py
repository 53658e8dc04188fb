"""The served schema describes the TMF642 alarm and TMF678 bill answers, which are built by hand.

Every attribute of a real answer is a property of its component, of the type the schema says.
"""

from datetime import UTC, date, datetime

import jsonschema
import pytest

from assurance.tests.test_alarm_api import ALARMS, alarm_body
from billing.services import bill_run_start
from billing.tests.factories import active_product, usage_event
from inventory.tests.factories import GnbFactory

pytestmark = pytest.mark.django_db

ALARM_API = "/tmf-api/alarmManagement/v4"
BILL_API = "/tmf-api/customerBillManagement/v4"


def _json_schema(schema):
    """OpenAPI 3.0 `nullable` as JSON Schema's null type, everywhere in `schema`."""
    if isinstance(schema, list):
        return [_json_schema(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    converted = {key: _json_schema(value) for key, value in schema.items()}
    if converted.pop("nullable", False) and "type" in converted:
        converted["type"] = [converted["type"], "null"]
    return converted


@pytest.fixture
def components(admin_api):
    body = admin_api.get("/api/schema/", HTTP_ACCEPT="application/json").json()
    return _json_schema(body["components"]["schemas"])


def assert_described(components, name, answers):
    component = components[name]
    for answer in answers:
        assert set(answer) <= set(component["properties"]), (name, answer)
        jsonschema.Draft7Validator({**component, "components": {"schemas": components}}).validate(
            answer
        )


def test_alarm_and_alarm_task_answers_are_described(noc_api, components):
    gnb = GnbFactory(name="gnb-west-1")
    raised = noc_api.post(ALARMS, alarm_body(gnb.pk), format="json")
    noc_api.post(ALARMS, alarm_body("element-9"), format="json")
    pattern = [{"alarmedObject": {"id": "gnb-west-1"}}]
    acked = noc_api.post(
        f"{ALARM_API}/ackAlarms", {"ackUserId": "jane", "alarmPattern": pattern}, format="json"
    )
    cleared = noc_api.post(
        f"{ALARM_API}/clearAlarms", {"clearUserId": "jane", "alarmPattern": pattern}, format="json"
    )
    assert (raised.status_code, acked.status_code, cleared.status_code) == (201, 201, 201)

    alarms = noc_api.get(f"{ALARM_API}/alarm").json()
    assert len(alarms) == 2
    assert any(alarm["alarmClearedTime"] is None for alarm in alarms)
    assert any(alarm["affectedService"] == [] for alarm in alarms)
    assert_described(components, "Alarm", [raised.json(), *alarms])
    assert acked.json()["ackedAlarm"]
    assert cleared.json()["clearedAlarm"]
    assert_described(components, "AckAlarms", [acked.json()])
    assert_described(components, "ClearAlarms", [cleared.json()])


def test_bill_and_bill_line_answers_are_described(finance_api, components):
    product = active_product(start_date=datetime(2026, 10, 16, tzinfo=UTC))
    usage_event(product=product, usage_date=datetime(2026, 10, 20, tzinfo=UTC), gigabytes="6.25")
    bill_run_start(as_of=date(2026, 11, 1))

    bills = finance_api.get(f"{BILL_API}/customerBill").json()
    lines = finance_api.get(f"{BILL_API}/appliedCustomerBillingRate").json()

    assert len(bills) == 1
    assert len(lines) == 3
    assert_described(components, "CustomerBill", bills)
    assert_described(components, "AppliedCustomerBillingRate", lines)


def test_a_wrong_type_is_not_described(components):
    with pytest.raises(jsonschema.ValidationError):
        assert_described(components, "CustomerBill", [{"amountDue": "80.38 EUR"}])
