"""The load test's traffic (locust), driven by bench/load.py: order intake (TMF622 POST), usage
ingest (TMF635 POST, one record and batches) and the agent portal's search, each at a stated
rate (`constant_throughput` per simulated user). The ids and credentials come from the JSON file
named by LOAD_DATA, which bench/load.py writes after seeding its own database."""

import json
import os
import random
import uuid
from datetime import UTC, datetime, timedelta

from locust import HttpUser, constant_throughput, task

DATA = json.loads(open(os.environ["LOAD_DATA"]).read())  # noqa: SIM115 (read once at import)
# Requests per second each simulated user of a scenario aims at (bench/load.py says how many
# users: the stated rate of a scenario is users x this).
ORDER_RATE, USAGE_RATE, BATCH_RATE, SEARCH_RATE = 2.0, 5.0, 1.0, 2.5
BATCH_SIZE = 50
BANDWIDTHS = ("100Mbps", "500Mbps", "1Gbps")


def _usage(service_id: str) -> dict:
    at = datetime.now(UTC) - timedelta(minutes=random.randint(5, 600))
    characteristics = {
        "eventId": f"load-{uuid.uuid4().hex}",
        "serviceId": service_id,
        "volume": str(random.randint(1, 500)),
        "unit": "MB",
        "ratingGroup": DATA["rating_group"],
    }
    return {
        "usageDate": at.isoformat().replace("+00:00", "Z"),
        "usageType": "data",
        "usageCharacteristic": [{"name": n, "value": v} for n, v in characteristics.items()],
    }


def _create(client, path: str, body, name: str) -> None:
    """POST `body`; anything but 201 Created counts as a failure, with the answer's start."""
    with client.post(path, json=body, name=name, catch_response=True) as response:
        if response.status_code != 201:
            response.failure(f"{response.status_code} {response.text[:200]}")


class OrderIntake(HttpUser):
    """An agent's system placing 5G orders."""

    wait_time = constant_throughput(ORDER_RATE)

    def on_start(self):
        self.client.headers["Authorization"] = f"Token {DATA['agent_token']}"

    @task
    def place_order(self):
        body = {
            "productOrderItem": [
                {
                    "id": "1",
                    "action": "add",
                    "productOffering": {"id": DATA["offering_id"]},
                    "product": {
                        "productCharacteristic": [
                            {"name": "bandwidth", "value": random.choice(BANDWIDTHS)}
                        ]
                    },
                }
            ],
            "relatedParty": [
                {"id": random.choice(DATA["customer_ids"]), "@referredType": "Customer"}
            ],
            "externalId": f"load-{uuid.uuid4().hex[:12]}",
        }
        _create(
            self.client,
            "/tmf-api/productOrderingManagement/v4/productOrder",
            body,
            "TMF622 POST productOrder",
        )


class UsageIngest(HttpUser):
    """The network's mediation sending usage one record at a time."""

    wait_time = constant_throughput(USAGE_RATE)

    def on_start(self):
        self.client.headers["Authorization"] = f"Token {DATA['noc_token']}"

    @task
    def one_record(self):
        _create(
            self.client,
            "/tmf-api/usageManagement/v4/usage",
            _usage(random.choice(DATA["service_ids"])),
            "TMF635 POST usage",
        )


class UsageBatch(HttpUser):
    """The network's mediation sending usage in batches."""

    wait_time = constant_throughput(BATCH_RATE)

    def on_start(self):
        self.client.headers["Authorization"] = f"Token {DATA['noc_token']}"

    @task
    def batch(self):
        records = [_usage(random.choice(DATA["service_ids"])) for _ in range(BATCH_SIZE)]
        with self.client.post(
            "/tmf-api/usageManagement/v4/usage",
            json=records,
            name=f"TMF635 POST usage batch of {BATCH_SIZE}",
            catch_response=True,
        ) as response:
            answer = response.json() if response.status_code in (200, 207) else {}
            if response.status_code != 200 or answer.get("created") != BATCH_SIZE:
                response.failure(f"{response.status_code} {response.text[:200]}")


class PortalSearch(HttpUser):
    """Care agents searching customers in the portal (signed in by session)."""

    wait_time = constant_throughput(SEARCH_RATE)

    def on_start(self):
        self.client.cookies.set("sessionid", DATA["agent_session"])

    @task
    def search(self):
        with self.client.get(
            "/portal/search/",
            params={"q": random.choice(DATA["search_terms"])},
            name="portal search",
            catch_response=True,
        ) as response:
            if response.status_code != 200 or "login" in response.url:
                response.failure(f"{response.status_code} {response.url}")


# Exactly as many users of each scenario as bench/load.py asks (not locust's weighted draw).
for _user_class, _count in json.loads(os.environ.get("LOAD_USERS", "{}")).items():
    globals()[_user_class].fixed_count = _count
