"""Network drivers, chosen per resource kind: all speak RESTCONF (`inventory.network.restconf`),
each kind with its own configuration model."""

from catalog.choices import ResourceKind
from inventory.network.base import NetworkDriver
from inventory.network.restconf import GenericDriver, OltDriver, RouterDriver

# OLTs and routers (BNG, PE) have models of their own; gNBs, slices and the rest keep the
# generic one (the payload's characteristics as given).
DRIVERS: dict[str, type[NetworkDriver]] = {
    **{kind: GenericDriver for kind in ResourceKind.values},
    ResourceKind.OLT: OltDriver,
    ResourceKind.ROUTER: RouterDriver,
}


def driver_for(resource_kind: str) -> NetworkDriver:
    """The driver that talks to elements of this kind."""
    return DRIVERS[resource_kind]()
