"""RESTCONF drivers (RFC 8040, `application/yang-data+json` over HTTP): one base doing the HTTP,
one subclass per configuration model translating the workflow's generic payload and back.

Where an element lives: `NETWORK_ELEMENT_URLS[name]` (its RESTCONF root, for real devices), else
`{LABNET_URL}/elements/{name}/restconf` (the lab network). Each thread keeps one pool of keep-alive
connections (urllib3, without the `requests` layer above it: that layer was a third of a
call's own time); HTTP and socket failures become TransientNetworkError, NetworkTimeout or
PermanentNetworkError, as the workflow retries or compensates them.
"""

import json
import os
import threading
from dataclasses import dataclass
from urllib.parse import quote

import urllib3
from django.conf import settings
from urllib3.exceptions import HTTPError, NewConnectionError
from urllib3.exceptions import TimeoutError as Urllib3Timeout

from inventory.network.base import (
    NetworkDriver,
    NetworkTimeout,
    PermanentNetworkError,
    TransientNetworkError,
)
from telco.units import parse_bandwidth_mbps

YANG_JSON = "application/yang-data+json"
# RFC 8040 error tags that mean "not now" rather than "never".
TRANSIENT_TAGS = {"in-use", "resource-denied", "lock-denied"}
TRANSIENT_STATUSES = {429, 502, 503, 504}

_pools = threading.local()


def http_pool() -> urllib3.PoolManager:
    """This thread's connection pool (keep-alive connections per element host). A forked
    worker process starts its own: a socket inherited from the parent is not shared. Elements
    are reached directly, not through a proxy; HTTPS is verified against the system's CAs or
    the bundle REQUESTS_CA_BUNDLE names."""
    pool = getattr(_pools, "pool", None)
    if pool is None or _pools.pid != os.getpid():
        headers = {"Accept": YANG_JSON}
        auth = getattr(settings, "NETWORK_ELEMENT_AUTH", "")
        if auth:
            headers.update(urllib3.make_headers(basic_auth=auth))
        pool = urllib3.PoolManager(
            num_pools=8,
            maxsize=8,
            retries=False,
            headers=headers,
            ca_certs=os.environ.get("REQUESTS_CA_BUNDLE"),
        )
        _pools.pool, _pools.pid = pool, os.getpid()
    return pool


@dataclass
class Answer:
    """An element's HTTP answer."""

    status_code: int
    reason: str
    headers: urllib3.HTTPHeaderDict
    body: bytes

    def json(self):
        return json.loads(self.body)


def element_root(element: str) -> str:
    """The element's RESTCONF root URL."""
    configured = settings.NETWORK_ELEMENT_URLS.get(element)
    if configured:
        return configured.rstrip("/")
    return f"{settings.LABNET_URL.rstrip('/')}/elements/{quote(element, safe='')}/restconf"


def bandwidth_text(mbps: int) -> str:
    return f"{mbps // 1000}Gbps" if mbps >= 1000 and mbps % 1000 == 0 else f"{mbps}Mbps"


def _integer(value):
    """A number sent as text ("7") goes as a number; anything else as given, for the element to
    judge."""
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    return value


def _error_of(response: Answer) -> tuple[str, str]:
    """(error-tag, error-message) of an RFC 8040 error answer, or ("", the status text)."""
    try:
        errors = response.json()["ietf-restconf:errors"]["error"]
        return errors[0].get("error-tag", ""), errors[0].get("error-message", "")
    except (ValueError, KeyError, IndexError, TypeError):
        return "", f"HTTP {response.status_code} {response.reason}"


class RestconfDriver(NetworkDriver):
    """A service is one list entry of the driver's module, keyed by the service reference."""

    module: str
    container: str
    list_name: str

    def to_model(self, service_ref: str, payload: dict) -> dict:
        raise NotImplementedError

    def from_model(self, entry: dict) -> dict:
        raise NotImplementedError

    # The NetworkDriver interface.

    def activate(self, *, element, idempotency_key, service_ref, payload):
        return self._put(element, idempotency_key, service_ref, payload)

    def modify(self, *, element, idempotency_key, service_ref, payload):
        # The payload is the service's whole configuration: a PUT replaces the entry.
        return self._put(element, idempotency_key, service_ref, payload)

    def deactivate(self, *, element, idempotency_key, service_ref):
        response = self._call(
            "DELETE", element, service_ref, headers={"Idempotency-Key": idempotency_key}
        )
        tag, _ = _error_of(response) if response.status_code == 409 else ("", "")
        if tag == "data-missing":
            return {"element": element, "applied": False}  # nothing there: already removed
        self._raise_for(element, response)
        return {"element": element, "applied": not _replayed(response)}

    def status(self, *, element, service_ref):
        response = self._call("GET", element, service_ref)
        if response.status_code == 404:
            return {"element": element, "configured": False, "config": {}}
        self._raise_for(element, response)
        try:
            entry = response.json()[f"{self.module}:{self.list_name}"][0]
        except (ValueError, KeyError, IndexError, TypeError):
            raise PermanentNetworkError(f"{element}: unreadable answer to a read.") from None
        return {"element": element, "configured": True, "config": self.from_model(entry)}

    def running_configs(self, *, element):
        # The whole datastore in one GET (RFC 8040 `{root}/data`); this driver reads its own
        # module's list of it, an element holding several models answers each driver alike.
        url = f"{element_root(element)}/data"
        response = self._request("GET", element, url)
        self._raise_for(element, response)
        try:
            data = response.json()["ietf-restconf:data"]
            entries = data.get(f"{self.module}:{self.container}", {}).get(self.list_name, [])
            return {str(entry["name"]): self.from_model(entry) for entry in entries}
        except (ValueError, KeyError, TypeError, AttributeError):
            raise PermanentNetworkError(f"{element}: unreadable running configuration.") from None

    # HTTP.

    def entry_url(self, element: str, service_ref: str) -> str:
        return (
            f"{element_root(element)}/data/{self.module}:{self.container}/"
            f"{self.list_name}={quote(str(service_ref), safe='')}"
        )

    def _put(self, element, idempotency_key, service_ref, payload) -> dict:
        body = {f"{self.module}:{self.list_name}": [self.to_model(str(service_ref), payload)]}
        response = self._call(
            "PUT",
            element,
            service_ref,
            document=body,
            headers={"Idempotency-Key": idempotency_key, "Content-Type": YANG_JSON},
        )
        self._raise_for(element, response)
        return {"element": element, "applied": not _replayed(response)}

    def _call(self, method: str, element: str, service_ref: str, **options) -> Answer:
        return self._request(method, element, self.entry_url(element, service_ref), **options)

    def _request(
        self, method: str, element: str, url: str, *, document=None, headers=None
    ) -> Answer:
        """One HTTP exchange with the element; `document` is sent as JSON."""
        timeout = settings.LABNET_TIMEOUT_SECONDS
        pool = http_pool()
        try:
            response = pool.request(
                method,
                url,
                body=None if document is None else json.dumps(document).encode(),
                headers={**pool.headers, **(headers or {})},
                timeout=urllib3.Timeout(connect=min(timeout, 3.0), read=timeout),
            )
        except NewConnectionError as error:  # refused, no route (a kind of connect timeout)
            raise TransientNetworkError(
                f"{element}: unreachable ({error.__class__.__name__})."
            ) from None
        except Urllib3Timeout:
            raise NetworkTimeout(f"{element}: no answer within {timeout}s.") from None
        except HTTPError as error:  # the connection dropped, an answer that is not HTTP
            raise TransientNetworkError(
                f"{element}: unreachable ({error.__class__.__name__})."
            ) from None
        return Answer(response.status, response.reason or "", response.headers, response.data)

    def _raise_for(self, element: str, response: Answer) -> None:
        if response.status_code < 400:
            return
        tag, message = _error_of(response)
        text = f"{element}: {message}"
        if (
            response.status_code in TRANSIENT_STATUSES
            or response.status_code >= 500
            or tag in TRANSIENT_TAGS
        ):
            raise TransientNetworkError(text)
        raise PermanentNetworkError(text)


def _replayed(response: Answer) -> bool:
    return response.headers.get("Idempotent-Replayed", "").lower() == "true"


class OltDriver(RestconfDriver):
    """Nokia-like OLTs (`lab-olt`): one ONT per service, with its service port and profile."""

    module, container, list_name = "lab-olt", "olt", "ont"
    config_keys = (
        "service",
        "adminState",
        "bandwidth",
        "ponPort",
        "ontSerial",
        "ontId",
        "vlan",
        "gemPort",
    )

    def to_model(self, service_ref, payload):
        entry = {"name": service_ref, "admin-state": payload.get("adminState", "unlocked")}
        for generic, leaf in (("service", "description"), ("ontSerial", "serial-number")):
            if payload.get(generic) is not None:
                entry[leaf] = str(payload[generic])
        if payload.get("ponPort") is not None:
            entry["pon-port"] = str(payload["ponPort"])
        if payload.get("ontId") is not None:
            entry["ont-id"] = _integer(payload["ontId"])
        if payload.get("vlan") is not None:
            entry["service-port"] = {"vlan": _integer(payload["vlan"])}
            if payload.get("gemPort") is not None:
                entry["service-port"]["gem-port"] = _integer(payload["gemPort"])
        mbps = parse_bandwidth_mbps(payload.get("bandwidth"))  # None: left out
        if mbps is not None:
            # Best effort up to the product's rate: nothing committed, the rate is the peak.
            entry["bandwidth-profile"] = {"cir-mbps": 0, "pir-mbps": mbps}
        return entry

    def from_model(self, entry):
        config = {"adminState": entry.get("admin-state")}
        for leaf, generic in (
            ("description", "service"),
            ("serial-number", "ontSerial"),
            ("pon-port", "ponPort"),
            ("ont-id", "ontId"),
        ):
            if leaf in entry:
                config[generic] = entry[leaf]
        service_port = entry.get("service-port", {})
        if "vlan" in service_port:
            config["vlan"] = service_port["vlan"]
        if "gem-port" in service_port:
            config["gemPort"] = service_port["gem-port"]
        if "bandwidth-profile" in entry:
            config["bandwidth"] = bandwidth_text(entry["bandwidth-profile"]["pir-mbps"])
        return config


class RouterDriver(RestconfDriver):
    """OpenConfig/Cisco-like routers (`lab-router`), as BNG and as PE: a subinterface per
    service, its VRF when the service is in a VPN, a policer."""

    module, container, list_name = "lab-router", "router", "service"
    config_keys = (
        "service",
        "adminState",
        "bandwidth",
        "port",
        "vlan",
        "ipAddress",
        "vrf",
        "routeDistinguisher",
        "routeTarget",
    )

    def to_model(self, service_ref, payload):
        entry = {"name": service_ref, "enabled": payload.get("adminState") != "locked"}
        if payload.get("service") is not None:
            entry["description"] = str(payload["service"])
        subinterface = {}
        if payload.get("port") is not None:
            subinterface["interface"] = str(payload["port"])
        if payload.get("vlan") is not None:
            subinterface["vlan-id"] = _integer(payload["vlan"])
        if payload.get("ipAddress"):
            address, _, length = str(payload["ipAddress"]).partition("/")
            subinterface["ipv4-address"] = address
            subinterface["prefix-length"] = _integer(length) if length else 32
        if subinterface:
            entry["subinterface"] = subinterface
        if payload.get("vrf"):
            vrf = {"name": str(payload["vrf"])}
            if payload.get("routeDistinguisher"):
                vrf["route-distinguisher"] = str(payload["routeDistinguisher"])
            targets = payload.get("routeTarget")
            if targets:
                targets = (
                    [str(each) for each in targets] if isinstance(targets, list) else [str(targets)]
                )
                vrf["import-route-targets"] = targets
                vrf["export-route-targets"] = targets
            entry["vrf"] = vrf
        mbps = parse_bandwidth_mbps(payload.get("bandwidth"))  # None: left out
        if mbps is not None:
            entry["policer"] = {"rate-mbps": mbps}
        return entry

    def from_model(self, entry):
        config = {"adminState": "unlocked" if entry.get("enabled") else "locked"}
        if "description" in entry:
            config["service"] = entry["description"]
        subinterface = entry.get("subinterface", {})
        if "interface" in subinterface:
            config["port"] = subinterface["interface"]
        if "vlan-id" in subinterface:
            config["vlan"] = subinterface["vlan-id"]
        if "ipv4-address" in subinterface:
            length = subinterface.get("prefix-length", 32)
            config["ipAddress"] = f"{subinterface['ipv4-address']}/{length}"
        vrf = entry.get("vrf")
        if vrf:
            config["vrf"] = vrf["name"]
            if "route-distinguisher" in vrf:
                config["routeDistinguisher"] = vrf["route-distinguisher"]
            targets = vrf.get("import-route-targets") or []
            if targets:
                config["routeTarget"] = targets[0] if len(targets) == 1 else targets
        if "policer" in entry:
            config["bandwidth"] = bandwidth_text(entry["policer"]["rate-mbps"])
        return config


class GenericDriver(RestconfDriver):
    """Elements without a model of their own (gNB, slice, ...): `lab-generic` keeps the admin
    state and every characteristic as given."""

    module, container, list_name = "lab-generic", "services", "service"
    # And every other characteristic of the payload, as given.
    config_keys = ("service", "adminState", "bandwidth")

    def to_model(self, service_ref, payload):
        characteristics = {key: value for key, value in payload.items() if key != "adminState"}
        return {
            "name": service_ref,
            "admin-state": payload.get("adminState", "unlocked"),
            "characteristics": characteristics,
        }

    def from_model(self, entry):
        return {**entry.get("characteristics", {}), "adminState": entry.get("admin-state")}
