"""Reads of the inventory, shaped for the APIs and for other apps."""

from collections.abc import Iterable
from datetime import datetime

from django.db import connection
from django.db.models import (
    Case,
    Count,
    Exists,
    F,
    IntegerField,
    Model,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Coalesce

from catalog import selectors as catalog_selectors
from catalog.choices import ResourceKind
from crm import selectors as crm_selectors
from crm.choices import Segment
from inventory import paths, topology
from inventory.choices import (
    BASE_TYPES,
    EQUIPMENT_KINDS,
    LINK_KINDS,
    POOL_KINDS,
    TMF_TYPES,
    AdministrativeState,
    BindingState,
    OperationalState,
)
from inventory.models import (
    Link,
    ProductInstance,
    ProductStatusChange,
    Region,
    Resource,
    Service,
    ServiceResource,
    Site,
)
from telco import clock
from telco.db import id_array
from telco.ids import parse_id


def _held_capacity() -> Coalesce:
    """Mbit/s held on the outer resource by bindings that are not released."""
    held = (
        ServiceResource.objects.filter(resource=OuterRef("pk"))
        .exclude(state=BindingState.RELEASED)
        .values("resource")
        .annotate(total=Sum("capacity_mbps"))
        .values("total")
    )
    return Coalesce(Subquery(held, output_field=IntegerField()), Value(0))


def customers_city(customer: Model | None) -> str:
    """The city of the customer's address ("" when unknown): a region named like it is theirs."""
    return customer.party.city if customer is not None else ""


def customers_region_sites_sql(site_column: str) -> str:
    """SQL true for a `site_column` at a site of the customer's region (`%(city)s`): the
    written-out `in_customers_region`, for the reservations' statements."""
    site, region = Site._meta.db_table, Region._meta.db_table
    # Names from model metadata; the city is a parameter.
    return (
        f"{site_column} IN (SELECT site.id FROM {site} site JOIN {region} region"  # noqa: S608
        " ON region.id = site.region_id WHERE UPPER(region.name) = UPPER(%(city)s))"
    )


def in_customers_region(customer: Model | None):
    """1 for a resource at a site of the customer's region, else 0: the expression that puts
    a customer's local equipment first. The region is known when one is named like the city
    of their address."""
    city = customers_city(customer)
    if not city:
        return Value(0, output_field=IntegerField())
    return Case(
        When(site__region__name__iexact=city, then=Value(1)),
        default=Value(0),
        output_field=IntegerField(),
    )


def gnb_candidates(*, bandwidth: int, customer: Model | None = None) -> QuerySet[Resource]:
    """gNBs in service with `bandwidth` Mbit/s free, the customer's region first, then the freest.

    The customer's region is known when a region is named like the city of their address.
    """
    is_local = in_customers_region(customer)
    return (
        Resource.objects.filter(
            resource_kind=ResourceKind.GNB,
            administrative_state=AdministrativeState.UNLOCKED,
            operational_state=OperationalState.ENABLE,
        )
        .annotate(free_mbps=F("capacity_mbps") - _held_capacity(), is_local=is_local)
        .filter(free_mbps__gte=bandwidth)
        .order_by("-is_local", "-free_mbps", "pk")
    )


def product_list(*, prices_at: datetime | None = None) -> QuerySet[ProductInstance]:
    """Products with everything TMF637 shows, in a fixed number of queries: the offering and
    its prices in force at `prices_at` (now by default; as `product_offering.prices_in_force`),
    the realising services and the status history."""
    prices = catalog_selectors.prices_in_force(at=prices_at or clock.now())
    return (
        ProductInstance.objects.select_related(
            "customer", "billing_account", "product_offering", "parent"
        )
        .prefetch_related(
            "services",
            Prefetch("product_offering__prices", queryset=prices, to_attr="prices_in_force"),
            Prefetch("bundled_products", queryset=ProductInstance.objects.order_by("pk")),
            Prefetch("history", queryset=ProductStatusChange.objects.order_by("changed_at", "pk")),
        )
        .order_by("-pk")
    )


def service_list() -> QuerySet[Service]:
    """Services with their specification, customer, the resources they hold and their
    resource-facing children (`supportingService`) with theirs."""
    # In binding order (the gNB before the slice on it), so clients see a stable list.
    bindings = (
        ServiceResource.objects.exclude(state=BindingState.RELEASED)
        .select_related("resource")
        .order_by("pk")
    )
    children = (
        Service.objects.select_related("service_specification")
        .prefetch_related(Prefetch("bindings", queryset=bindings, to_attr="held_bindings"))
        .order_by("pk")
    )
    return (
        Service.objects.select_related("service_specification", "product__customer", "parent")
        .prefetch_related(
            Prefetch("bindings", queryset=bindings, to_attr="held_bindings"),
            Prefetch("children", queryset=children, to_attr="supporting_services"),
        )
        .order_by("-pk")
    )


def resource_list() -> QuerySet[Resource]:
    """Resources with their site, parent, specification and utilisation (`with_utilisation`)."""
    return with_utilisation(
        Resource.objects.select_related("site", "parent", "resource_specification")
    ).order_by("pk")


def service_tree_ids(service: Service) -> QuerySet[Service]:
    """The ids of `service` and of its resource-facing children, as a subquery: bindings
    filtered by it are found through the service indexes, where an OR over the binding's
    service and that service's parent scanned every binding in the inventory."""
    return Service.objects.filter(Q(pk=service.pk) | Q(parent_id=service.pk)).values("pk")


def pool_bindings_held(kind: str) -> QuerySet[ServiceResource]:
    """The exclusive bindings not released on members of `kind` (an MSISDN, a SIM...)."""
    return ServiceResource.objects.filter(resource__resource_kind=kind, is_exclusive=True).exclude(
        state=BindingState.RELEASED
    )


def pool_free_members(kind: str, *, pool: Resource | int | None = None) -> QuerySet[Resource]:
    """Members of `kind` in `pool` (a pool or its id; else in any pool of that kind) that are
    unlocked and held by no service, in id order: the next ones to allocate."""
    # One pool is named by its id: the planner then walks its members in id order on their
    # index and stops at the first free one (a pool it cannot see, it sorted every member).
    # Any pool of the kind is a subquery, not a join, so a caller's FOR UPDATE locks the
    # members only.
    in_pools = (
        Q(parent=pool.pk if isinstance(pool, Resource) else pool)
        if pool is not None
        else Q(parent__in=Resource.objects.filter(resource_kind=POOL_KINDS[kind]).values("pk"))
    )
    # Held is asked per candidate (NOT EXISTS on the binding's resource index), not as the
    # set of every member held in every pool of the kind, which grew with the network.
    held = pool_bindings_held(kind).filter(resource=OuterRef("pk"))
    return Resource.objects.filter(
        ~Exists(held),
        in_pools,
        resource_kind=kind,
        administrative_state=AdministrativeState.UNLOCKED,
    ).order_by("pk")


# ---------------------------------------------------------------------------------------------
# Resource inventory: capacity and utilisation, the TMF639 list, impact
# ---------------------------------------------------------------------------------------------


def with_utilisation(resources: QuerySet[Resource]) -> QuerySet[Resource]:
    """`used_mbps` (non-released bindings' capacity), `free_mbps`, `utilisation_percent` (0-100+).

    One correlated subquery per row in the same statement: set-based, whatever the row count.
    """
    return resources.annotate(used_mbps=_held_capacity()).annotate(
        free_mbps=F("capacity_mbps") - F("used_mbps"),
        utilisation_percent=Case(
            When(capacity_mbps=0, then=Value(0)),
            default=F("used_mbps") * 100 / F("capacity_mbps"),
            output_field=IntegerField(),
        ),
    )


def link_load(link_ids: Iterable[int]) -> dict[int, int]:
    """{link id: Mbit/s carried}: what the services downstream of each link hold, one query.

    Each service counts once per link (its largest binding below the link), since a service
    holding a gNB and a slice on it does not send its traffic twice.
    """
    ids = sorted({int(pk) for pk in link_ids})
    if not ids:
        return {}
    placeholders = ", ".join(["%s"] * len(ids))
    sql = f"""
        WITH RECURSIVE
        down(link_id, device_id) AS (
            SELECT link.resource_ptr_id, {topology.A_DEVICE} FROM {topology.LINK} link
            WHERE link.resource_ptr_id IN ({placeholders})
            UNION
            SELECT down.link_id, {topology.A_DEVICE}
            FROM {topology.LINK} link JOIN down ON {topology.Z_DEVICE} = down.device_id
        ),
        under(link_id, id) AS (
            SELECT link_id, device_id FROM down
            UNION
            SELECT under.link_id, child.id
            FROM {topology.RESOURCE} child JOIN under ON child.parent_id = under.id
        ),
        per_service(link_id, service_id, mbps) AS (
            SELECT under.link_id, binding.service_id, MAX(binding.capacity_mbps)
            FROM under JOIN {topology.BINDING} binding ON binding.resource_id = under.id
            WHERE binding.state <> %s
            GROUP BY under.link_id, binding.service_id
        )
        SELECT link_id, SUM(mbps) FROM per_service GROUP BY link_id"""  # noqa: S608
    with connection.cursor() as cursor:
        cursor.execute(sql, [*ids, BindingState.RELEASED])
        carried = {link_id: int(total) for link_id, total in cursor.fetchall()}
    return {pk: carried.get(pk, 0) for pk in ids}


def resource_tmf_list() -> QuerySet[Resource]:
    """What TMF639 shows of every resource, in a fixed number of queries: site, parent, the
    link's ends, a port's links, the links and cables a cable or duct contains."""
    cabling = Resource.objects.filter(
        resource_kind__in=[*LINK_KINDS.values(), ResourceKind.CABLE]
    ).order_by("pk")
    return (
        resource_list()
        .select_related("link__a_end", "link__z_end")
        .prefetch_related(
            Prefetch("links_a", queryset=Link.objects.order_by("pk")),
            Prefetch("links_z", queryset=Link.objects.order_by("pk")),
            Prefetch("children", queryset=cabling, to_attr="contained_cabling"),
        )
    )


def resources_of_type(queryset: QuerySet[Resource], tmf_types: list[str]) -> QuerySet[Resource]:
    """Filter by TMF639 `@type`: a base type (PhysicalResource...) or a kind's own type."""
    condition = Q(pk__in=[])
    for tmf_type in tmf_types:
        if tmf_type == "Resource":
            return queryset
        if tmf_type in BASE_TYPES:
            condition |= Q(category=BASE_TYPES[tmf_type])
        else:
            kinds = [kind for kind, name in TMF_TYPES.items() if name == tmf_type]
            condition |= Q(resource_kind__in=kinds)
    return queryset.filter(condition)


def impact_summary(resource_ids: Iterable[int], *, site_ids: Iterable[int] = ()) -> dict:
    """What a failure of `resource_ids` (devices, cards, ports, links, cables, ducts) or of the
    sites `site_ids` takes down, counted in one statement whatever its size:

    `services` (lazy queryset of the impacted customer-facing services, for a paginated list),
    `service_count`, `customer_count` (distinct), `customers_by_segment` ({segment: count},
    segments with customers only), `resource_count` (resources down: beneath and downstream).
    """
    resource_ids, site_ids = list(resource_ids), list(site_ids)
    counts = topology.impact_counts(resource_ids, site_ids=site_ids)
    segments = counts["segments"]
    return {
        "services": topology.services_depending_on(resource_ids, site_ids=site_ids),
        "service_count": sum(row["services"] for row in segments.values()),
        "customer_count": sum(row["customers"] for row in segments.values()),
        "customers_by_segment": {
            segment: row["customers"]
            for segment, row in sorted(segments.items(), key=str)
            if segment is not None
        },
        "resource_count": counts["resources"],
    }


# Segments in the order the impact view lists them: the customers with SLAs first.
SEGMENT_ORDER = [Segment.ENTERPRISE, Segment.SMALL_BUSINESS, Segment.CONSUMER]


def impact_report(
    resource_ids: Iterable[int], *, site_ids: Iterable[int] = (), customers_listed: int
) -> dict:
    """`impact_summary`, plus what the NOC pages show of it: `links` and `equipment` among the
    resources down (one aggregate), `segments` (every segment, enterprise first, with its count)
    and the first `customers_listed` impacted `customers`, enterprise first, then by name.

    Set-based: a handful of statements for a cut under 10,000 customers.
    """
    resource_ids, site_ids = list(resource_ids), list(site_ids)
    summary = impact_summary(resource_ids, site_ids=site_ids)
    counts = topology.resources_impacted(resource_ids, site_ids=site_ids).aggregate(
        links=Count("pk", filter=Q(resource_kind__in=LINK_KINDS.values())),
        equipment=Count("pk", filter=Q(resource_kind__in=EQUIPMENT_KINDS)),
    )
    by_segment = summary["customers_by_segment"]
    segments = [
        {"segment": segment, "label": segment.label, "count": by_segment.get(segment, 0)}
        for segment in SEGMENT_ORDER
    ]
    segment_rank = Case(
        *[When(segment=segment, then=Value(rank)) for rank, segment in enumerate(SEGMENT_ORDER)],
        default=Value(len(SEGMENT_ORDER)),
        output_field=IntegerField(),
    )
    customers = crm_selectors.customer_rows().filter(
        pk__in=summary["services"].values("product__customer_id")
    )
    listed = customers.annotate(rank=segment_rank).order_by("rank", "name", "pk")
    return {
        **summary,
        **counts,
        "segments": segments,
        "customers": list(listed[:customers_listed]),
    }


def services_with_product() -> QuerySet[Service]:
    """Services with their product and its offering, and their parent service's product (a
    resource-facing service is charged through its parent's product)."""
    return Service.objects.select_related("product__product_offering", "parent__product")


def started_products() -> QuerySet[ProductInstance]:
    """Products that have started (they have a start date), with their offering, in id order."""
    return (
        ProductInstance.objects.filter(start_date__isnull=False)
        .select_related("product_offering")
        .order_by("id")
    )


def product_status_intervals(
    products: Iterable[ProductInstance], *, status: str, before: datetime
) -> dict[int, list[tuple[datetime, datetime | None]]]:
    """Per product id, the intervals [since, until) the product spent in `status` before
    `before` (until None: still in it), read from the products' status history in one query."""
    # The ids as one array parameter (`__any`): a bill-run chunk asks for thousands.
    product_ids = [getattr(product, "pk", product) for product in products]
    rows = (
        ProductStatusChange.objects.filter(product_id__any=product_ids, changed_at__lt=before)
        .filter(Q(to_state=status) | Q(from_state=status))
        .order_by("product_id", "changed_at", "id")
        .values_list("product_id", "from_state", "to_state", "changed_at")
    )
    intervals: dict[int, list[tuple[datetime, datetime | None]]] = {}
    since = {}
    for product_id, from_state, to_state, changed_at in rows:
        if to_state == status:
            since.setdefault(product_id, changed_at)
        elif from_state == status and product_id in since:
            intervals.setdefault(product_id, []).append((since.pop(product_id), changed_at))
    for product_id, started in since.items():
        intervals.setdefault(product_id, []).append((started, None))
    return intervals


def elements_carrying_services(kind: str) -> QuerySet[Resource]:
    """Resources of `kind` (a gNB, an OLT...) that carry at least one active service binding,
    in id order."""
    return (
        Resource.objects.filter(resource_kind=kind, bindings__state=BindingState.ACTIVE)
        .distinct()
        .order_by("pk")
    )


# ---------------------------------------------------------------------------------------------
# A customer's products, services and numbers (the customer 360's inventory panel, the search)
# ---------------------------------------------------------------------------------------------


def held_bindings() -> QuerySet[ServiceResource]:
    """Resources a service holds now (reserved or in use, not released)."""
    return ServiceResource.objects.exclude(state=BindingState.RELEASED)


def held_msisdns() -> QuerySet[ServiceResource]:
    """MSISDN allocations held by a service: a CFS, or an RFS under one (whose product is its
    parent's)."""
    return held_bindings().filter(resource__resource_kind=ResourceKind.MSISDN)


def number_customer_ids(number: str) -> QuerySet:
    """The customer holding the MSISDN `number` (digits), as a one-column values queryset.

    An exact match on the number's unique index (resource kind and value), then primary-key
    joins.
    """
    return (
        held_msisdns()
        .filter(resource__value=number)
        .values(
            customer=Coalesce(
                "service__product__customer_id", "service__parent__product__customer_id"
            )
        )
    )


def customer_products(customer_id: int) -> list[ProductInstance]:
    """The customer's products with offering, account, services and the resources they hold;
    each with `msisdns`, the numbers allocated to it."""
    bindings = held_bindings().select_related("resource")
    services = (
        Service.objects.select_related("service_specification")
        .prefetch_related(Prefetch("bindings", queryset=bindings.order_by("resource__name")))
        .order_by("category", "pk")
    )
    products = list(
        ProductInstance.objects.filter(customer_id=customer_id)
        .select_related("product_offering", "billing_account")
        .prefetch_related(Prefetch("services", queryset=services))
        .order_by("-created_at", "-pk")
    )
    # The MSISDNs each product's services (or the RFS under them) hold, in one query.
    numbers = (
        held_msisdns()
        .filter(
            Q(service__product__customer_id=customer_id)
            | Q(service__parent__product__customer_id=customer_id)
        )
        .values_list(
            Coalesce("service__product_id", "service__parent__product_id"), "resource__value"
        )
        .order_by("resource__value")
    )
    by_product: dict[int, list[str]] = {}
    for product_id, number in numbers:
        by_product.setdefault(product_id, []).append(number)
    for product in products:
        product.msisdns = by_product.get(product.pk, [])
    return products


def customer_services(customer_id: int) -> QuerySet[Service]:
    """The services of the customer's products (not the RFS under them), by id."""
    return Service.objects.filter(product__customer_id=customer_id).order_by("pk")


def resource_by_reference(reference: str) -> Resource | None:
    """The resource an outside system names, by id or by name (element managers know names);
    when one resource has the id and another the name, the id wins. None if neither matches."""
    condition = Q(name=reference)
    if parse_id(reference) is not None:
        condition |= Q(pk=parse_id(reference))
    matches = list(Resource.objects.filter(condition)[:2])
    by_id = [resource for resource in matches if str(resource.pk) == reference]
    return (by_id or matches or [None])[0]


def services_with_customer() -> QuerySet[Service]:
    """Services with their product and its customer, in id order (an alarm's impact)."""
    return Service.objects.select_related("product__customer").order_by("pk")


def products_with_offering() -> QuerySet[ProductInstance]:
    """Products with their customer, billing account and offering (with its specification): to
    look one up by id (the product an order changes)."""
    return ProductInstance.objects.select_related(
        "customer", "billing_account", "product_offering__product_specification"
    )


def services_with_specification() -> QuerySet[Service]:
    """Services with their specification: to look one up by id (the service a TMF641 order
    changes)."""
    return Service.objects.select_related("service_specification")


def resource_ids_by_reference(references: Iterable[str]) -> dict[str, int]:
    """Many outside references at once (`resource_by_reference` for a batch): reference -> the
    resource's id, by id or by name, the id winning; unknown references are left out."""
    references = set(references)
    ids = {parse_id(reference) for reference in references} - {None}
    if connection.vendor == "postgresql":
        # Arrays, not IN (%s, %s, ...): a feed's batch names thousands of elements.
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT id, name FROM {Resource._meta.db_table} "  # noqa: S608
                "WHERE name = ANY(%s::text[]) OR id = ANY(%s::bigint[])",
                [sorted(references), sorted(ids)],
            )
            rows = cursor.fetchall()
    else:
        rows = Resource.objects.filter(Q(name__in=references) | Q(pk__in=ids)).values_list(
            "pk", "name"
        )
    by_name: dict[str, int] = {}
    found_ids = set()
    for pk, name in rows:
        found_ids.add(pk)
        by_name.setdefault(name, pk)
    resolved = {}
    for reference in references:
        pk = parse_id(reference)
        if pk in found_ids and str(pk) == reference:
            resolved[reference] = pk
        elif reference in by_name:
            resolved[reference] = by_name[reference]
    return resolved


def services_depending_on_each(resource_ids: Iterable[int]) -> list[tuple[int, int]]:
    """(resource id, customer-facing service id) for every live service that stands on each of
    `resource_ids`, for the alarms of a batch: one indexed read of the kept service paths
    (`inventory.paths`), which hold every resource a service depends on (what
    `topology.services_depending_on` walks the graph for)."""
    ids = sorted({int(pk) for pk in resource_ids})
    if not ids:
        return []
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT DISTINCT resource_id, service_id FROM {paths.PATH} "  # noqa: S608
            "WHERE resource_id = ANY(%s::bigint[])",
            [id_array(ids)],
        )
        return cursor.fetchall()


def regions() -> QuerySet:
    """The network's regions by name (filters of the NOC pages)."""
    from inventory.models import Region

    return Region.objects.order_by("name")


def service_qualification_list(kind: str = "check") -> QuerySet:
    """TMF645 checks (or queries), newest first, with their items and the specifications they
    name."""
    from inventory.models import ServiceQualification

    return (
        ServiceQualification.objects.filter(kind=kind)
        .prefetch_related("items__service_specification")
        .order_by("-pk")
    )


def sites_with_edge_router() -> QuerySet:
    """Sites an enterprise access can be ordered at (a router stands there), by region, name."""
    from inventory.models import Site

    routers = Resource.objects.filter(resource_kind=ResourceKind.ROUTER, site__isnull=False)
    return (
        Site.objects.filter(pk__in=routers.values("site_id"))
        .select_related("region")
        .order_by("region__name", "name")
    )
