"""Network drivers, chosen per resource kind."""

from catalog.choices import ResourceKind
from inventory.network.base import NetworkDriver
from inventory.network.labnet import LabNetDriver

# Every kind is driven by the lab network today; a vendor driver replaces one entry.
DRIVERS: dict[str, type[NetworkDriver]] = {kind: LabNetDriver for kind in ResourceKind.values}


def driver_for(resource_kind: str) -> NetworkDriver:
    """The driver that talks to elements of this kind."""
    return DRIVERS[resource_kind]()
