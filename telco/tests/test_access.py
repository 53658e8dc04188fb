"""The permission table (telco.access) against the URL configuration as it is when the suite runs:
every route has a rule, and every route x role x (read, write) answers as the rule says, through
real requests (API routes with the role's token, pages with its session)."""

import re

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from telco.access import ADMIN_SITE, TABLE, Rule
from telco.roles import ADMIN, ROLES, ensure_roles

pytestmark = pytest.mark.django_db

# Path parameters: ids that exist nowhere (an allowed role gets 404, which is not a refusal),
# and the few named values a route needs to reach its view.
MISSING_ID = "987654321"
NAMED_VALUES = {
    "api": "productCatalogManagement",  # read by agent, NOC and finance: the hub rule's roles
    "kind": "site",
    "action": "suspend",
    "decision": "approve",
    "name": "close",
    "session_id": "missing-session",
}
WRITE_ORDER = ("post", "patch", "put", "delete")


def url_routes(patterns=None, prefix="", namespaces=()):
    """(path with its parameters filled, namespaced name, view function) of every route."""
    for entry in get_resolver().url_patterns if patterns is None else patterns:
        if isinstance(entry, URLResolver):
            names = namespaces + ((entry.namespace,) if entry.namespace else ())
            if entry.namespace == ADMIN_SITE:
                continue  # one rule: the admin site, staff only (test_admin_site_is_staff_only)
            yield from url_routes(entry.url_patterns, prefix + str(entry.pattern), names)
        elif isinstance(entry, URLPattern):
            yield prefix + str(entry.pattern), ":".join(namespaces + (entry.name,)), entry.callback


def _fill(route: str) -> str:
    """A concrete path for a route (path converters or a router's regular expression)."""
    path = route.replace("^", "").replace("$", "").replace("/?", "/")
    path = re.sub(r"\(\?P<(\w+)>[^)]*\)", lambda m: NAMED_VALUES.get(m[1], MISSING_ID), path)
    path = re.sub(r"<(?:\w+:)?(\w+)>", lambda m: NAMED_VALUES.get(m[1], MISSING_ID), path)
    return "/" + path


def _write_method(callback) -> str:
    actions = getattr(callback, "actions", None)
    view_class = getattr(callback, "cls", None)
    for method in WRITE_ORDER:
        if (actions is not None and method in actions) or (
            actions is None and view_class is not None and hasattr(view_class, method)
        ):
            return method
    return "post"


def test_every_route_has_a_rule_and_every_rule_a_route():
    names = [name for _, name, _ in url_routes()]
    assert len(names) == len(set(names)), "two routes share a name: the table could not tell"
    missing = sorted(set(names) - set(TABLE))
    assert not missing, f"routes without an access rule in telco/access.py: {missing}"
    stale = sorted(set(TABLE) - set(names))
    assert not stale, f"access rules for routes that no longer exist: {stale}"


def _users():
    groups = ensure_roles()
    users = {}
    for role in ROLES:
        user = get_user_model().objects.create_user(
            username=f"access-{role}", password="pw", is_staff=role == ADMIN
        )
        user.groups.add(groups[role])
        users[role] = user
    return users


def _expected(rule: Rule, role: str | None, family: str) -> str:
    held = {role} if role else set()
    if not rule.allows(held, family):
        return "denied"
    return "405" if rule.is_api and not rule.offers(family) else "allowed"


def _verdict(response, rule: Rule, signed_in: bool) -> str:
    status = response.status_code
    if status == 405:
        return "405"
    if not signed_in and not rule.is_api and status == 302:
        # The login page asking to come back (`next`) is a refusal; logout's redirect is not.
        return "denied" if "next=" in response["Location"] else "allowed"
    if status in (401, 403):
        return "denied"
    return "allowed"


def test_every_route_answers_each_role_as_the_table_says():
    users = _users()
    api_clients, page_clients = {None: APIClient()}, {None: Client()}
    for role, user in users.items():
        token = Token.objects.create(user=user)
        api_clients[role] = APIClient(HTTP_AUTHORIZATION=f"Token {token.key}")
        page_clients[role] = Client()
        page_clients[role].force_login(user)

    wrong, count = [], 0
    for route, name, callback in url_routes():
        rule = TABLE[name]
        path = _fill(route)
        for role in (None, *ROLES):
            client = api_clients[role] if rule.is_api else page_clients[role]
            for family in ("read", "write"):
                if family == "read":
                    response = client.get(path)
                elif rule.is_api:
                    response = getattr(client, _write_method(callback))(path, {}, format="json")
                else:
                    response = client.post(path, {})
                count += 1
                expected = _expected(rule, role, family)
                got = _verdict(response, rule, signed_in=role is not None)
                if got != expected and not (expected == "allowed" and got == "405"):
                    wrong.append(
                        f"{name} {path} as {role or 'anonymous'} {family}: "
                        f"{response.status_code}, expected {expected}"
                    )
                if name == "logout" and role is not None:
                    client.force_login(users[role])
                if rule.is_api and expected == "denied":
                    # The API's refusal is the TMF error shape; anonymous callers are told how.
                    assert response.json()["code"] in ("not_authenticated", "permission_denied")
                    if role is None:
                        assert response.status_code == 401
    assert not wrong, f"{len(wrong)} of {count} answers differ from the table:\n" + "\n".join(wrong)
    assert count >= 2 * len(TABLE) * (len(ROLES) + 1)


def test_admin_site_is_staff_only():
    users = _users()
    assert Client().get("/admin/")["Location"].startswith("/admin/login/")
    for role, user in users.items():
        client = Client()
        client.force_login(user)
        response = client.get("/admin/")
        if role == ADMIN:
            assert response.status_code == 200
        else:
            assert response.status_code == 302
            assert response["Location"].startswith("/admin/login/")


def test_a_token_user_reaches_the_api_and_a_bad_token_is_refused():
    users = _users()
    token = Token.objects.create(user=users["noc"])
    client = APIClient(HTTP_AUTHORIZATION=f"Token {token.key}")
    response = client.get("/tmf-api/alarmManagement/v4/alarm")
    assert response.status_code == 200
    bad = APIClient(HTTP_AUTHORIZATION="Token not-a-token").get("/tmf-api/alarmManagement/v4/alarm")
    assert bad.status_code == 401
    # A route without an operation for the family: 405 naming what it offers.
    answer = client.post("/tmf-api/serviceOrdering/v4/serviceOrder/1", {}, format="json")
    assert answer.status_code == 405
