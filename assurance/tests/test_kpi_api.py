"""KPI samples over HTTP (`POST /api/v1/assurance/kpiSample`): a batch stored and rolled up, bad
samples refused by index while the good ones are stored, malformed bodies, limits, roles, and a
query count that does not grow with the batch."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from assurance.models import KpiRollup, KpiSample
from assurance.tests.factories import subscribe
from inventory.tests.factories import GnbFactory

pytestmark = pytest.mark.django_db

URL = "/api/v1/assurance/kpiSample"
NOW = datetime(2031, 3, 10, 12, 0, tzinfo=UTC)
START = datetime(2031, 3, 10, 10, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def pinned():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def cell():
    return GnbFactory(name="GNB-API-1")


def at(minute: int) -> str:
    return (START + timedelta(minutes=minute)).isoformat().replace("+00:00", "Z")


def sample(resource, minute: int, value, metric: str = "prbUtilisation") -> dict:
    return {"resource": resource, "metric": metric, "sampledAt": at(minute), "value": value}


def stored() -> list[tuple]:
    return list(
        KpiSample.objects.order_by("series__metric", "sampled_at").values_list(
            "series__resource__name", "series__service_id", "series__metric", "value"
        )
    )


def test_a_good_batch_is_stored_and_rolled_up(noc_api, cell):
    service = subscribe(cell).service
    body = [sample(cell.name, minute, 10.0 * (minute + 1)) for minute in range(6)]
    body.append(sample(cell.pk, 0, 12.5, metric="latency"))  # by id, as a JSON number
    body.append({"service": str(service.pk), "metric": "latency", "sampledAt": at(0), "value": 20})

    answer = noc_api.post(URL, body, format="json")

    assert answer.status_code == 200, answer.json()
    assert answer.json() == {
        "received": 8,
        "stored": 8,
        "duplicates": 0,
        "rejectedCount": 0,
        "rejected": [],
        "alarmsRaised": 0,
        "alarmsCleared": 0,
    }
    assert stored() == [
        ("GNB-API-1", None, "latency", 12.5),
        (None, service.pk, "latency", 20.0),
        *[("GNB-API-1", None, "prbUtilisation", 10.0 * (n + 1)) for n in range(6)],
    ]
    prb = KpiRollup.objects.filter(series__metric="prbUtilisation", series__resource=cell)
    five = {
        r.bucket_start: (r.sample_count, r.value_sum, r.value_min, r.value_max)
        for r in prb.filter(resolution="5m")
    }
    assert five == {
        START: (5, 150.0, 10.0, 50.0),
        START + timedelta(minutes=5): (1, 60.0, 60.0, 60.0),
    }
    hour = prb.get(resolution="1h")
    assert (hour.bucket_start, hour.sample_count, hour.value_sum) == (START, 6, 210.0)

    # The same batch again stores nothing and moves no rollup: every sample is a duplicate.
    again = noc_api.post(URL, body, format="json")
    assert again.status_code == 200
    assert (again.json()["stored"], again.json()["duplicates"]) == (0, 8)
    hour.refresh_from_db()
    assert (hour.sample_count, hour.value_sum) == (6, 210.0)


def test_bad_samples_are_refused_by_index_and_the_good_ones_stored(noc_api, cell, caplog):
    body = [
        sample(cell.name, 0, 40.0),
        sample("GNB-NOWHERE", 0, 40.0),  # unknown cell
        sample(cell.name, 0, 40.0, metric="temperature"),
        {**sample(cell.name, 1, 41.0), "sampledAt": "yesterday"},
        {**sample(cell.name, 2, 42.0), "value": "high"},
        {**sample(cell.name, 3, 43.0), "sampledAt": "2031-03-10T10:03:00"},  # no time zone
        sample(cell.name, 60 * 24 * 30, 44.0),  # a month ahead
        {"metric": "latency", "sampledAt": at(0), "value": 1.0},  # names nothing
        sample(cell.name, 4, 44.0),
    ]

    answer = noc_api.post(URL, body, format="json")

    assert answer.status_code == 207, answer.json()
    result = answer.json()
    assert (result["received"], result["stored"], result["duplicates"]) == (9, 2, 0)
    assert result["rejectedCount"] == 7
    assert result["rejected"] == [
        {"index": 1, "reason": "unknown resource 'GNB-NOWHERE'"},
        {"index": 2, "reason": "unknown metric 'temperature'"},
        {"index": 3, "reason": "sampledAt 'yesterday' is not an ISO 8601 time"},
        {"index": 4, "reason": "value must be a number"},
        {"index": 5, "reason": "sampledAt '2031-03-10T10:03:00' names no time zone"},
        {"index": 6, "reason": "in the future"},
        {"index": 7, "reason": "names no resource or service"},
    ]
    assert stored() == [("GNB-API-1", None, "prbUtilisation", 40.0)] + [
        ("GNB-API-1", None, "prbUtilisation", 44.0)
    ]
    # Refused, not silently dropped: logged once, by index in the array.
    logged = [record.getMessage() for record in caplog.records if record.levelname == "WARNING"]
    assert logged == [
        "kpi ingest by noc1: 9 received, 2 stored, 0 duplicates, 7 rejected (#1: unknown "
        "resource 'GNB-NOWHERE'; #2: unknown metric 'temperature'; #3: sampledAt 'yesterday' is "
        "not an ISO 8601 time; #4: value must be a number; #5: sampledAt '2031-03-10T10:03:00' "
        "names no time zone; ...)"
    ]


@pytest.mark.parametrize(
    ("body", "errors"),
    [
        ({"resource": "GNB-API-1"}, {"non_field_errors": ["Expected a JSON array of samples."]}),
        ([], {"non_field_errors": ["The array holds no sample."]}),
        (
            [{"resource": "GNB-API-1"}, "a sample", 3],
            {"[1]": ["Expected an object (a sample)."], "[2]": ["Expected an object (a sample)."]},
        ),
    ],
)
def test_a_body_that_is_not_an_array_of_objects_is_400_and_stores_nothing(
    noc_api, cell, body, errors
):
    answer = noc_api.post(URL, body, format="json")

    assert answer.status_code == 400
    assert answer.json()["errors"] == errors
    assert KpiSample.objects.count() == 0


def test_a_body_that_is_not_json_is_400(noc_api):
    answer = noc_api.post(URL, "[{", content_type="application/json")

    assert answer.status_code == 400
    assert answer.json()["code"] == "parse_error"


def test_a_batch_above_the_limit_is_413_and_stores_nothing(noc_api, cell, settings):
    settings.KPI_BATCH_MAX = 3

    answer = noc_api.post(URL, [sample(cell.name, n, 1.0) for n in range(4)], format="json")

    assert answer.status_code == 413
    assert answer.json()["code"] == "batchTooLarge"
    assert KpiSample.objects.count() == 0


def test_csv_body(noc_api, cell):
    body = (
        "resource,service,metric,sampledAt,value\n"
        f"{cell.name},,prbUtilisation,{at(0)},40.5\n"
        f"{cell.name},,latency,{at(0)},not-a-number\n"
    )

    answer = noc_api.post(URL, body, content_type="text/csv")

    assert answer.status_code == 207, answer.json()
    assert answer.json()["rejected"] == [{"index": 1, "reason": "value must be a number"}]
    assert stored() == [("GNB-API-1", None, "prbUtilisation", 40.5)]


def test_only_the_noc_and_admins_send_samples(agent_api, anonymous_api, admin_api, cell):
    body = [sample(cell.name, 0, 40.0)]

    assert agent_api.post(URL, body, format="json").status_code == 403
    assert anonymous_api.post(URL, body, format="json").status_code in (401, 403)
    assert KpiSample.objects.count() == 0
    assert admin_api.post(URL, body, format="json").status_code == 200
    assert KpiSample.objects.count() == 1


def test_the_query_count_does_not_grow_with_the_batch(noc_api, cell):
    other = GnbFactory(name="GNB-API-2")
    # Series and the day's partition exist, as they do for a feed already running.
    noc_api.post(URL, [sample(cell.name, 0, 1.0), sample(other.name, 0, 1.0)], format="json")

    def queries(body: list) -> int:
        with CaptureQueriesContext(connection) as captured:
            answer = noc_api.post(URL, body, format="json")
        assert answer.status_code == 200, answer.json()
        assert answer.json()["stored"] == len(body)
        return len(captured)

    small = queries([sample(cell.name, 1, 1.0), sample(other.name, 1, 1.0)])
    large = queries(
        [sample(name, minute, 1.0) for minute in range(2, 52) for name in (cell.name, other.name)]
    )
    assert small == large
