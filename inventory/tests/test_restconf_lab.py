"""The RESTCONF drivers against real lab element servers over HTTP: each model's configuration put,
read back and deleted; idempotency keys; failure modes as the workflow's exceptions; the journal
across a restart; the labnet command; malformed requests answered in RFC 8040 form."""

import json
import socket
import time
from io import StringIO

import pytest
import requests
from django.core.management import CommandError, call_command

from inventory.network import DRIVERS, driver_for
from inventory.network.base import NetworkTimeout, PermanentNetworkError, TransientNetworkError
from inventory.network.labclient import LabControl
from inventory.network.labserver import LabServer
from inventory.network.restconf import GenericDriver, OltDriver, RouterDriver
from inventory.tests.factories import GnbFactory, RouterFactory

YANG = "application/yang-data+json"
# What the workflow sends for a fibre line (OLT and BNG) or a VPN site (PE): one flat dict.
PAYLOAD = {
    "service": "FTTH-0042",
    "adminState": "unlocked",
    "bandwidth": "1Gbps",
    "ponPort": "1/1/3",
    "ontSerial": "ALCL0000002A",
    "ontId": 7,
    "vlan": 1001,
    "ipAddress": "100.64.3.7/24",
    "port": "ge-0/0/1",
    "vrf": "VPN-ACME",
    "routeDistinguisher": "65000:1001",
    "routeTarget": "65000:1001",
    "siteName": "Leeds",
}


def _put(driver, element, key, payload=PAYLOAD, service_ref="42"):
    return driver.activate(
        element=element, idempotency_key=key, service_ref=service_ref, payload=payload
    )


def test_drivers_by_kind():
    assert (DRIVERS["olt"], DRIVERS["router"]) == (OltDriver, RouterDriver)
    assert DRIVERS["gnb"] is DRIVERS["slice"] is DRIVERS["switch"] is GenericDriver


def test_olt_ont_is_put_read_back_and_deleted(lab):
    olt = OltDriver()

    assert _put(olt, "OLT-1", "k1") == {"element": "OLT-1", "applied": True}

    assert lab.config("OLT-1") == {
        "42": {
            "name": "42",
            "admin-state": "unlocked",
            "description": "FTTH-0042",
            "serial-number": "ALCL0000002A",
            "pon-port": "1/1/3",
            "ont-id": 7,
            "service-port": {"vlan": 1001},
            "bandwidth-profile": {"cir-mbps": 0, "pir-mbps": 1000},
        }
    }
    assert olt.status(element="OLT-1", service_ref="42") == {
        "element": "OLT-1",
        "configured": True,
        "config": {
            "service": "FTTH-0042",
            "adminState": "unlocked",
            "bandwidth": "1Gbps",
            "ponPort": "1/1/3",
            "ontSerial": "ALCL0000002A",
            "ontId": 7,
            "vlan": 1001,
        },
    }
    assert set(olt.status(element="OLT-1", service_ref="42")["config"]) <= set(olt.config_keys)

    locked = {**PAYLOAD, "adminState": "locked", "bandwidth": "500Mbps"}
    olt.modify(element="OLT-1", idempotency_key="k2", service_ref="42", payload=locked)
    config = olt.status(element="OLT-1", service_ref="42")["config"]
    assert (config["adminState"], config["bandwidth"]) == ("locked", "500Mbps")

    assert olt.deactivate(element="OLT-1", idempotency_key="k3", service_ref="42") == {
        "element": "OLT-1",
        "applied": True,
    }
    assert olt.status(element="OLT-1", service_ref="42") == {
        "element": "OLT-1",
        "configured": False,
        "config": {},
    }
    assert lab.config("OLT-1") == {}
    # Deleting what is gone already (a compensation run twice) is harmless.
    assert olt.deactivate(element="OLT-1", idempotency_key="k4", service_ref="42") == {
        "element": "OLT-1",
        "applied": False,
    }
    assert [change["operation"] for change in lab.changes("OLT-1")] == ["put", "put", "delete"]


def test_one_payload_two_kinds_two_models(lab):
    _put(OltDriver(), "OLT-1", "olt-key")
    _put(RouterDriver(), "PE-1", "pe-key")

    assert lab.config("PE-1") == {
        "42": {
            "name": "42",
            "enabled": True,
            "description": "FTTH-0042",
            "subinterface": {
                "interface": "ge-0/0/1",
                "vlan-id": 1001,
                "ipv4-address": "100.64.3.7",
                "prefix-length": 24,
            },
            "vrf": {
                "name": "VPN-ACME",
                "route-distinguisher": "65000:1001",
                "import-route-targets": ["65000:1001"],
                "export-route-targets": ["65000:1001"],
            },
            "policer": {"rate-mbps": 1000},
        }
    }
    assert RouterDriver().status(element="PE-1", service_ref="42")["config"] == {
        "service": "FTTH-0042",
        "adminState": "unlocked",
        "bandwidth": "1Gbps",
        "port": "ge-0/0/1",
        "vlan": 1001,
        "ipAddress": "100.64.3.7/24",
        "vrf": "VPN-ACME",
        "routeDistinguisher": "65000:1001",
        "routeTarget": "65000:1001",
    }
    # Each element answers in its own module; the whole running configuration shows it.
    data = requests.get(f"{lab.url}/elements/PE-1/restconf/data", timeout=5).json()
    assert list(data["ietf-restconf:data"]) == ["lab-router:router"]
    data = requests.get(f"{lab.url}/elements/OLT-1/restconf/data", timeout=5).json()
    assert list(data["ietf-restconf:data"]) == ["lab-olt:olt"]


def test_generic_model_keeps_the_characteristics(lab):
    gnb = GenericDriver()
    payload = {"service": "5G slice", "bandwidth": "500Mbps", "adminState": "locked", "qci": 9}

    _put(gnb, "gnb-1", "g1", payload=payload, service_ref="7")

    assert lab.config("gnb-1") == {
        "7": {
            "name": "7",
            "admin-state": "locked",
            "characteristics": {"service": "5G slice", "bandwidth": "500Mbps", "qci": 9},
        }
    }
    assert gnb.status(element="gnb-1", service_ref="7")["config"] == payload


def test_a_repeated_idempotency_key_applies_once(lab):
    olt = OltDriver()
    _put(olt, "OLT-1", "same-key")

    # The same key with another payload (a retry after a lost answer): the first answer again.
    again = _put(olt, "OLT-1", "same-key", payload={**PAYLOAD, "vlan": 2000})

    assert again == {"element": "OLT-1", "applied": False}
    assert lab.config("OLT-1")["42"]["service-port"] == {"vlan": 1001}
    assert len(lab.changes("OLT-1")) == 1
    response = requests.put(
        olt.entry_url("OLT-1", "42"),
        json={"lab-olt:ont": [olt.to_model("42", PAYLOAD)]},
        headers={"Idempotency-Key": "same-key", "Content-Type": YANG},
        timeout=5,
    )
    assert (response.status_code, response.headers["Idempotent-Replayed"]) == (201, "true")
    assert response.headers["Location"].endswith("/restconf/data/lab-olt:olt/ont=42")


def test_failure_modes_become_the_workflows_exceptions(lab, settings):
    olt = OltDriver()
    lab.fail("OLT-1", "transient:2")
    for _ in range(2):
        with pytest.raises(TransientNetworkError, match="OLT-1: element busy, try again."):
            _put(olt, "OLT-1", "k1")
    assert lab.config("OLT-1") == {}
    assert _put(olt, "OLT-1", "k1")["applied"] is True
    assert lab.element("OLT-1")["mode"] == "none"

    lab.fail("OLT-1", "permanent")
    with pytest.raises(PermanentNetworkError, match="OLT-1: configuration rejected by the element"):
        _put(olt, "OLT-1", "k2", service_ref="43")
    with pytest.raises(PermanentNetworkError):
        olt.status(element="OLT-1", service_ref="42")

    settings.LABNET_TIMEOUT_SECONDS = 0.2
    lab.fail("OLT-1", "timeout")
    with pytest.raises(NetworkTimeout, match="OLT-1: no answer within 0.2s"):
        _put(olt, "OLT-1", "k3", service_ref="44")
    lab.heal("OLT-1")
    assert set(lab.config("OLT-1")) == {"42"}
    assert olt.status(element="OLT-1", service_ref="42")["configured"] is True

    # An element the driver cannot reach at all (nothing listens there) is worth a retry.
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        settings.NETWORK_ELEMENT_URLS = {"OLT-9": f"http://127.0.0.1:{probe.getsockname()[1]}"}
    with pytest.raises(TransientNetworkError, match="OLT-9: unreachable"):
        _put(olt, "OLT-9", "k4")


def test_an_element_rejecting_the_payload_is_permanent(lab):
    olt = OltDriver()
    with pytest.raises(PermanentNetworkError, match="OLT-1: ont-id must be in 0..255"):
        _put(olt, "OLT-1", "k1", payload={**PAYLOAD, "ontId": 300})
    with pytest.raises(PermanentNetworkError, match="OLT-1: missing mandatory leaf pon-port"):
        _put(olt, "OLT-1", "k2", payload={"service": "x", "ontId": 1})
    with pytest.raises(PermanentNetworkError, match="PE-1: ipv4-address is not an IPv4"):
        _put(RouterDriver(), "PE-1", "k3", payload={**PAYLOAD, "ipAddress": "300.1.1.1/24"})
    assert lab.elements() == []  # nothing configured, no key remembered
    assert _put(olt, "OLT-1", "k1")["applied"] is True


def test_latency_is_spent_per_element(lab):
    olt = OltDriver()
    lab.latency(80, "OLT-SLOW")

    started = time.perf_counter()
    olt.status(element="OLT-SLOW", service_ref="1")
    slow = time.perf_counter() - started
    started = time.perf_counter()
    olt.status(element="OLT-FAST", service_ref="1")
    fast = time.perf_counter() - started

    assert slow >= 0.08 > fast


def test_journal_replay_after_a_restart_keeps_configs_keys_and_modes(tmp_path, settings):
    journal = tmp_path / "labnet.jsonl"
    first = LabServer(state_file=journal).start()
    settings.LABNET_URL = first.url
    olt, router = OltDriver(), RouterDriver()
    _put(olt, "OLT-1", "a")
    _put(olt, "OLT-1", "b", service_ref="43")
    olt.deactivate(element="OLT-1", idempotency_key="c", service_ref="43")
    _put(router, "PE-1", "d")
    LabControl(first.url).fail("PE-1", "transient:3")
    first.stop()

    second = LabServer(state_file=journal).start()
    try:
        settings.LABNET_URL = second.url
        assert olt.status(element="OLT-1", service_ref="42")["config"]["ontId"] == 7
        assert olt.status(element="OLT-1", service_ref="43")["configured"] is False
        assert _put(olt, "OLT-1", "a") == {"element": "OLT-1", "applied": False}
        control = LabControl(second.url)
        assert control.element("PE-1")["failuresLeft"] == 3
        assert control.config("PE-1")["42"]["vrf"]["name"] == "VPN-ACME"
    finally:
        second.stop()
    # The restart rewrote the journal as one snapshot per element, then appended what followed.
    records = [json.loads(line) for line in journal.read_text().splitlines()]
    assert [(record["op"], record["element"]) for record in records] == [
        ("snapshot", "OLT-1"),
        ("snapshot", "PE-1"),
    ]


def test_a_driver_follows_network_element_urls_to_a_real_device(lab, settings):
    device = LabServer().start()  # stands in for a router reached at its own address
    try:
        settings.NETWORK_ELEMENT_URLS = {"PE-REAL": f"{device.url}/elements/PE-REAL/restconf"}
        _put(RouterDriver(), "PE-REAL", "k1")
        assert set(LabControl(device.url).config("PE-REAL")) == {"42"}
        assert lab.elements() == []
    finally:
        device.stop()


@pytest.mark.django_db
def test_labnet_command_changes_what_the_server_answers(lab):
    router, gnb = RouterFactory(), GnbFactory()
    driver = driver_for(router.resource_kind)

    call_command("labnet", "fail", router.name, "--mode", "permanent", stdout=StringIO())
    with pytest.raises(PermanentNetworkError):
        _put(driver, router.name, "k1")
    call_command("labnet", "heal", router.name, stdout=StringIO())
    assert _put(driver, router.name, "k1")["applied"] is True

    call_command("labnet", "fail", "--all", "--mode", "transient:1", stdout=StringIO())
    with pytest.raises(TransientNetworkError):
        driver.status(element=gnb.name, service_ref="1")
    assert driver.status(element=gnb.name, service_ref="1")["configured"] is False
    call_command("labnet", "latency", router.name, "--ms", "40", stdout=StringIO())
    out = StringIO()
    call_command("labnet", "status", stdout=out)
    assert out.getvalue().splitlines() == [
        f"{gnb.name}: none, 0 active config(s)",
        f"{router.name}: transient (1 left), 1 active config(s), latency 40 ms",
    ]
    with pytest.raises(CommandError, match="transient needs a number"):
        call_command("labnet", "fail", router.name, "--mode", "transient:0")


def _raw(lab, method, path, body=b"", content_type=YANG):
    response = requests.request(
        method, f"{lab.url}{path}", data=body, headers={"Content-Type": content_type}, timeout=5
    )
    return response.status_code, response.json() if response.content else None


def _error(status, tag, message, path=None):
    error = {
        "error-type": "protocol"
        if tag in ("malformed-message", "invalid-value")
        else "application",
        "error-tag": tag,
        "error-message": message,
    }
    if path:
        error["error-path"] = path
    return status, {"ietf-restconf:errors": {"error": [error]}}


def test_malformed_requests_get_rfc_8040_errors_and_never_crash_it(lab):
    ont = "/elements/OLT-1/restconf/data/lab-olt:olt/ont=42"
    entry = OltDriver().to_model("42", PAYLOAD)
    assert _raw(lab, "PUT", ont, b"{not json")[0] == 400
    assert _raw(lab, "PUT", ont, b"{not json")[1]["ietf-restconf:errors"]["error"][0][
        "error-tag"
    ] == ("malformed-message")
    assert _raw(lab, "PUT", ont, json.dumps(entry), "text/plain")[0] == 415
    assert _raw(lab, "PUT", ont, json.dumps({"lab-olt:ont": [entry, entry]})) == _error(
        400, "malformed-message", "a PUT carries exactly one entry"
    )
    other_key = json.dumps({"lab-olt:ont": [{**entry, "name": "43"}]})
    assert _raw(lab, "PUT", ont, other_key) == _error(
        400,
        "invalid-value",
        "the key in the body differs from the key in the URI",
        "/lab-olt:olt/ont/name",
    )
    bad_vlan = json.dumps({"lab-olt:ont": [{**entry, "service-port": {"vlan": 5000}}]})
    assert _raw(lab, "PUT", ont, bad_vlan) == _error(
        400, "invalid-value", "vlan must be in 1..4094", "/lab-olt:olt/ont/service-port/vlan"
    )
    unknown = json.dumps({"lab-olt:ont": [{**entry, "colour": "red"}]})
    assert _raw(lab, "PUT", ont, unknown) == _error(
        400, "unknown-element", "unknown node colour", "/lab-olt:olt/ont/colour"
    )
    wrong_type = json.dumps({"lab-olt:ont": [{**entry, "ont-id": True}]})
    assert _raw(lab, "PUT", ont, wrong_type)[0] == 400
    assert _raw(lab, "GET", "/elements/OLT-1/restconf/data/lab-ufo:olt") == _error(
        404, "invalid-value", "unknown data node lab-ufo:olt"
    )
    assert _raw(lab, "POST", ont)[0] == 405
    assert _raw(lab, "GET", ont) == _error(404, "invalid-value", "ont 42 is not configured")
    assert _raw(lab, "DELETE", ont) == _error(409, "data-missing", "ont 42 is not configured")
    assert _raw(lab, "PUT", "/lab/elements/OLT-1", b'{"mode": "flaky"}') == (
        400,
        {"error": "Unknown mode 'flaky': none, permanent, transient:N or timeout."},
    )
    # Garbage on the wire, an unknown method: refused, and the server goes on serving.
    address = ("127.0.0.1", int(lab.url.rsplit(":", 1)[1]))
    with socket.create_connection(address, timeout=5) as raw:
        raw.sendall(b"\x16\x03\x01\x02\x00 not http at all\r\n\r\n")
        raw.recv(1000)
    with socket.create_connection(address, timeout=5) as raw:
        raw.sendall(b"BREW /elements/OLT-1/restconf HTTP/1.1\r\nHost: lab\r\n\r\n")
        assert raw.recv(1000).startswith(b"HTTP/1.1 501")
    assert lab.elements() == []
    assert _put(OltDriver(), "OLT-1", "k1")["applied"] is True


def test_host_meta_and_the_restconf_root(lab):
    response = requests.get(f"{lab.url}/elements/OLT-1/.well-known/host-meta", timeout=5)
    assert response.headers["Content-Type"] == "application/xrd+xml"
    assert "<Link rel='restconf' href='/elements/OLT-1/restconf'/>" in response.text
    root = requests.get(f"{lab.url}/elements/OLT-1/restconf", timeout=5)
    assert (root.headers["Content-Type"], root.json()["ietf-restconf:restconf"]["data"]) == (
        YANG,
        {},
    )
