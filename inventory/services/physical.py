"""Physical inventory: equipment, cards, ports, ducts, cables and the links between ports; the
rules for a part and a link, shared with the CSV import."""

from django.db import models, transaction

from catalog.choices import ResourceKind
from inventory import paths
from inventory.choices import EQUIPMENT_KINDS, LINK_KINDS, LinkMedium, ResourceCategory
from inventory.models import Link, Resource, Site
from inventory.services.resources import resource_name_ensure_free
from telco.exceptions import DomainError

# What a card or a port may be fitted into: network equipment, not the customer's ONT.
FITTED_KINDS = tuple(kind for kind in EQUIPMENT_KINDS if kind != ResourceKind.ONT)
PART_PARENTS = {
    ResourceKind.CARD: FITTED_KINDS,
    ResourceKind.PORT: (ResourceKind.CARD, *FITTED_KINDS),
}
POSITION_LENGTH = Resource._meta.get_field("position").max_length


def part_problems(
    *, kind: str, parent: Resource | None, position: str, position_taken: bool
) -> list[tuple[str, str]]:
    """Why a card or port cannot go into `position` of `parent`, as ("parent"|"position",
    message) pairs; empty when it can. `position_taken`: the parent already has something there.

    The one rule for a part, whoever fits it: the services below (and so TMF639 POST) and the
    CSV import, which finds the taken positions of a whole file in one query.
    """
    problems = []
    allowed = PART_PARENTS[kind]
    if parent is None:
        problems.append(("parent", f"A {kind} goes into one of: {', '.join(allowed)}."))
    elif parent.resource_kind not in allowed:
        problems.append(
            (
                "parent",
                f"{parent.name} is a {parent.resource_kind}: a {kind} goes into one of: "
                f"{', '.join(allowed)}.",
            )
        )
    if not position:
        problems.append(("position", f"A {kind} needs a position in its parent."))
    elif len(position) > POSITION_LENGTH:
        problems.append(("position", f"At most {POSITION_LENGTH} characters."))
    elif parent is not None and position_taken:
        problems.append(("position", f"{parent.name} already has something in '{position}'."))
    return problems


def _part_create(
    *,
    kind: str,
    parent: Resource | None,
    position: str,
    name: str,
    field_names: dict[str, str],
    **values,
) -> Resource:
    """Fit a card or port into `parent` at `position` after `part_problems`, which are raised
    under the caller's `field_names`; the parent is locked, so two requests cannot both take
    the same free position."""
    if parent is not None:
        parent = Resource.objects.select_for_update().get(pk=parent.pk)
    taken = (
        parent is not None
        and bool(position)
        and Resource.objects.filter(parent=parent, position=position).exists()
    )
    problems = part_problems(kind=kind, parent=parent, position=position, position_taken=taken)
    if problems:
        field, message = problems[0]
        raise DomainError(message, field=field_names.get(field, field))
    name = name or f"{parent.name}/{position}"
    resource_name_ensure_free(name)
    return Resource.objects.create(
        name=name,
        resource_kind=kind,
        category=ResourceCategory.PHYSICAL,
        parent=parent,
        site_id=parent.site_id,
        position=position,
        **values,
    )


def _physical_create(*, name: str, resource_kind: str, **fields) -> Resource:
    """A physical resource under a name no resource has."""
    resource_name_ensure_free(name)
    return Resource.objects.create(
        name=name, resource_kind=resource_kind, category=ResourceCategory.PHYSICAL, **fields
    )


@transaction.atomic
def equipment_create(
    *,
    name: str,
    resource_kind: str,
    site: Site,
    vendor: str = "",
    model: str = "",
    serial_number: str = "",
    capacity_mbps: int = 0,
    resource_specification=None,
) -> Resource:
    """Install a piece of equipment (router, switch, OLT, gNB/eNB, core function) at a site."""
    if resource_kind not in EQUIPMENT_KINDS:
        raise DomainError(f"'{resource_kind}' is not an equipment role.", field="resource_kind")
    return _physical_create(
        name=name,
        resource_kind=resource_kind,
        site=site,
        vendor=vendor,
        model=model,
        serial_number=serial_number,
        capacity_mbps=capacity_mbps,
        resource_specification=resource_specification,
    )


@transaction.atomic
def part_create(
    *,
    kind: str,
    parent: Resource | None,
    position: str,
    name: str = "",
    model: str = "",
    capacity_mbps: int = 0,
    serial_number: str = "",
    resource_specification=None,
    characteristics: dict | None = None,
) -> Resource:
    """Fit a card or a port (`kind`) into `parent` at `position` (see `part_problems`), for
    callers that learn the kind from their input (TMF639 POST). A card takes its equipment's
    vendor and `model`. `DomainError` names `parent` or `position` (or `name`)."""
    if kind not in PART_PARENTS:
        raise DomainError(f"A {kind} is not a card or a port.", field="resource_kind")
    card = {}
    if kind == ResourceKind.CARD:
        card = {"model": model, "vendor": parent.vendor if parent is not None else ""}
    return _part_create(
        kind=kind,
        parent=parent,
        position=position,
        name=name,
        field_names={},
        capacity_mbps=capacity_mbps,
        serial_number=serial_number,
        resource_specification=resource_specification,
        characteristics=characteristics or {},
        **card,
    )


@transaction.atomic
def card_create(
    *,
    equipment: Resource | None,
    slot: str,
    name: str = "",
    model: str = "",
    capacity_mbps: int = 0,
    serial_number: str = "",
    resource_specification=None,
    characteristics: dict | None = None,
) -> Resource:
    """Insert a card into a free slot of a piece of equipment (see `part_problems`).

    `DomainError` names `equipment` or `slot` (or `name`) when it cannot.
    """
    return _part_create(
        kind=ResourceKind.CARD,
        parent=equipment,
        position=slot,
        name=name,
        field_names={"parent": "equipment", "position": "slot"},
        model=model,
        vendor=equipment.vendor if equipment is not None else "",
        capacity_mbps=capacity_mbps,
        serial_number=serial_number,
        resource_specification=resource_specification,
        characteristics=characteristics or {},
    )


@transaction.atomic
def port_create(
    *,
    parent: Resource | None,
    position: str,
    capacity_mbps: int,
    name: str = "",
    serial_number: str = "",
    resource_specification=None,
    characteristics: dict | None = None,
) -> Resource:
    """A port in a free position of a card (or directly on equipment), with its line rate in
    Mbit/s (see `part_problems`). `DomainError` names `parent` or `position` (or `name`)."""
    return _part_create(
        kind=ResourceKind.PORT,
        parent=parent,
        position=position,
        name=name,
        field_names={},
        capacity_mbps=capacity_mbps,
        serial_number=serial_number,
        resource_specification=resource_specification,
        characteristics=characteristics or {},
    )


@transaction.atomic
def duct_create(*, name: str, characteristics: dict | None = None) -> Resource:
    """A duct that cables are pulled through."""
    return _physical_create(
        name=name,
        resource_kind=ResourceKind.DUCT,
        characteristics=characteristics or {},
    )


@transaction.atomic
def cable_create(
    *,
    name: str,
    medium: str = LinkMedium.FIBRE,
    duct: Resource | None = None,
    characteristics: dict | None = None,
) -> Resource:
    """A fibre or copper cable, optionally in a duct; the links it carries are its children."""
    if medium not in (LinkMedium.FIBRE, LinkMedium.COPPER):
        raise DomainError("A cable is fibre or copper.", field="medium")
    if duct is not None and duct.resource_kind != ResourceKind.DUCT:
        raise DomainError(f"{duct.name} is not a duct.", field="duct")
    return _physical_create(
        name=name,
        resource_kind=ResourceKind.CABLE,
        parent=duct,
        characteristics={"medium": medium, **(characteristics or {})},
    )


def devices_of(resource_ids: list[int]) -> dict[int, int]:
    """{resource id: id of the equipment it is part of} (the top of its parent chain)."""
    device = {pk: pk for pk in resource_ids}
    parents = dict(Resource.objects.filter(pk__in=resource_ids).values_list("pk", "parent_id"))
    # One query per level of nesting (equipment > card > port: two), not one per resource.
    while any(parents.values()):
        for pk, parent_id in parents.items():
            if parent_id is not None:
                device[pk] = parent_id
        parents = dict(
            Resource.objects.filter(pk__in=set(device.values())).values_list("pk", "parent_id")
        )
        parents = {pk: parents[device[pk]] for pk in device if parents.get(device[pk])}
    return device


def link_problems(
    *, a_end: Resource, z_end: Resource, medium: str, cable: Resource | None
) -> list[tuple[str, str]]:
    """Why a link cannot be made, as (field, message) pairs; empty when it can."""
    problems = []
    if medium not in LinkMedium.values:
        problems.append(("medium", f"'{medium}' is not one of {', '.join(LinkMedium.values)}."))
    if a_end.pk == z_end.pk:
        problems.append(("z_end", "A link joins two different ports."))
    for field, end in (("a_end", a_end), ("z_end", z_end)):
        if end.resource_kind not in (ResourceKind.PORT, *EQUIPMENT_KINDS):
            problems.append((field, f"{end.name} is not a port."))
    if medium == LinkMedium.MICROWAVE and cable is not None:
        problems.append(("cable", "A microwave link runs in no cable."))
    if cable is not None:
        if cable.resource_kind != ResourceKind.CABLE:
            problems.append(("cable", f"{cable.name} is not a cable."))
        elif cable.characteristics.get("medium", medium) != medium:
            cable_medium = cable.characteristics["medium"]
            problems.append(("cable", f"{cable.name} is a {cable_medium} cable."))
    return problems


@transaction.atomic
def link_create(
    *,
    name: str,
    a_end: Resource,
    z_end: Resource,
    medium: str = LinkMedium.FIBRE,
    capacity_mbps: int = 10_000,
    cable: Resource | None = None,
) -> Link:
    """Join two ports: `a_end` downstream (access side), `z_end` upstream (toward the core)."""
    problems = link_problems(a_end=a_end, z_end=z_end, medium=medium, cable=cable)
    if problems:
        field, message = problems[0]
        raise DomainError(message, field=field)
    resource_name_ensure_free(name)
    taken = Link.objects.filter(
        models.Q(a_end__in=[a_end, z_end]) | models.Q(z_end__in=[a_end, z_end]),
        a_end__resource_kind=ResourceKind.PORT,
    )
    busy = {link.a_end_id for link in taken} | {link.z_end_id for link in taken}
    for field, end in (("a_end", a_end), ("z_end", z_end)):
        if end.resource_kind == ResourceKind.PORT and end.pk in busy:
            raise DomainError(f"Port {end.name} already has a link.", field=field)
    devices = devices_of([a_end.pk, z_end.pk])
    link = Link.objects.create(
        name=name,
        resource_kind=LINK_KINDS[medium],
        category=ResourceCategory.PHYSICAL,
        parent=cable,
        a_end=a_end,
        z_end=z_end,
        a_device_id=devices[a_end.pk],
        z_device_id=devices[z_end.pk],
        medium=medium,
        capacity_mbps=capacity_mbps,
    )
    # Services standing on the downstream device gain a route (a second one: redundancy).
    paths.service_paths_rebuild_through([devices[a_end.pk], devices[z_end.pk]])
    return link
