"""Pages that compose by registration: what each app contributes to another app's page.

A page that shows several domains (the customer 360, a site, a piece of equipment) belongs to
the app that owns its object; the other apps register what they add to it, by object type
("crm.customer", "inventory.site", ...), in their `AppConfig.ready()`, as NetBox's template
extensions do for plugins. The owning page renders whatever is registered without importing
the contributors, so imports keep going down the stack.

Three kinds of contribution:
- a `Panel`: a section of the page (its template, and a function reading what it shows);
- a `Column`: a column of a list on the page (an annotation of the list's queryset, and the
  template of its cell);
- a lookup: a plain function another app offers for an extension point named by the owning
  app (for example the customer search asks every "crm.customer_finder" which customers a
  query names).

Templates render them with `{% load panels %}` (telco/templatetags/panels.py). This module
imports no app.
"""

from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from django.db.models import QuerySet

from telco.roles import has_role

ContextFunction = Callable[[Any, Any], dict]


@dataclass(frozen=True)
class Panel:
    """A section another app adds to the page of an object.

    `context(request, obj)` returns what `template` needs, in a fixed number of queries
    whatever the number of rows; `order` places the panel among the others (smallest first);
    `roles`, when given, are the only roles that see it (admins see everything).
    """

    name: str
    title: str
    template: str
    context: ContextFunction = field(default=lambda request, obj: {})
    order: int = 100
    roles: tuple[str, ...] = ()


@dataclass(frozen=True)
class Column:
    """A column another app adds to a list of objects (a count next to each site...).

    `annotate(queryset)` adds what the cell shows to the list's queryset (one subquery, not a
    query per row); `template` renders the cell (`<td>...</td>`) of one `object`.
    """

    name: str
    title: str
    template: str
    annotate: Callable[[QuerySet], QuerySet]
    order: int = 100
    css_class: str = ""
    roles: tuple[str, ...] = ()


_panels: dict[str, list[Panel]] = {}
_columns: dict[str, list[Column]] = {}
_lookups: dict[str, list[Callable]] = {}


def _add(registry: dict[str, list], key: str, item) -> None:
    """Add `item` under `key`, replacing one of the same name (a second `ready()` is harmless)."""
    items = [each for each in registry.get(key, []) if item_name(each) != item_name(item)]
    items.append(item)
    registry[key] = sorted(items, key=lambda each: getattr(each, "order", 0))


def item_name(item) -> str:
    """What identifies a contribution: a panel's or column's name, a function's qualified name."""
    if isinstance(item, Panel | Column):
        return item.name
    return f"{item.__module__}.{item.__qualname__}"


def register(object_type: str, panel: Panel) -> None:
    """Show `panel` on the page of every `object_type` ("crm.customer", "inventory.site"...)."""
    _add(_panels, object_type, panel)


def panels_for(object_type: str) -> list[Panel]:
    """The panels registered for `object_type`, in order (filter them with `may_see`)."""
    return list(_panels.get(object_type, []))


def register_column(object_type: str, column: Column) -> None:
    """Add `column` to the lists of `object_type` ("inventory.site", "inventory.region"...)."""
    _add(_columns, object_type, column)


def columns_for(object_type: str) -> list[Column]:
    """The columns registered for lists of `object_type`, in order (filter with `may_see`)."""
    return list(_columns.get(object_type, []))


def annotate_columns(object_type: str, queryset: QuerySet) -> QuerySet:
    """`queryset` with what every column registered for `object_type` shows."""
    for column in _columns.get(object_type, []):
        queryset = column.annotate(queryset)
    return queryset


def register_lookup(point: str, function: Callable) -> None:
    """Offer `function` at the extension point `point` (named by the app that calls it)."""
    functions = [each for each in _lookups.get(point, []) if item_name(each) != item_name(function)]
    _lookups[point] = [*functions, function]


def lookups_for(point: str) -> list[Callable]:
    """The functions offered at `point`, in registration order (app order in settings)."""
    return list(_lookups.get(point, []))


def may_see(user, roles: Iterable[str]) -> bool:
    """No roles named: everyone who reaches the page; else one of them (or admin)."""
    roles = tuple(roles)
    return not roles or has_role(user, *roles)


def panel_context(panel: Panel, request, obj) -> dict:
    """What `panel`'s template renders: its own context, with `object` and `panel`."""
    return {**panel.context(request, obj), "object": obj, "panel": panel}


def unregister(key: str, name: str) -> None:
    """Take the panel, column or lookup `name` off `key` (an object type or a lookup point):
    for tests, and for an app that replaces another app's contribution."""
    for registry in (_panels, _columns, _lookups):
        if key in registry:
            registry[key] = [each for each in registry[key] if item_name(each) != name]


@contextmanager
def replaced(key: str, *items: Panel | Column | Callable) -> Iterator[None]:
    """Within the block, `key` (an object type or a lookup point) has exactly `items` (panels,
    columns, lookup functions) and nothing else; what it had comes back after. For tests."""
    registries = (_panels, _columns, _lookups)
    saved = [registry.pop(key, None) for registry in registries]
    try:
        for item in items:
            if isinstance(item, Panel):
                register(key, item)
            elif isinstance(item, Column):
                register_column(key, item)
            else:
                register_lookup(key, item)
        yield
    finally:
        for registry, items_before in zip(registries, saved, strict=True):
            registry.pop(key, None)
            if items_before is not None:
                registry[key] = items_before
