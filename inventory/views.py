"""NOC inventory pages: sites, equipment, links, cables, services and what breaks if one fails.

Each page runs a fixed number of queries whatever the number of rows: counts come from
subqueries and aggregates, impact from the topology's recursive CTEs, lists are prefetched and
paginated.

What other apps know about a region, site or piece of equipment (assurance's open alarms and
their counts) comes by registration (telco.panels): the pages render the panels and list
columns registered for "inventory.region", "inventory.site" and "inventory.equipment".
"""

from django.core.paginator import Paginator
from django.db.models import (
    Count,
    IntegerField,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    Value,
)
from django.db.models.functions import Coalesce
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse

from catalog.choices import ResourceKind
from inventory import selectors, topology
from inventory import services as inventory_services
from inventory.choices import EQUIPMENT_KINDS, LINK_KINDS, ResourceCategory, ServiceCategory
from inventory.models import Link, Region, Resource, Service, Site
from telco.ids import parse_id
from telco.panels import annotate_columns

SEARCH_LIMIT = 20
SITES_PER_PAGE = 50
SERVICES_PER_PAGE = 25
CUSTOMERS_LISTED = 50
LINK_KIND_VALUES = tuple(LINK_KINDS.values())
PLANT_KINDS = (ResourceKind.CABLE, ResourceKind.DUCT)


def resource_url(resource: Resource) -> str:
    """The NOC page of any resource: a link's, a cable's or duct's, or the equipment page."""
    if resource.resource_kind in LINK_KIND_VALUES:
        return reverse("inventory:link-detail", args=[resource.pk])
    if resource.resource_kind in PLANT_KINDS:
        return reverse("inventory:cable-detail", args=[resource.pk])
    return reverse("inventory:equipment-detail", args=[resource.pk])


# ---------------------------------------------------------------------------------------------
# Reads shaped for these pages
# ---------------------------------------------------------------------------------------------


def _count(queryset: QuerySet) -> Coalesce:
    """A correlated `COUNT(*)` of `queryset` (already filtered on OuterRef) as an annotation."""
    counted = queryset.order_by().values(group=Value(1)).annotate(total=Count("pk")).values("total")
    return Coalesce(Subquery(counted, output_field=IntegerField()), Value(0))


def _equipment() -> QuerySet[Resource]:
    """Equipment in its own right (a router, a gNB), not a card, port, link or logical resource."""
    return Resource.objects.filter(resource_kind__in=EQUIPMENT_KINDS)


def _sites_with_counts() -> QuerySet[Site]:
    """Sites with `equipment_count` and what the registered columns show."""
    sites = Site.objects.select_related("region").annotate(
        equipment_count=_count(_equipment().filter(site=OuterRef("pk")))
    )
    return annotate_columns("inventory.site", sites).order_by("region__name", "name")


def _regions_with_counts() -> QuerySet[Region]:
    """Regions with `site_count`, `equipment_count` and what the registered columns show."""
    regions = Region.objects.annotate(
        site_count=_count(Site.objects.filter(region=OuterRef("pk"))),
        equipment_count=_count(_equipment().filter(site__region=OuterRef("pk"))),
    )
    return annotate_columns("inventory.region", regions).order_by("name")


def _resources() -> QuerySet[Resource]:
    """Resources with `used_mbps`, `free_mbps` and `utilisation_percent`."""
    return selectors.with_utilisation(
        Resource.objects.select_related("site", "parent").order_by("pk")
    )


def _with_load(links: list[Link]) -> list[Link]:
    """Each link's `load_mbps` (what the services downstream of it carry) and its percent."""
    load = selectors.link_load([link.pk for link in links])
    for link in links:
        link.load_mbps = load.get(link.pk, 0)
        link.load_percent = link.load_mbps * 100 // link.capacity_mbps if link.capacity_mbps else 0
    return links


def _links() -> QuerySet[Link]:
    """Links with both ends, the ends' devices and sites, and the cable and duct they run in."""
    return Link.objects.select_related(
        "a_end__parent",
        "z_end__parent",
        "a_device__site",
        "z_device__site",
        "parent__parent",
    ).order_by("name")


def _riding_services(services: QuerySet[Service]) -> QuerySet[Service]:
    return services.select_related("service_specification", "product__customer").order_by("pk")


def _segment_chart(segments: list[dict]) -> dict:
    """Bars of an inline SVG chart: one per segment, scaled to the largest."""
    largest = max((segment["count"] for segment in segments), default=0) or 1
    bars = [
        {**segment, "width": round(300 * segment["count"] / largest), "y": 26 * index}
        for index, segment in enumerate(segments)
    ]
    return {"bars": bars, "height": 26 * len(segments)}


def _page(request, queryset: QuerySet, per_page: int, *, count: int | None = None):
    paginator = Paginator(queryset, per_page)
    if count is not None:
        # Already counted (the impact summary): saves the paginator a second recursive query.
        paginator.count = count
    return paginator.get_page(request.GET.get("page"))


def _impact_context(request, resource_ids: list[int], site_ids: list[int] = ()) -> dict:
    impact = selectors.impact_report(
        resource_ids, site_ids=site_ids, customers_listed=CUSTOMERS_LISTED
    )
    return {
        "impact": impact,
        "chart": _segment_chart(impact["segments"]),
        "services_page": _page(
            request,
            _riding_services(impact["services"]),
            SERVICES_PER_PAGE,
            count=impact["service_count"],
        ),
    }


# ---------------------------------------------------------------------------------------------
# Index and search
# ---------------------------------------------------------------------------------------------


def _search(query: str) -> dict:
    if not query:
        return {}
    named = Q(name__icontains=query)
    service_pk = parse_id(query)
    services = Service.objects.filter(named | Q(pk=service_pk) if service_pk else named)
    resources = Resource.objects.select_related("site").filter(
        Q(name__icontains=query) | Q(serial_number__iexact=query) | Q(value__iexact=query)
    )
    return {
        "sites": list(
            Site.objects.select_related("region")
            .filter(Q(name__icontains=query) | Q(address__icontains=query))
            .order_by("name")[:SEARCH_LIMIT]
        ),
        "equipment": list(
            resources.exclude(resource_kind__in=(*LINK_KIND_VALUES, *PLANT_KINDS)).order_by("name")[
                :SEARCH_LIMIT
            ]
        ),
        "links": list(_links().filter(name__icontains=query)[:SEARCH_LIMIT]),
        "cables": list(
            resources.filter(resource_kind__in=PLANT_KINDS).order_by("name")[:SEARCH_LIMIT]
        ),
        "services": list(
            services.select_related("product__customer").order_by("pk")[:SEARCH_LIMIT]
        ),
    }


def inventory_index(request):
    """Search the inventory; regions and their sites with equipment and open alarm counts."""
    query = request.GET.get("q", "").strip()
    sites = _sites_with_counts()
    region = None
    if parse_id(request.GET.get("region", "")) is not None:
        region = get_object_or_404(Region, pk=parse_id(request.GET["region"]))
        sites = sites.filter(region=region)
    context = {
        "query": query,
        "results": _search(query),
        "limit": SEARCH_LIMIT,
        "regions": list(_regions_with_counts()),
        "region": region,
        "sites_page": _page(request, sites, SITES_PER_PAGE),
    }
    return render(request, "inventory/index.html", context)


# ---------------------------------------------------------------------------------------------
# Site and equipment
# ---------------------------------------------------------------------------------------------


def site_detail(request, pk: int):
    """A site: where it is, the equipment there with its utilisation, and the registered
    panels (its open alarms)."""
    site = get_object_or_404(Site.objects.select_related("region"), pk=pk)
    equipment = _resources().filter(site=site, resource_kind__in=EQUIPMENT_KINDS)
    equipment = annotate_columns("inventory.equipment", equipment).order_by("name")
    context = {"site": site, "equipment": list(equipment)}
    return render(request, "inventory/site_detail.html", context)


def _tree(root: Resource, descendants: list[Resource]) -> list[Resource]:
    """Descendants in depth-first order, each with its `depth` below `root` (from one query)."""
    children: dict[int, list[Resource]] = {}
    for resource in descendants:
        children.setdefault(resource.parent_id, []).append(resource)
    ordered = []

    def visit(parent_id: int, depth: int) -> None:
        # Cards and ports by position, then what is allocated on the equipment (slices...).
        ranked = sorted(
            children.get(parent_id, []),
            key=lambda r: (r.category != ResourceCategory.PHYSICAL, r.position, r.name, r.pk),
        )
        for child in ranked:
            child.depth = depth
            ordered.append(child)
            visit(child.pk, depth + 1)

    visit(root.pk, 1)
    return ordered


def _link_from(link: Link, *, device_id: int) -> Link:
    """The link seen from a device: `near` is its own end, `far` the other end and device."""
    if (link.a_device_id or link.a_end_id) == device_id:
        link.near, link.far, link.far_device = link.a_end, link.z_end, link.z_device
        link.direction = "uplink"
    else:
        link.near, link.far, link.far_device = link.z_end, link.a_end, link.a_device
        link.direction = "downlink"
    link.far_device = link.far_device or link.far
    return link


def equipment_detail(request, pk: int):
    """Equipment (or a card, port, logical resource): parts, links, services on it, and the
    registered panels (the open alarms on it and inside it)."""
    try:
        resource = _resources().get(pk=pk)
    except Resource.DoesNotExist:
        raise Http404 from None
    if resource.resource_kind in (*LINK_KIND_VALUES, *PLANT_KINDS):
        return redirect(resource_url(resource))
    under = topology.resources_under([resource.pk])
    descendants = list(_resources().filter(pk__in=under.values("pk")).exclude(pk=resource.pk))
    links = _with_load(
        [
            _link_from(link, device_id=resource.pk)
            for link in _links().filter(
                Q(a_device=resource)
                | Q(z_device=resource)
                | Q(a_end__in=under)
                | Q(z_end__in=under)
            )
        ]
    )
    services = _riding_services(topology.services_depending_on([resource.pk]))
    context = {
        "resource": resource,
        "parts": _tree(resource, descendants),
        "links": links,
        "services_page": _page(request, services, SERVICES_PER_PAGE),
    }
    return render(request, "inventory/equipment_detail.html", context)


# ---------------------------------------------------------------------------------------------
# Links, cables and impact
# ---------------------------------------------------------------------------------------------


def link_detail(request, pk: int):
    """A link: its two ends, medium, cable and duct, utilisation, and the services riding it."""
    link = get_object_or_404(_links(), pk=pk)
    _with_load([link])
    context = {
        "link": link,
        "ends": [
            {"label": "A (downstream)", "port": link.a_end, "device": link.a_device or link.a_end},
            {"label": "Z (upstream)", "port": link.z_end, "device": link.z_device or link.z_end},
        ],
        "cable": link.parent,
        **_impact_context(request, [link.pk]),
    }
    return render(request, "inventory/link_detail.html", context)


def cable_detail(request, pk: int):
    """A cable (or duct) and what breaks if it is cut: links, equipment, services, customers."""
    cable = get_object_or_404(
        Resource.objects.select_related("parent").filter(resource_kind__in=PLANT_KINDS), pk=pk
    )
    links = _links().filter(pk__in=topology.resources_under([cable.pk]).values("pk"))
    context = {
        "cable": cable,
        "medium": (cable.characteristics or {}).get("medium", ""),
        "cables": list(cable.children.filter(resource_kind=ResourceKind.CABLE).order_by("name")),
        "links": _with_load(list(links)),
        **_impact_context(request, [cable.pk]),
    }
    return render(request, "inventory/cable_detail.html", context)


def resource_impact(request, pk: int | None = None):
    """What breaks if this resource (a device, card, port, link, cable) or a whole site fails."""
    site = resource = None
    if pk is None and parse_id(request.GET.get("site", "")) is not None:
        site = get_object_or_404(Site, pk=parse_id(request.GET["site"]))
        context = _impact_context(request, [], [site.pk])
    else:
        raw = pk if pk is not None else request.GET.get("resource", "")
        if parse_id(raw) is None:
            raise Http404("Name a resource (?resource=<id>) or a site (?site=<id>).")
        resource = get_object_or_404(Resource.objects.select_related("site"), pk=parse_id(raw))
        resource.page_url = resource_url(resource)
        context = _impact_context(request, [resource.pk])
    return render(request, "inventory/impact.html", {"resource": resource, "site": site, **context})


# ---------------------------------------------------------------------------------------------
# Service
# ---------------------------------------------------------------------------------------------


def service_detail(request, pk: int):
    """A service: its RFS children, characteristics, history and the path it takes."""
    children = Service.objects.select_related("service_specification").order_by("pk")
    service = get_object_or_404(
        Service.objects.select_related(
            "service_specification", "product__customer", "parent"
        ).prefetch_related(Prefetch("children", queryset=children), "history"),
        pk=pk,
    )
    path = list(topology.service_path(service.pk))
    links = list(Link.objects.filter(pk__in=[resource.pk for resource in path]))
    context = {
        "service": service,
        "is_customer_facing": service.category == ServiceCategory.CUSTOMER_FACING,
        "characteristics": sorted((service.characteristics or {}).items()),
        "chains": _path_chains(path, links),
    }
    return render(request, "inventory/service_detail.html", context)


def service_element_config(request, pk: int):
    """What each element the service is configured on reports holding for it, beside what the
    inventory expects, differences marked. Read from the network at each request (a fragment
    the service page loads after it shows, so a slow element never holds the page up)."""
    service = get_object_or_404(Service.objects.select_related("parent"), pk=pk)
    root = service.parent if service.parent_id else service
    configs = inventory_services.service_element_configs(root)
    context = {
        "service": root,
        "configs": configs,
        "differing": sum(1 for config in configs if config.differs),
    }
    return render(request, "inventory/_element_config.html", context)


def _hop(kind: str, item, **extra) -> dict:
    is_site = kind == "site"
    url = reverse("inventory:site-detail", args=[item.pk]) if is_site else resource_url(item)
    return {"kind": kind, "item": item, "url": url, **extra}


def _path_chains(path: list[Resource], links: list[Link]) -> list[list[dict]]:
    """The path as ordered chains, from the equipment the service is on toward the core.

    site → equipment → what it holds there → card → port → link (cable) → port → card →
    next equipment (and its site when it changes) → … One chain per starting device and per
    branch where a device has more than one uplink on the path.
    """
    by_id = {resource.pk: resource for resource in path}
    link_ids = {link.pk for link in links}

    def top(resource: Resource) -> Resource:
        while resource.parent_id in by_id and resource.pk not in link_ids:
            resource = by_id[resource.parent_id]
        return resource

    devices = [
        resource
        for resource in path
        if resource.parent_id not in by_id
        and resource.pk not in link_ids
        and resource.resource_kind not in PLANT_KINDS
    ]
    uplinks: dict[int, list[Link]] = {}
    for link in links:
        uplinks.setdefault(link.a_device_id or link.a_end_id, []).append(link)
    upstream = {link.z_device_id or link.z_end_id for link in links}
    link_parts = set()
    for link in links:
        for end_id in (link.a_end_id, link.z_end_id):
            link_parts.add(end_id)
            end = by_id.get(end_id)
            if end is not None and end.parent_id in by_id:
                link_parts.add(end.parent_id)

    def parts_toward(end_id: int, device: Resource, *, going_up: bool) -> list[dict]:
        """The card and port between a device and a link end, in walking order."""
        hops = []
        resource = by_id.get(end_id)
        while resource is not None and resource.pk != device.pk:
            hops.append(_hop(resource.resource_kind, resource))
            resource = by_id.get(resource.parent_id)
        return list(reversed(hops)) if going_up else hops

    chains = []

    def walk(device: Resource, trail: list[dict], seen: set[int]) -> None:
        trail = list(trail)
        previous_site = next(
            (hop["item"].site_id for hop in reversed(trail) if hop["kind"] == "device"), None
        )
        if device.site is not None and device.site_id != previous_site:
            trail.append(_hop("site", device.site))
        trail.append(_hop("device", device))
        held = [
            resource
            for resource in path
            if resource.pk != device.pk
            and resource.pk not in link_ids
            and resource.pk not in link_parts
            and resource.resource_kind not in PLANT_KINDS
            and top(resource).pk == device.pk
        ]
        trail += [_hop(r.resource_kind, r) for r in sorted(held, key=lambda r: (r.name, r.pk))]
        onward = [link for link in uplinks.get(device.pk, []) if link.pk not in seen]
        if not onward:
            chains.append(trail)
        for link in sorted(onward, key=lambda link: (link.name, link.pk)):
            cable = by_id.get(link.parent_id)
            following = by_id.get(link.z_device_id or link.z_end_id)
            hops = parts_toward(link.a_end_id, device, going_up=True)
            hops.append(_hop("link", link, cable=cable))
            if following is not None:
                hops += parts_toward(link.z_end_id, following, going_up=False)
                walk(following, trail + hops, seen | {link.pk})
            else:
                chains.append(trail + hops)

    starts = [device for device in devices if device.pk not in upstream] or devices[:1]
    for device in sorted(starts, key=lambda d: (d.site.name if d.site else "", d.name, d.pk)):
        walk(device, [], set())
    return chains
