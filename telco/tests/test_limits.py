"""Limits: failed sign-ins on the login page and the token endpoint, API rate limits (per user,
and the ingest and login scopes), and API tokens that expire."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.conf import settings
from django.test import Client, override_settings
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from assurance.models import Alarm
from assurance.tests.test_alarm_api import alarm_body
from inventory.tests.factories import GnbFactory
from telco.management.commands.seed_demo import ensure_users
from telco.roles import AGENT

pytestmark = pytest.mark.django_db

LOGIN = "/accounts/login/"
TOKEN = "/api/v1/auth/token"
SERVICES = "/tmf-api/serviceInventory/v4/service"
ALARMS = "/tmf-api/alarmManagement/v4/alarm"
# Inside a minute (and a five-minute window), 20 seconds in: windows end at 12:01 / 12:05.
PINNED = datetime(2027, 3, 1, 12, 0, 20, tzinfo=UTC)


def rates(**changes):
    """REST_FRAMEWORK with some throttle rates changed (read by the throttles per request)."""
    return override_settings(
        REST_FRAMEWORK={
            **settings.REST_FRAMEWORK,
            "DEFAULT_THROTTLE_RATES": {**settings.API_THROTTLE_RATES, **changes},
        }
    )


def _login(client: Client, username: str, password: str):
    return client.post(LOGIN, {"username": username, "password": password})


# --- the login page ----------------------------------------------------------------------------


@time_machine.travel(PINNED, tick=False)
def test_login_page_refuses_a_username_after_ten_failures_from_one_address(agent_user):
    client = Client()
    for _ in range(settings.LOGIN_FAILURE_LIMIT):
        failed = _login(client, "agent1", "wrong")
        assert failed.status_code == 200
        assert "Please enter a correct username and password" in failed.content.decode()

    blocked = _login(client, "agent1", "pw-agent")  # the right password, too late

    assert blocked.status_code == 429
    assert blocked["Retry-After"] == "280"  # the five-minute window ends at 12:05:00
    assert "Too many failed sign-ins for this username: try again in 5 minute(s)." in (
        blocked.content.decode()
    )
    assert "_auth_user_id" not in client.session
    # Another address, or the next window, may sign in.
    other = Client(REMOTE_ADDR="10.0.0.7")
    assert _login(other, "agent1", "pw-agent").status_code == 302
    with time_machine.travel(datetime(2027, 3, 1, 12, 5, tzinfo=UTC), tick=False):
        assert _login(client, "agent1", "pw-agent").status_code == 302
        assert client.session["_auth_user_id"] == str(agent_user.pk)


@time_machine.travel(PINNED, tick=False)
def test_login_page_counts_failures_per_username_and_a_success_clears_them(agent_user, noc_user):
    client = Client()
    for _ in range(settings.LOGIN_FAILURE_LIMIT):
        _login(client, "agent1", "wrong")
    assert _login(client, "agent1", "pw-agent").status_code == 429
    # The same address may still sign in as someone else.
    assert _login(client, "noc1", "pw-noc").status_code == 302

    fresh = Client()
    for _ in range(settings.LOGIN_FAILURE_LIMIT - 1):
        _login(fresh, "noc1", "wrong")
    assert _login(fresh, "noc1", "pw-noc").status_code == 302
    for _ in range(settings.LOGIN_FAILURE_LIMIT - 1):
        assert _login(Client(), "noc1", "wrong").status_code == 200
    assert _login(Client(), "noc1", "pw-noc").status_code == 302


# --- the token endpoint ------------------------------------------------------------------------


@override_settings(API_TOKEN_TTL_HOURS=24)
@time_machine.travel(PINNED, tick=False)
def test_token_endpoint_issues_a_token_that_opens_the_api(agent_user, anonymous_api):
    response = anonymous_api.post(
        TOKEN, {"username": "agent1", "password": "pw-agent"}, format="json"
    )

    assert response.status_code == 200, response.data
    token = Token.objects.get(user=agent_user)
    assert response.data == {"token": token.key, "expiresAt": "2027-03-02T12:00:20Z"}
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    assert client.get(SERVICES).status_code == 200
    # Asked again while valid: the same token.
    again = anonymous_api.post(TOKEN, {"username": "agent1", "password": "pw-agent"})
    assert again.data["token"] == token.key


def test_token_endpoint_refuses_wrong_credentials_naming_the_field(agent_user, anonymous_api):
    response = anonymous_api.post(TOKEN, {"username": "agent1", "password": "wrong"}, format="json")

    assert response.status_code == 400
    assert response.data["errors"] == {"password": ["Unable to sign in with these credentials."]}
    assert not Token.objects.exists()
    missing = anonymous_api.post(TOKEN, {"password": "pw-agent"}, format="json")
    assert missing.status_code == 400
    assert list(missing.data["errors"]) == ["username"]


@time_machine.travel(PINNED, tick=False)
def test_token_endpoint_refuses_a_username_after_ten_failures(agent_user, anonymous_api):
    for _ in range(settings.LOGIN_FAILURE_LIMIT):
        response = anonymous_api.post(TOKEN, {"username": "agent1", "password": "wrong"})
        assert response.status_code == 400

    blocked = anonymous_api.post(TOKEN, {"username": "agent1", "password": "pw-agent"})

    assert blocked.status_code == 429
    assert blocked["Retry-After"] == "280"
    assert (blocked.data["code"], blocked.data["status"]) == ("throttled", "429")
    assert not Token.objects.exists()


@time_machine.travel(PINNED, tick=False)
def test_token_endpoint_is_rate_limited_per_address_whatever_the_outcome(agent_user, anonymous_api):
    with rates(login="2/min"):
        for _ in range(2):
            ok = anonymous_api.post(TOKEN, {"username": "agent1", "password": "pw-agent"})
            assert ok.status_code == 200
        throttled = anonymous_api.post(TOKEN, {"username": "agent1", "password": "pw-agent"})

    assert throttled.status_code == 429
    assert throttled["Retry-After"] == "40"


# --- API rate limits ---------------------------------------------------------------------------


@time_machine.travel(PINNED, tick=False)
def test_api_answers_429_with_retry_after_past_the_users_rate(agent_api, noc_api):
    with rates(user="3/min"):
        assert [agent_api.get(SERVICES).status_code for _ in range(3)] == [200, 200, 200]
        throttled = agent_api.get(SERVICES)
        # Each user has a budget of their own.
        assert noc_api.get(SERVICES).status_code == 200
        with time_machine.travel(datetime(2027, 3, 1, 12, 1, tzinfo=UTC), tick=False):
            assert agent_api.get(SERVICES).status_code == 200

    assert throttled.status_code == 429
    assert throttled["Retry-After"] == "40"
    assert throttled.data == {
        "code": "throttled",
        "reason": "Request was throttled.",
        "message": "Request was throttled. Expected available in 40 seconds.",
        "status": "429",
        "@type": "Error",
    }


@time_machine.travel(PINNED, tick=False)
def test_alarm_ingest_has_its_own_budget(noc_api):
    gnb = GnbFactory()
    with rates(ingest="2/min", user="100/min"):
        created = [
            noc_api.post(ALARMS, alarm_body(gnb.pk, specificProblem=f"fault {n}"), format="json")
            for n in range(2)
        ]
        throttled = noc_api.post(
            ALARMS, alarm_body(gnb.pk, specificProblem="fault 3"), format="json"
        )
        other_api = noc_api.get(SERVICES)

    assert [response.status_code for response in created] == [201, 201]
    assert throttled.status_code == 429
    assert throttled["Retry-After"] == "40"
    assert Alarm.objects.count() == 2
    assert other_api.status_code == 200


def test_default_rates_come_from_the_settings():
    assert settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"] == {
        "user": "3000/min",
        "anon": "300/min",
        "ingest": "12000/min",
        "login": "60/min",
    }


# --- token expiry ------------------------------------------------------------------------------


@override_settings(API_TOKEN_TTL_HOURS=24)
def test_a_token_is_accepted_until_its_lifetime_ends_then_401(agent_user, anonymous_api):
    with time_machine.travel(PINNED, tick=False):
        key = anonymous_api.post(TOKEN, {"username": "agent1", "password": "pw-agent"}).data[
            "token"
        ]
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")

    with time_machine.travel(PINNED + timedelta(hours=24, seconds=-1), tick=False):
        fresh = client.get(SERVICES)
    with time_machine.travel(PINNED + timedelta(hours=24), tick=False):
        expired = client.get(SERVICES)
        renewed = anonymous_api.post(TOKEN, {"username": "agent1", "password": "pw-agent"})
        still_expired = client.get(SERVICES)

    assert fresh.status_code == 200
    assert expired.status_code == 401
    assert expired["WWW-Authenticate"] == "Token"
    assert expired.data == {
        "code": "tokenExpired",
        "reason": "Incorrect authentication credentials.",
        "message": "The token expired at 2027-03-02T12:00:20+00:00: request a new one.",
        "status": "401",
        "@type": "Error",
    }
    # A new token replaces the expired one, which stays refused.
    assert renewed.status_code == 200
    assert renewed.data["token"] != key
    assert renewed.data["expiresAt"] == "2027-03-03T12:00:20Z"
    assert still_expired.status_code == 401
    assert list(Token.objects.values_list("key", flat=True)) == [renewed.data["token"]]


@override_settings(API_TOKEN_TTL_HOURS=2)
def test_token_lifetime_is_configurable(agent_user):
    with time_machine.travel(PINNED, tick=False):
        token = Token.objects.create(user=agent_user)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")

    with time_machine.travel(PINNED + timedelta(hours=1, minutes=59), tick=False):
        assert client.get(SERVICES).status_code == 200
    with time_machine.travel(PINNED + timedelta(hours=2), tick=False):
        assert client.get(SERVICES).status_code == 401


@override_settings(API_TOKEN_TTL_HOURS=24)
def test_the_demo_hands_out_a_valid_token_renewing_an_expired_one(roles):
    with time_machine.travel(PINNED, tick=False):
        first = ensure_users()[AGENT][2]
        assert ensure_users()[AGENT][2] == first  # still valid: the same
    with time_machine.travel(PINNED + timedelta(hours=25), tick=False):
        renewed = ensure_users()[AGENT][2]
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Token {renewed}")
        assert client.get(SERVICES).status_code == 200

    assert renewed != first
    assert not Token.objects.filter(key=first).exists()
