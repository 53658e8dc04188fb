"""Impact queries over the topology: what lies under a resource, what depends on it.

The dependency graph is product -> CFS -> RFS -> resources -> (parent) cards, ports -> links ->
cables -> ducts, and equipment -> uplinks toward the core. A link's `a_end` is its downstream
(access) side and `z_end` its upstream side, so "downstream of a link" is its `a_device` and
everything whose uplink chain reaches that device; a cable or duct contains its links as
children. A failure of resources, a cable, a site or a device therefore spreads:

1. `failed`: the resources named (or every resource at the sites named) and all beneath them;
2. `cut`: the downstream device of every link that failed (the link row itself, or a port at
   either end), then, recursively, every device whose uplink's upstream device is cut;
3. `dead`: `failed`, `cut` and everything beneath cut devices (their cards, ports, slices);
4. the services holding a binding on a dead resource, and the services above them.

Each question is one recursive CTE evaluated by the database (PostgreSQL in production, SQLite in
the embedded demo; both speak `WITH RECURSIVE`), so a fibre cut under 10,000 customers costs one
query, not a walk over objects in Python. The walks follow indexed foreign keys only:
`Resource.parent`, the link ends' devices, `ServiceResource.(resource, state)`,
`ServiceResource.service` and `Service.parent`. The results are lazy querysets filtered by
`pk IN (<cte>)`, so callers can still add `select_related`/`prefetch_related` and the whole
question stays one statement.
"""

from collections.abc import Iterable

from django.db import connection
from django.db.models import F, Lookup, QuerySet
from django.db.models.expressions import RawSQL

from inventory.choices import BindingState, ServiceCategory
from inventory.models import Link, ProductInstance, Resource, Service, ServiceResource

RESOURCE = Resource._meta.db_table
LINK = Link._meta.db_table
# A link's devices, falling back to its ends for links recorded without them.
A_DEVICE = "COALESCE(link.a_device_id, link.a_end_id)"
Z_DEVICE = "COALESCE(link.z_device_id, link.z_end_id)"
SERVICE = Service._meta.db_table
BINDING = ServiceResource._meta.db_table
PRODUCT = ProductInstance._meta.db_table
# The customers' table, reached through the product's relation (crm's models are not imported).
CUSTOMER = ProductInstance._meta.get_field("customer").related_model._meta.db_table


def _id_list(ids: Iterable) -> list[int]:
    return sorted({int(value) for value in ids})


def _placeholders(ids: list[int]) -> str:
    # An empty IN () is not valid SQL; NULL matches nothing, which is the right answer.
    return ", ".join(["%s"] * len(ids)) if ids else "NULL"


class _AnyOf(Lookup):
    """`pk` among the ids the CTE selects: `pk = ANY(ARRAY(<cte>))` on PostgreSQL.

    The array is an init plan evaluated once, and the outer table is then read by primary key;
    a plain `IN (<cte>)` lets the planner, misled by the recursive CTE's row estimates, pick a
    nested loop that rescans the CTE for every row. SQLite gets the plain `IN`.
    """

    lookup_name = "any_of_cte"
    prepare_rhs = False

    def as_sql(self, compiler, connection):
        lhs, lhs_params = self.process_lhs(compiler, connection)
        rhs, rhs_params = self.process_rhs(compiler, connection)
        if connection.vendor == "postgresql":
            return f"{lhs} = ANY(ARRAY{rhs})", [*lhs_params, *rhs_params]
        return f"{lhs} IN {rhs}", [*lhs_params, *rhs_params]


def _pk_in(query: str, params: list) -> _AnyOf:
    """A filter: the row's primary key is one of the ids the CTE's SELECT returns, evaluated
    inside the caller's query (so callers may still add select_related and the like)."""
    # Only table names (model metadata) and placeholders are formatted into the text; every
    # value is a parameter.
    return _AnyOf(F("pk"), RawSQL(query, params))  # noqa: S611


def _subtree_cte(ids: list[int]) -> tuple[str, list]:
    """`subtree(id)`: the given resources and every resource beneath them via `parent`."""
    sql = f"""
        subtree(id) AS (
            SELECT id FROM {RESOURCE} WHERE id IN ({_placeholders(ids)})
            UNION
            SELECT child.id FROM {RESOURCE} child JOIN subtree ON child.parent_id = subtree.id
        )"""  # noqa: S608 - see _pk_in
    return sql, list(ids)


def resources_under(resource_ids: Iterable) -> QuerySet[Resource]:
    """The resources `resource_ids` and all their descendants (a gNB and its slices...)."""
    ids = _id_list(resource_ids)
    cte, params = _subtree_cte(ids)
    subquery = f"WITH RECURSIVE {cte} SELECT id FROM subtree"  # noqa: S608 - see _pk_in
    return Resource.objects.filter(_pk_in(subquery, params))


def _dead_ctes(ids: list[int], site_ids: list[int]) -> tuple[str, list]:
    """`failed`, `cut` and `dead(id)`: everything a failure of resources/sites takes down."""
    sql = f"""
        failed(id) AS (
            SELECT id FROM {RESOURCE}
            WHERE id IN ({_placeholders(ids)}) OR site_id IN ({_placeholders(site_ids)})
            UNION
            SELECT child.id FROM {RESOURCE} child JOIN failed ON child.parent_id = failed.id
        ),
        cut(id) AS (
            SELECT {A_DEVICE} FROM {LINK} link
            WHERE link.resource_ptr_id IN (SELECT id FROM failed)
               OR link.a_end_id IN (SELECT id FROM failed)
               OR link.z_end_id IN (SELECT id FROM failed)
            UNION
            SELECT {A_DEVICE} FROM {LINK} link JOIN cut ON {Z_DEVICE} = cut.id
        ),
        dead(id) AS (
            SELECT id FROM (SELECT id FROM failed UNION SELECT id FROM cut) seeds
            UNION
            SELECT child.id FROM {RESOURCE} child JOIN dead ON child.parent_id = dead.id
        )"""  # noqa: S608 - see _pk_in
    return sql, [*ids, *site_ids]


def resources_impacted(resource_ids: Iterable, *, site_ids: Iterable = ()) -> QuerySet[Resource]:
    """What fails with `resource_ids` (or the sites `site_ids`): beneath them and downstream."""
    cte, params = _dead_ctes(_id_list(resource_ids), _id_list(site_ids))
    subquery = f"WITH RECURSIVE {cte} SELECT id FROM dead"  # noqa: S608 - see _pk_in
    return Resource.objects.filter(_pk_in(subquery, params))


def _dependent_ctes(resource_ids: Iterable, site_ids: Iterable) -> tuple[str, list]:
    """`failed`, `cut`, `dead` and `dependent(id, parent_id, category)`: every service holding
    a dead resource, and every service above those."""
    cte, params = _dead_ctes(_id_list(resource_ids), _id_list(site_ids))
    sql = f"""{cte},
        dependent(id, parent_id, category) AS (
            SELECT service.id, service.parent_id, service.category
            FROM {SERVICE} service
            JOIN {BINDING} binding ON binding.service_id = service.id
            JOIN dead ON binding.resource_id = dead.id
            WHERE binding.state <> %s
            UNION
            SELECT above.id, above.parent_id, above.category
            FROM {SERVICE} above JOIN dependent ON above.id = dependent.parent_id
        )"""  # noqa: S608 - see _pk_in
    return sql, [*params, BindingState.RELEASED]


def services_depending_on(resource_ids: Iterable, *, site_ids: Iterable = ()) -> QuerySet[Service]:
    """Customer-facing services that depend on any of `resource_ids` (or the sites `site_ids`).

    A resource may be a device, card, port, link, cable or duct: what lies beneath it fails,
    and so does everything downstream of the links it takes down (see the module docstring).
    A service depends on a dead resource when it, or a resource-facing service below it, holds
    a binding on it that is not released; the walk goes up `Service.parent` to the CFS.
    """
    cte, params = _dependent_ctes(resource_ids, site_ids)
    subquery = f"WITH RECURSIVE {cte} SELECT id FROM dependent WHERE category = %s"  # noqa: S608
    params.append(ServiceCategory.CUSTOMER_FACING)
    return Service.objects.filter(_pk_in(subquery, params))


def impact_counts(resource_ids: Iterable, *, site_ids: Iterable = ()) -> dict:
    """How much a failure of `resource_ids` (or the sites) takes down, in one statement:
    {"resources": resources down, "segments": {customer segment: {"services", "customers"}}}.

    The customer-facing services are counted per segment of their product's customer (the
    segment `None` for services realising no product), joined by primary keys; a service has
    one product and a product one customer, so per-segment counts add up to the totals.
    """
    cte, params = _dependent_ctes(resource_ids, site_ids)
    sql = f"""
        WITH RECURSIVE {cte},
        impacted(id) AS (SELECT DISTINCT id FROM dependent WHERE category = %s)
        SELECT customer.segment, COUNT(DISTINCT impacted.id), COUNT(DISTINCT customer.id),
               (SELECT COUNT(*) FROM dead)
        FROM impacted
        JOIN {SERVICE} service ON service.id = impacted.id
        LEFT JOIN {PRODUCT} product ON product.id = service.product_id
        LEFT JOIN {CUSTOMER} customer ON customer.id = product.customer_id
        GROUP BY customer.segment
        UNION ALL
        SELECT NULL, 0, 0, (SELECT COUNT(*) FROM dead)"""  # noqa: S608 - see _pk_in
    params.append(ServiceCategory.CUSTOMER_FACING)
    # PostgreSQL connections run with jit=off (settings): JIT would compile this statement by
    # its estimated cost, which recursive CTEs inflate to billions while they take milliseconds.
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    segments: dict = {}
    for segment, services, customers, _ in rows:
        counted = segments.setdefault(segment, {"services": 0, "customers": 0})
        counted["services"] += services
        counted["customers"] += customers
    if not segments.get(None, {}).get("services"):
        segments.pop(None, None)
    return {"resources": rows[-1][3], "segments": segments}


def service_path(service_id: int) -> QuerySet[Resource]:
    """What a service stands on, up to the core.

    The resources it (or a service below it) holds and their parents; from the devices at the
    top, the uplinks toward the core: each link, its two ports (and their cards), the device
    upstream, and the cable and duct each link runs in. The result selects `site` so the caller
    has the sites without another query.
    """
    subquery = f"""
        WITH RECURSIVE
        below(id) AS (
            SELECT id FROM {SERVICE} WHERE id = %s
            UNION
            SELECT child.id FROM {SERVICE} child JOIN below ON child.parent_id = below.id
        ),
        path(id, parent_id) AS (
            SELECT resource.id, resource.parent_id
            FROM {RESOURCE} resource
            JOIN {BINDING} binding ON binding.resource_id = resource.id
            JOIN below ON binding.service_id = below.id
            WHERE binding.state <> %s
            UNION
            SELECT parent.id, parent.parent_id
            FROM {RESOURCE} parent JOIN path ON parent.id = path.parent_id
        ),
        up(id) AS (
            SELECT id FROM path WHERE parent_id IS NULL
            UNION
            SELECT {Z_DEVICE} FROM {LINK} link JOIN up ON {A_DEVICE} = up.id
        ),
        uplink(id) AS (
            SELECT link.resource_ptr_id FROM {LINK} link JOIN up ON {A_DEVICE} = up.id
            UNION
            SELECT link.a_end_id FROM {LINK} link JOIN up ON {A_DEVICE} = up.id
            UNION
            SELECT link.z_end_id FROM {LINK} link JOIN up ON {A_DEVICE} = up.id
            UNION
            SELECT id FROM up
        ),
        above(id, parent_id) AS (
            SELECT resource.id, resource.parent_id
            FROM {RESOURCE} resource JOIN uplink ON resource.id = uplink.id
            UNION
            SELECT parent.id, parent.parent_id
            FROM {RESOURCE} parent JOIN above ON parent.id = above.parent_id
        )
        SELECT id FROM path UNION SELECT id FROM above"""  # noqa: S608 - see _pk_in
    params = [int(service_id), BindingState.RELEASED]
    return Resource.objects.filter(_pk_in(subquery, params)).select_related("site")
