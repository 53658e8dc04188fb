"""What publishes events: each app registers its tables as TMF resources, the kernel finds the
APIs (base paths) from the URL configuration. This module imports no app."""

from collections.abc import Callable
from dataclasses import dataclass
from functools import cache

from django.db.models import QuerySet
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils.module_loading import autodiscover_modules


@dataclass(frozen=True)
class EventResource:
    """A TMF resource whose every change is an event.

    `name` is the TMF resource name (`productOrder`), `model` the Django model behind it,
    `viewset` the endpoint that renders it (its queryset and serializer render the event, its
    routes decide which APIs publish it), `state_field` the model field holding the state
    (None: the resource has no state, every update is an attribute change). `condition` keeps
    the rows of a shared table that are this resource (SQL on the row `{row}`, e.g.
    "{row}.kind = 'individual'"); `queryset`, when the endpoint's depends on its request, is
    the one to read the resource from (else the viewset's own)."""

    name: str
    model: type
    viewset: type
    state_field: str | None = "state"
    condition: str = ""
    queryset: Callable[[], QuerySet] | None = None

    def read_queryset(self) -> QuerySet:
        if self.queryset is not None:
            return self.queryset()
        return self.viewset().get_queryset()

    @property
    def event_prefix(self) -> str:
        """`productOrder` -> `ProductOrder`: the spec's event names start with it."""
        return self.name[0].upper() + self.name[1:]

    @property
    def table(self) -> str:
        return self.model._meta.db_table


_resources: dict[str, EventResource] = {}


def register_resource(resource: EventResource) -> None:
    """Publish the changes of `resource` (called by an app's `api/events.py`)."""
    _resources[resource.name] = resource


def discover() -> None:
    """Import every app's `api/events.py`, once (they register their resources)."""
    _discover_once()


@cache
def _discover_once() -> None:
    autodiscover_modules("api.events")


def resources() -> dict[str, EventResource]:
    discover()
    return dict(_resources)


@dataclass(frozen=True)
class TmfApi:
    """One TMF API base path the product serves (`/tmf-api/<name>/v4/`)."""

    name: str
    base_path: str
    viewsets: tuple[type, ...]

    @property
    def read_roles(self) -> set[str]:
        """Whoever may read one of its resources may listen to it (admins always may)."""
        return {role for viewset in self.viewsets for role in getattr(viewset, "read_roles", ())}

    def resources(self) -> list[EventResource]:
        return [each for each in resources().values() if each.viewset in self.viewsets]


def _walk(patterns, prefix: str = ""):
    for pattern in patterns:
        route = prefix + str(pattern.pattern)
        if isinstance(pattern, URLResolver):
            yield from _walk(pattern.url_patterns, route)
        elif isinstance(pattern, URLPattern):
            yield route, pattern.callback


@cache
def tmf_apis() -> dict[str, TmfApi]:
    """Every `tmf-api/<name>/v4/` base path of the URL configuration, with its viewsets."""
    found: dict[str, tuple[str, list]] = {}
    for route, callback in _walk(get_resolver().url_patterns):
        parts = route.lstrip("^").split("/")
        if len(parts) < 3 or parts[0] != "tmf-api" or not parts[1].isalnum():
            continue
        name = parts[1]
        viewset = getattr(callback, "cls", None)
        base, viewsets = found.setdefault(name, (f"/tmf-api/{name}/v4/", []))
        if viewset is not None and viewset not in viewsets:
            viewsets.append(viewset)
    return {name: TmfApi(name, base, tuple(viewsets)) for name, (base, viewsets) in found.items()}


def apis_of(resource: EventResource) -> list[str]:
    """The APIs that publish `resource` (an alarm: alarmManagement and its spec's alarm)."""
    return sorted(name for name, api in tmf_apis().items() if resource.viewset in api.viewsets)


def event_type(resource_name: str, kind: str) -> str:
    """(`productOrder`, `stateChange`) -> `ProductOrderStateChangeEvent`."""
    return f"{resource_name[0].upper()}{resource_name[1:]}{kind[0].upper()}{kind[1:]}Event"
