"""The served OpenAPI schema against the API: no input makes a 5xx, and real answers conform.

Schemathesis reads the schema `/api/schema/` serves and calls every operation in-process (WSGI,
inside the test's database transaction) as an administrator, over a small demo operator: valid
bodies, boundary values and deliberately wrong ones. A detail operation is called once with the
generated id and once with the id of a real row, so PATCH and DELETE reach the code behind the
404. Each call runs in a savepoint rolled back afterwards, so every call sees the same world.
The run is deterministic (the same cases every time) and bounded to keep the suite fast.
"""

import itertools
import traceback
from io import StringIO

import pytest
import schemathesis
from django.core.management import call_command
from django.core.signals import got_request_exception, request_finished, request_started
from django.db import close_old_connections, transaction
from django.urls import resolve

from telco.access import ANONYMOUS, TABLE
from telco.roles import ADMIN, AGENT, FINANCE, NOC, RISK
from telco.wsgi import application

# Examples and fuzzing (valid and invalid input), a few cases per operation. The coverage phase
# (every boundary of every parameter) finds the same kinds of fault but runs for many minutes.
FUZZ_CONFIG = schemathesis.Config.from_dict(
    {
        "generation": {
            "mode": "all",
            "max-examples": 5,
            "deterministic": True,
            "database": "none",
        },
        "phases": {
            "coverage": {"enabled": False},
            "stateful": {"enabled": False},
        },
    }
)


@pytest.fixture
def fuzz_world(db, admin_api):
    """A small demo operator (every resource has rows); the administrator's token header."""
    call_command("seed_demo", customers=5, stdout=StringIO())
    return {"Authorization": admin_api._credentials["HTTP_AUTHORIZATION"]}


@pytest.fixture
def served_schema(request, fuzz_world, admin_api):
    # schemathesis 4.32 renames the running node through `_nodeid`, which pytest 9 no longer has.
    request.node._nodeid = request.node.nodeid
    body = admin_api.get("/api/schema/", HTTP_ACCEPT="application/json").json()
    schema = schemathesis.openapi.from_dict(body, config=FUZZ_CONFIG)
    schema.app = application
    return schema


@pytest.fixture
def real_ids(fuzz_world, admin_api, served_schema):
    """For every collection path of the schema: the id of its first row."""
    ids = {}
    for path, operations in served_schema.raw_schema["paths"].items():
        if "{" in path or "get" not in operations:
            continue
        response = admin_api.get(path)
        if response.status_code == 200 and response.json():
            ids[path] = response.json()[0]["id"]
    return ids


def _call(case, headers, *, keep: bool = False):
    """Call the app with `case`; the answer and the traceback of any exception it raised. The
    call's changes are rolled back unless `keep` (a sequence builds on what it created)."""
    raised = []

    def record(sender, request, **kwargs):
        raised.append(traceback.format_exc())

    # Keep the test's connection (and its transaction) across the call, as Django's client does.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    got_request_exception.connect(record)
    savepoint = transaction.savepoint()
    try:
        response = case.call(headers=headers)
    finally:
        if not keep:
            transaction.savepoint_rollback(savepoint)
        transaction.savepoint_commit(savepoint)  # release it: thousands would pile up locks
        got_request_exception.disconnect(record)
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)
    return response, "".join(raised)


def _assert_no_server_error(case, headers, *, keep: bool = False):
    response, raised = _call(case, headers, keep=keep)
    assert response.status_code < 500, (
        f"{case.method} {case.formatted_path} {case.query or ''} {case.body!r:.300}"
        f" -> {response.status_code}\n{raised[-3000:]}"
    )
    return response


@pytest.fixture
def role_headers(request, fuzz_world):
    """The Authorization header of every role (anonymous: none); admin is the fuzz world's."""
    headers = {ANONYMOUS: {}, ADMIN: fuzz_world}
    for role in (AGENT, NOC, FINANCE, RISK):
        client = request.getfixturevalue(f"{role}_api")
        headers[role] = {"Authorization": client._credentials["HTTP_AUTHORIZATION"]}
    return headers


schema = schemathesis.pytest.from_fixture("served_schema")
# Each generated case is also sent as one other role, in turn: with five cases an operation,
# every role (anonymous too) meets every operation about once, for a fraction of the time a
# full run per role would take.
OTHER_ROLES = (AGENT, NOC, FINANCE, RISK, ANONYMOUS)
_turn = itertools.count()


@schema.parametrize()
def test_no_operation_answers_a_server_error(case, fuzz_world, real_ids, role_headers):
    _assert_no_server_error(case, fuzz_world)
    _assert_no_server_error(case, role_headers[OTHER_ROLES[next(_turn) % len(OTHER_ROLES)]])
    if "id" in (case.path_parameters or {}):
        collection = case.operation.path.split("{id}")[0]
        if collection in real_ids:
            case.path_parameters = {**case.path_parameters, "id": real_ids[collection]}
            _assert_no_server_error(case, fuzz_world)


def _conforming_answer(served_schema, headers, path: str, query: dict | None = None, **params):
    """GET `path` and check the answer against the schema; its body."""
    operation = served_schema[path]["GET"]
    case = operation.Case(path_parameters=params or None, query=query or None)
    response, raised = _call(case, headers)
    assert response.status_code == 200, (path, query, response.text[:300], raised[-2000:])
    operation.validate_response(response)  # raises, naming each difference
    return response.json()


def test_real_answers_conform_to_the_served_schema(served_schema, fuzz_world, real_ids):
    """Every collection and its first row, with and without `?fields=`, as the schema says."""
    bodies = {}
    for collection, first_id in real_ids.items():
        full = _conforming_answer(served_schema, fuzz_world, collection)
        selected = _conforming_answer(served_schema, fuzz_world, collection, {"fields": "name"})
        assert {key for item in selected for key in item} <= {"id", "href", "name"}, collection
        assert [item["id"] for item in selected] == [item["id"] for item in full], collection
        detail = f"{collection}{{id}}/"
        if "get" in served_schema.raw_schema["paths"].get(detail, {}):
            bodies[collection] = _conforming_answer(served_schema, fuzz_world, detail, id=first_id)
            _conforming_answer(served_schema, fuzz_world, detail, {"fields": "name"}, id=first_id)
    # The answers the schema used to misdescribe were among those checked.
    products = _conforming_answer(
        served_schema, fuzz_world, "/tmf-api/productInventory/v4/product/"
    )
    assert any(product["terminationDate"] is None for product in products)
    prices = _conforming_answer(
        served_schema, fuzz_world, "/tmf-api/productCatalogManagement/v4/productOfferingPrice/"
    )
    assert 20 in [price["percentage"] for price in prices]
    ticket = bodies["/tmf-api/troubleTicket/v4/troubleTicket/"]
    assert ticket["priority"] in {"1", "2", "3", "4"}


def _request_case(served_schema, path: str, method: str, *, body=None, **params):
    operation = served_schema[path][method]
    content = (operation.definition.raw.get("requestBody") or {}).get("content", {})
    media_type = next(iter(content), "application/json")
    if not content:
        return operation.Case(path_parameters=params or None)
    return operation.Case(path_parameters=params or None, body=body, media_type=media_type)


def _echo_body(item: dict) -> dict:
    """A row as the API showed it, as a body to create another: without its identity, and
    renamed where names are unique."""
    body = {key: value for key, value in item.items() if key not in ("id", "href")}
    if isinstance(body.get("name"), str):
        body["name"] += " (copy)"
    return body


def test_create_then_patch_then_delete_what_was_created_as_every_role(
    served_schema, role_headers, real_ids, admin_api
):
    """Every collection that takes POST, as every role: create (the body of a row the API
    showed, echoed back), then PATCH and DELETE what was created (else the real row), in one
    savepoint rolled back after each role. No step answers a 5xx."""
    paths = served_schema.raw_schema["paths"]
    collections = [
        path for path, operations in paths.items() if "{" not in path and "post" in operations
    ]
    assert len(collections) > 30
    created = set()
    for collection in collections:
        detail = f"{collection}{{id}}/"
        detail_operations = paths.get(detail, {})
        first_id = real_ids.get(collection)
        body = {}
        if first_id is not None and "get" in detail_operations:
            shown = admin_api.get(f"{collection}{first_id}/")
            body = _echo_body(shown.json()) if shown.status_code == 200 else {}
        for role, headers in role_headers.items():
            savepoint = transaction.savepoint()
            try:
                post = _request_case(served_schema, collection, "POST", body=body)
                answer = _assert_no_server_error(post, headers, keep=True)
                # The permission table decides, for state-changing operations too.
                rule = TABLE[resolve(collection).view_name]
                may_write = rule.allows(set() if role == ANONYMOUS else {role}, "write")
                # (An allowed role may still meet a field-level rule: an agent's body with a
                # credit limit, crm.permissions.)
                if not may_write:
                    expected = 401 if role == ANONYMOUS else 403
                    assert answer.status_code == expected, (collection, role, answer.status_code)
                target = first_id
                if answer.status_code in (200, 201, 202) and isinstance(answer.json(), dict):
                    target = answer.json().get("id", first_id)
                    created.add(collection)
                if target is None:
                    continue
                for method in ("PATCH", "DELETE"):
                    if method.lower() in detail_operations:
                        step = _request_case(
                            served_schema,
                            detail,
                            method,
                            body=body if method == "PATCH" else None,
                            id=str(target),
                        )
                        _assert_no_server_error(step, headers, keep=True)
            finally:
                transaction.savepoint_rollback(savepoint)
                transaction.savepoint_commit(savepoint)
    # Creation really happened in many collections (by the roles allowed to create there).
    assert len(created) >= 12, sorted(created)
