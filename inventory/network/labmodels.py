"""The configuration models the lab elements serve (their YANG modules, in miniature).

Pure Python, no Django: the lab server validates every entry written to it against these, as a
real element validates against its YANG, and answers the first problem as an RFC 8040 error.

- `lab-olt` (Nokia-like OLT): `lab-olt:olt/ont={name}`, one ONT per service: serial number,
  PON port, ONT id, a service port (VLAN, GEM port), a bandwidth profile (CIR/PIR), admin state.
- `lab-router` (OpenConfig/Cisco-like router, as BNG or PE): `lab-router:router/service={name}`:
  a subinterface (interface, VLAN, IPv4 address), an optional VRF (name, route distinguisher,
  import/export route targets), a policer and `enabled`.
- `lab-generic` (gNB, slice and the rest): `lab-generic:services/service={name}`: an admin state
  and the characteristics as given.
"""

import ipaddress
import re
from collections.abc import Callable
from dataclasses import dataclass

# A route distinguisher or target: ASN:number or IPv4:number.
ROUTE_TARGET_PATTERN = re.compile(r"^(\d{1,10}|\d{1,3}(\.\d{1,3}){3}):\d{1,10}$")


class ModelError(ValueError):
    """An entry does not fit its model; `path` names the node (RFC 8040's error-path)."""

    def __init__(self, path: str, message: str, tag: str = "invalid-value"):
        super().__init__(message)
        self.path = path
        self.tag = tag


@dataclass(frozen=True)
class Leaf:
    """A leaf: its JSON type, whether it must be present, and a check of its value."""

    kind: type | tuple[type, ...]
    mandatory: bool = False
    check: Callable[[object], str | None] | None = None


def _range(low: int, high: int) -> Callable[[object], str | None]:
    return lambda value: None if low <= value <= high else f"must be in {low}..{high}"


def _one_of(*choices: str) -> Callable[[object], str | None]:
    return lambda value: None if value in choices else f"must be one of {', '.join(choices)}"


def _text(value: object) -> str | None:
    return None if 0 < len(value) <= 120 else "must be 1 to 120 characters"


def _ipv4(value: object) -> str | None:
    try:
        ipaddress.IPv4Address(value)
    except ValueError:
        return "is not an IPv4 address"
    return None


def _route_target(value: object) -> str | None:
    return None if ROUTE_TARGET_PATTERN.match(value) else "is not ASN:number or IPv4:number"


def _route_targets(value: object) -> str | None:
    if not value or not all(isinstance(each, str) and not _route_target(each) for each in value):
        return "must be a non-empty list of ASN:number or IPv4:number"
    return None


NAME = Leaf(str, mandatory=True, check=_text)
DESCRIPTION = Leaf(str, check=_text)

# Each schema is a dict of leaf name -> Leaf, or -> (nested schema, mandatory) for a container.
OLT_ONT = {
    "name": NAME,
    "description": DESCRIPTION,
    # Optional: an ONT may be pre-provisioned and its serial learnt when it first ranges.
    "serial-number": Leaf(str, check=_text),
    "pon-port": Leaf(str, mandatory=True, check=_text),
    "ont-id": Leaf(int, mandatory=True, check=_range(0, 255)),
    "admin-state": Leaf(str, mandatory=True, check=_one_of("locked", "unlocked")),
    "service-port": (
        {
            "vlan": Leaf(int, mandatory=True, check=_range(1, 4094)),
            "gem-port": Leaf(int, check=_range(0, 4095)),
        },
        False,
    ),
    "bandwidth-profile": (
        {
            "cir-mbps": Leaf(int, mandatory=True, check=_range(0, 100_000)),
            "pir-mbps": Leaf(int, mandatory=True, check=_range(1, 100_000)),
        },
        False,
    ),
}

ROUTER_SERVICE = {
    "name": NAME,
    "description": DESCRIPTION,
    "enabled": Leaf(bool, mandatory=True),
    # A BNG terminates subscriber VLANs on its access side: no interface named, its default.
    "subinterface": (
        {
            "interface": Leaf(str, check=_text),
            "vlan-id": Leaf(int, check=_range(1, 4094)),
            "ipv4-address": Leaf(str, check=_ipv4),
            "prefix-length": Leaf(int, check=_range(0, 32)),
        },
        False,
    ),
    "vrf": (
        {
            "name": Leaf(str, mandatory=True, check=_text),
            "route-distinguisher": Leaf(str, check=_route_target),
            "import-route-targets": Leaf(list, check=_route_targets),
            "export-route-targets": Leaf(list, check=_route_targets),
        },
        False,
    ),
    "policer": ({"rate-mbps": Leaf(int, mandatory=True, check=_range(1, 400_000))}, False),
}

GENERIC_SERVICE = {
    "name": NAME,
    "admin-state": Leaf(str, mandatory=True, check=_one_of("locked", "unlocked")),
    "characteristics": Leaf(dict),
}


@dataclass(frozen=True)
class Module:
    """A module's one top container and the list in it, keyed by `name` (the service)."""

    name: str
    container: str
    list_name: str
    schema: dict


MODULES = {
    module.name: module
    for module in (
        Module("lab-olt", "olt", "ont", OLT_ONT),
        Module("lab-router", "router", "service", ROUTER_SERVICE),
        Module("lab-generic", "services", "service", GENERIC_SERVICE),
    )
}


def _validate(node: object, schema: dict, path: str) -> None:
    if not isinstance(node, dict):
        raise ModelError(path, f"{path} must be an object")
    for key in node:
        if key not in schema:
            raise ModelError(f"{path}/{key}", f"unknown node {key}", tag="unknown-element")
    for key, spec in schema.items():
        where = f"{path}/{key}"
        if isinstance(spec, tuple):
            nested, mandatory = spec
            if key in node:
                _validate(node[key], nested, where)
            elif mandatory:
                raise ModelError(where, f"missing mandatory node {key}", tag="missing-element")
            continue
        if key not in node:
            if spec.mandatory:
                raise ModelError(where, f"missing mandatory leaf {key}", tag="missing-element")
            continue
        value = node[key]
        # JSON's true is no integer here, though Python's bool is one.
        wrong_bool = isinstance(value, bool) and spec.kind is not bool
        if wrong_bool or not isinstance(value, spec.kind):
            raise ModelError(where, f"{key}: wrong type {type(value).__name__}")
        problem = spec.check(value) if spec.check else None
        if problem:
            raise ModelError(where, f"{key} {problem}")


def entry_validate(module: Module, key: str, entry: object) -> None:
    """Raise ModelError unless `entry` fits the module's list entry with key `key`."""
    path = f"/{module.name}:{module.container}/{module.list_name}"
    _validate(entry, module.schema, path)
    if entry["name"] != key:
        raise ModelError(f"{path}/name", "the key in the body differs from the key in the URI")
