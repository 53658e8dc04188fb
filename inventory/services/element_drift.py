"""Expected against reported: what each element a service is configured on holds for it, read
back through its driver, beside what the inventory expects (`element_config_expected`).

The activation workflow's verify step refuses a difference; the NOC service page shows them.
"""

from collections.abc import Iterable
from dataclasses import dataclass, field

from catalog.choices import ResourceKind
from inventory.models import Resource, Service
from inventory.network import driver_for
from inventory.network.base import NetworkError
from inventory.services.capacity import bandwidth_mbps, held_bindings
from inventory.services.element_config import (
    element_config_expected,
    service_bindings_for_config,
)
from telco.exceptions import DomainError

# The elements a service is configured on (the rest it holds are ports, pools, numbers).
CONFIGURED_KINDS = (ResourceKind.GNB, ResourceKind.SLICE, ResourceKind.OLT, ResourceKind.ROUTER)
# Elements whose configuration model needs what only a decomposed service holds (an ONT and a
# PON port, an interface): configured through a resource-facing service. A service bound to
# one directly (the demo's generated fibre and Ethernet lines) was never configured there.
CONFIGURED_THROUGH_RFS = (ResourceKind.OLT, ResourceKind.ROUTER)


def comparable(key: str, value) -> str:
    """A configured value as it is compared: a bandwidth by its rate ("1Gbps" is "1000Mbps"),
    anything else by its text (a VLAN sent as 7 may come back as "7")."""
    if key == "bandwidth":
        try:
            return str(bandwidth_mbps(value))
        except DomainError:
            return str(value)
    return str(value)


def config_differences(expected: dict, reported: dict, model_keys: Iterable[str] = ()) -> list[str]:
    """The keys whose values differ, sorted: those both sides name with different values,
    and those the element's model holds (`model_keys`) that the inventory expects but the
    element no longer reports (removed on its console). Other keys are not compared: each
    element models a part of the service (an OLT holds no IP address)."""
    differing = {
        key
        for key in expected.keys() & reported.keys()
        if comparable(key, expected[key]) != comparable(key, reported[key])
    }
    missing = {key for key in model_keys if key in expected} - reported.keys()
    return sorted(differing | missing)


@dataclass(frozen=True)
class ConfigRow:
    key: str
    expected: object
    reported: object
    differs: bool


@dataclass
class ElementConfig:
    """One element's configuration of one service: the rows of its model, expected beside
    reported, or why the element could not be read."""

    element: Resource
    service_ref: int
    configured: bool = False
    rows: list[ConfigRow] = field(default_factory=list)
    error: str = ""

    @property
    def differs(self) -> bool:
        return bool(self.error) or not self.configured or any(row.differs for row in self.rows)


def holds_element_config(binding, service: Service) -> bool:
    """Whether `binding` (of `service` or one of its resource-facing children) is to an
    element that holds the configuration of the binding's service."""
    kind = binding.resource.resource_kind
    return kind in CONFIGURED_KINDS and (
        binding.service_id != service.pk or kind not in CONFIGURED_THROUGH_RFS
    )


def configured_bindings(service: Service) -> list:
    """The bindings of `service` (and its resource-facing children) to the elements it is
    configured on: each gives the element and the service whose configuration it holds."""
    return [b for b in held_bindings(service) if holds_element_config(b, service)]


def service_element_configs(service: Service) -> list[ElementConfig]:
    """Every element `service` is configured on, read back now (one driver call each)."""
    result = []
    bindings = service_bindings_for_config(service)
    for binding in configured_bindings(service):
        element = binding.resource
        driver = driver_for(element.resource_kind)
        entry = ElementConfig(element=element, service_ref=binding.service_id)
        try:
            answer = driver.status(element=element.name, service_ref=str(binding.service_id))
        except NetworkError as error:
            entry.error = str(error)
            result.append(entry)
            continue
        entry.configured = answer["configured"]
        expected = element_config_expected(service, resource=element, bindings=bindings)
        reported = answer.get("config") or {}
        model_keys = driver.config_keys if entry.configured else ()
        differing = set(config_differences(expected, reported, model_keys))
        # The model's keys first, then whatever else the element holds (a generic element,
        # a gNB or a slice, keeps every characteristic it was sent).
        keys = [*driver.config_keys, *sorted(reported.keys() - set(driver.config_keys))]
        entry.rows = [
            ConfigRow(key, expected.get(key), reported.get(key), key in differing)
            for key in keys
            if key in expected or key in reported
        ]
        result.append(entry)
    return result
