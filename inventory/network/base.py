"""The network boundary: one driver interface, chosen per resource kind, and its errors."""

from abc import ABC, abstractmethod


class NetworkError(Exception):
    """A network element refused or did not answer a request."""


class TransientNetworkError(NetworkError):
    """Worth retrying: the element is busy, flapping or briefly unreachable."""


class NetworkTimeout(TransientNetworkError):
    """The element did not answer in time."""


class PermanentNetworkError(NetworkError):
    """Retrying cannot help: the element rejects the request."""


class NetworkDriver(ABC):
    """What the activation workflow asks of a network element manager.

    Every change carries the caller's idempotency key: the same key twice changes the element once.
    """

    # The generic payload keys the element's model holds, as `status` reports them in "config"
    # (what a page compares with what inventory expects).
    config_keys: tuple[str, ...] = ()

    @abstractmethod
    def activate(
        self, *, element: str, idempotency_key: str, service_ref: str, payload: dict
    ) -> dict:
        """Apply a service's configuration to the element."""

    @abstractmethod
    def modify(
        self, *, element: str, idempotency_key: str, service_ref: str, payload: dict
    ) -> dict:
        """Change a service's configuration on the element."""

    @abstractmethod
    def deactivate(self, *, element: str, idempotency_key: str, service_ref: str) -> dict:
        """Remove a service's configuration from the element."""

    @abstractmethod
    def status(self, *, element: str, service_ref: str) -> dict:
        """What the element holds for the service: {"element", "configured": bool, "config":
        {generic key: value as the element reports it}}."""

    @abstractmethod
    def running_configs(self, *, element: str) -> dict[str, dict]:
        """The element's whole running configuration of this driver's model, read in one call:
        {service_ref: {generic key: value}}, each entry as `status` reports its "config"
        (what reconciliation compares with the inventory, element by element)."""
