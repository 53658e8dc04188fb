"""Service paths, kept as NetBox keeps cable paths: what each customer-facing service stands on.

`ServicePath` holds one row per (service, leg, path, resource). A leg is a top resource the
service's holds hang from (a gNB, an OLT, a number pool); its paths are the routes from that top
device toward the core over the uplinks (`Link`: `a_end` downstream, `z_end` upstream), one per
branch where a device is dual-homed. Every path of a leg carries the leg's own resources (the
holds and their parents) and the route's links, their ports and cards, the cable and duct each
link runs in, and every device the route reaches.

A set of failed resources then:
- takes a service DOWN when, for some leg, every path of the leg contains a failed resource;
- DEGRADES it when some paths (of some leg) contain one but every leg keeps a surviving path.
That is one indexed read of the rows through the failed resources (`path_impact_sql`), with no
graph walk per question. `service_paths_rebuild` recomputes the rows set-based (two statements
for any number of services): the inventory services call it where bindings change, the network
import after topology changes, and `manage.py rebuild_service_paths` rebuilds everything.

PostgreSQL only (arrays, `= ANY`); on SQLite (the embedded demo) the rebuild is skipped and the
impact read finds nothing, so callers fall back to `inventory.topology`.
"""

from collections.abc import Iterable
from contextlib import contextmanager

from django.db import connection

from catalog.choices import COUNTED_UNITS
from inventory.choices import BindingState, ServiceCategory, ServiceState
from inventory.models import Link, ProductInstance, Resource, Service, ServicePath, ServiceResource
from telco.transactions import atomic_in_caller

RESOURCE = Resource._meta.db_table
LINK = Link._meta.db_table
SERVICE = Service._meta.db_table
BINDING = ServiceResource._meta.db_table
PATH = ServicePath._meta.db_table
PRODUCT = ProductInstance._meta.db_table
# Tables reached through relations (crm's and catalog's models are not imported here).
CUSTOMER = ProductInstance._meta.get_field("customer").related_model._meta.db_table
OFFERING_MODEL = ProductInstance._meta.get_field("product_offering").related_model
PRICE = OFFERING_MODEL._meta.get_field("prices").related_model._meta.db_table
A_DEVICE = "COALESCE(link.a_device_id, link.a_end_id)"
Z_DEVICE = "COALESCE(link.z_device_id, link.z_end_id)"
# Longest route toward the core that is followed (hops); a longer one is a loop in the data.
MAX_HOPS = 16


def is_supported() -> bool:
    return connection.vendor == "postgresql"


def routes_cte(starts: str) -> str:
    """The CTEs `route` and `complete(start, links)`: from each device `starts` selects (one
    column), the routes toward the core following uplinks; `complete` keeps those that reach
    a device with no uplink (the core), a device with none having the empty route. A route that
    comes back to a device it passed loops and is dropped; none runs past MAX_HOPS links."""
    return f"""
    route(start, device, links, devices, hops) AS (
        SELECT top, top, ARRAY[]::bigint[], ARRAY[top]::bigint[], 0 FROM ({starts}) AS tops(top)
        UNION ALL
        SELECT route.start, {Z_DEVICE}, route.links || link.resource_ptr_id,
               route.devices || {Z_DEVICE}, route.hops + 1
        FROM {LINK} link JOIN route ON {A_DEVICE} = route.device
        WHERE route.hops < {MAX_HOPS} AND NOT ({Z_DEVICE} = ANY(route.devices))
    ),
    complete(start, links) AS (
        SELECT route.start, route.links FROM route
        WHERE NOT EXISTS (SELECT 1 FROM {LINK} link WHERE {A_DEVICE} = route.device)
    )"""  # noqa: S608 - table and column names from model metadata


# The rows of the services `%(services)s` selects: the holds of each CFS (and of the services
# below it), their parents up to the top (the leg), the routes of each top device, and their
# cross product per leg. `route` follows uplinks from the device at the top; only routes that
# reach a device with no uplink (the core) count, and a device with none has the empty route.
REBUILD_SQL = f"""
    WITH RECURSIVE
    cfs(id) AS (%(services)s),
    below(root, id) AS (
        SELECT id, id FROM cfs
        UNION
        SELECT below.root, child.id FROM {SERVICE} child JOIN below ON child.parent_id = below.id
    ),
    held(service_id, resource_id) AS (
        SELECT DISTINCT below.root, binding.resource_id
        FROM {BINDING} binding JOIN below ON binding.service_id = below.id
        WHERE binding.state <> %%(released)s
    ),
    chain(service_id, origin, id, parent_id) AS (
        SELECT held.service_id, resource.id, resource.id, resource.parent_id
        FROM {RESOURCE} resource JOIN held ON resource.id = held.resource_id
        UNION
        SELECT chain.service_id, chain.origin, parent.id, parent.parent_id
        FROM {RESOURCE} parent JOIN chain ON parent.id = chain.parent_id
    ),
    leg(service_id, origin, top) AS (
        SELECT service_id, origin, id FROM chain WHERE parent_id IS NULL
    ),
    own(service_id, top, resource_id) AS (
        SELECT DISTINCT chain.service_id, leg.top, chain.id
        FROM chain JOIN leg ON leg.service_id = chain.service_id AND leg.origin = chain.origin
    ),
    {routes_cte("SELECT DISTINCT top FROM leg")},
    numbered(start, links, path_number, leg_paths) AS (
        SELECT start, links, ROW_NUMBER() OVER (PARTITION BY start ORDER BY links),
               COUNT(*) OVER (PARTITION BY start)
        FROM complete
    ),
    routes(start, links, path_number, leg_paths) AS (
        SELECT start, links, path_number, leg_paths FROM numbered
        UNION ALL
        SELECT DISTINCT top, ARRAY[]::bigint[], 1, 1 FROM leg
        WHERE NOT EXISTS (SELECT 1 FROM numbered WHERE numbered.start = leg.top)
    ),
    hop(start, path_number, leg_paths, id) AS (
        SELECT routes.start, routes.path_number, routes.leg_paths, hop_link.id
        FROM routes, UNNEST(routes.links) AS hop_link(id)
    ),
    on_route(start, path_number, leg_paths, id, parent_id, depth) AS (
        SELECT hop.start, hop.path_number, hop.leg_paths, resource.id, resource.parent_id, 0
        FROM hop
        JOIN {LINK} link ON link.resource_ptr_id = hop.id
        JOIN {RESOURCE} resource
          ON resource.id IN (link.resource_ptr_id, link.a_end_id, link.z_end_id,
                             {Z_DEVICE})
        -- UNION ALL (the final UNION removes the repeats): a recursive UNION sizes its hash
        -- table by the planner's guess, hundreds of thousands of rows here, and allocating it
        -- took 5 ms of every rebuild, where walking the few real rows takes a tenth of that.
        -- The depth bounds a walk up a parent chain that loops in bad data.
        UNION ALL
        SELECT on_route.start, on_route.path_number, on_route.leg_paths, parent.id,
               parent.parent_id, on_route.depth + 1
        FROM {RESOURCE} parent JOIN on_route ON parent.id = on_route.parent_id
        WHERE on_route.depth < {MAX_HOPS}
    )
    INSERT INTO {PATH} (service_id, leg_id, leg_paths, path_number, resource_id)
    SELECT own.service_id, own.top, routes.leg_paths, routes.path_number, own.resource_id
    FROM own JOIN routes ON routes.start = own.top
    UNION
    SELECT own_leg.service_id, own_leg.top, on_route.leg_paths, on_route.path_number,
           on_route.id
    FROM (SELECT DISTINCT service_id, top FROM own) own_leg
    JOIN on_route ON on_route.start = own_leg.top
"""  # noqa: S608 - table names come from model metadata; every value is a parameter


def _live_services_sql(service_ids: list[int] | None) -> tuple[str, dict]:
    params = {
        "cfs": ServiceCategory.CUSTOMER_FACING,
        "terminated": ServiceState.TERMINATED,
        "released": BindingState.RELEASED,
    }
    sql = f"SELECT id FROM {SERVICE} WHERE category = %(cfs)s AND state <> %(terminated)s"  # noqa: S608
    if service_ids is not None:
        sql += " AND id = ANY(%(ids)s)"
        params["ids"] = service_ids
    return sql, params


def service_paths_rebuild(service_ids: Iterable[int] | None = None) -> int:
    """Recompute the path rows of the services `service_ids` (every service when None): the
    customer-facing ones among them, or above them, are rebuilt; the others' rows go.
    Set-based: one DELETE and one INSERT ... SELECT. Returns the rows written."""
    if not is_supported():
        return 0
    ids = None
    if service_ids is not None:
        ids = sorted({int(pk) for pk in service_ids})
        if not ids:
            return 0
    # Inside the caller's transaction (every reservation) without a savepoint: its two round
    # trips were a fifth of a rebuild's, and an error aborts the caller's transaction anyway.
    with atomic_in_caller(), connection.cursor() as cursor:
        if ids is None:
            cursor.execute(f"DELETE FROM {PATH}")  # noqa: S608
            services, params = _live_services_sql(ids)
            cursor.execute(REBUILD_SQL % {"services": services}, params)
            return cursor.rowcount
        with _index_walk_plan(cursor):
            # A resource-facing service stands for the customer-facing services above it. Its
            # old rows go by the service index (a hash join read every path row: 2.6 ms at
            # 21,000 rows, growing with the network; 0.1 ms by index).
            cursor.execute(
                f"""
                WITH RECURSIVE up(id, parent_id) AS (
                    SELECT id, parent_id FROM {SERVICE} WHERE id = ANY(%s)
                    UNION
                    SELECT above.id, above.parent_id FROM {SERVICE} above
                    JOIN up ON above.id = up.parent_id
                ), gone AS (DELETE FROM {PATH} WHERE service_id IN (SELECT id FROM up))
                SELECT id FROM up""",  # noqa: S608
                [ids],
            )
            ids = sorted({row[0] for row in cursor.fetchall()})
            services, params = _live_services_sql(ids)
            cursor.execute(REBUILD_SQL % {"services": services}, params)
            return cursor.rowcount  # taken before the plan's settings are restored


@contextmanager
def _index_walk_plan(cursor):
    """For the rebuild of a few services (every activation): walk the resource tree by index.
    The planner, guessing the recursive steps' rows from the seed rows times ten, would hash
    the whole resource table at each step, a cost that grows with the network, not the order.
    Within the caller's transaction, restored afterwards."""
    cursor.execute("SET LOCAL enable_hashjoin = off; SET LOCAL enable_mergejoin = off")
    try:
        yield
    finally:
        cursor.execute(
            "SET LOCAL enable_hashjoin TO DEFAULT; SET LOCAL enable_mergejoin TO DEFAULT"
        )


def service_paths_rebuild_through(resource_ids: Iterable[int]) -> int:
    """After a topology change at `resource_ids` (a link added or moved, a device re-homed):
    rebuild the services whose paths pass through them, or whose legs are them."""
    if not is_supported():
        return 0
    ids = sorted({int(pk) for pk in resource_ids})
    if not ids:
        return 0
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT DISTINCT service_id FROM {PATH} WHERE resource_id = ANY(%s) "  # noqa: S608
            f"OR leg_id = ANY(%s)",
            [ids, ids],
        )
        services = [row[0] for row in cursor.fetchall()]
    return service_paths_rebuild(services)


# `path_impact(service_id, impact)`: the services the failed resources (the array parameter
# `%(failed)s`) take down or degrade, read from the path rows by resource. A leg with one path
# (most) is down as soon as a row of it is hit; only legs with several paths count their paths.
PATH_IMPACT_CTE = f"""
    path_row(service_id, leg_id, leg_paths, path_number) AS (
        SELECT service_id, leg_id, leg_paths, path_number
        FROM {PATH} WHERE resource_id = ANY(%(failed)s)
    ),
    path_down(service_id) AS (SELECT DISTINCT service_id FROM path_row WHERE leg_paths = 1),
    path_multi(service_id, down) AS (
        SELECT service_id, BOOL_OR(hit_paths >= leg_paths)
        FROM (
            SELECT service_id, leg_id, leg_paths, COUNT(DISTINCT path_number) AS hit_paths
            FROM path_row WHERE leg_paths > 1
            GROUP BY service_id, leg_id, leg_paths
        ) per_leg
        GROUP BY service_id
    ),
    path_impact(service_id, impact) AS (
        SELECT service_id, 'down' FROM path_down
        UNION ALL
        SELECT service_id, CASE WHEN down THEN 'down' ELSE 'degraded' END FROM path_multi
        WHERE NOT EXISTS (
            SELECT 1 FROM path_down WHERE path_down.service_id = path_multi.service_id
        )
    )"""  # noqa: S608


@contextmanager
def bulk_plan(cursor):
    """For the impact statements over tens of thousands of path rows: hash joins and memory
    enough to aggregate without spilling. The planner, misled by the estimates of the grouped
    rows, would otherwise pick a nested loop per service. Within the caller's transaction,
    restored afterwards."""
    if not is_supported():
        yield
        return
    cursor.execute("SET LOCAL enable_nestloop = off")
    cursor.execute("SET LOCAL work_mem = '64MB'")
    try:
        yield
    finally:
        cursor.execute("SET LOCAL enable_nestloop TO DEFAULT")
        cursor.execute("SET LOCAL work_mem TO DEFAULT")


def path_impact(resource_ids: Iterable[int]) -> dict[int, str]:
    """{service id: "down" | "degraded"} for a failure of `resource_ids`, in one statement."""
    if not is_supported():
        return {}
    failed = sorted({int(pk) for pk in resource_ids})
    with connection.cursor() as cursor:
        cursor.execute(
            f"WITH {PATH_IMPACT_CTE} SELECT service_id, impact FROM path_impact",  # noqa: S608
            {"failed": failed},
        )
        return dict(cursor.fetchall())


# Per unit a price may count (`catalog.choices.COUNTED_UNITS`), how many the product holds: the
# non-empty items of its characteristic (as `billing.services.charges.units_charged` counts).
# Only those characteristics travel with the impacted products, not the whole JSON of each.
COUNTED_SQL = "JSONB_BUILD_OBJECT({})".format(
    ", ".join(f"'{name}', product.characteristics -> '{name}'" for name in COUNTED_UNITS.values())
)
UNITS_HELD_SQL = (
    "CASE monthly.unit "
    + " ".join(
        f"WHEN '{unit}' THEN CARDINALITY(ARRAY_REMOVE(STRING_TO_ARRAY(REPLACE("
        f"COALESCE(impacted_product.counted ->> '{name}', ''), ' ', ''), ','), ''))"
        for unit, name in COUNTED_UNITS.items()
    )
    + " ELSE 1 END"
)


# Figures over the services of `impacted(service_id)`: distinct products, accounts, customers,
# customers per segment, and the monthly recurring revenue of the products (a recurring price
# launched and in force: monthly as is, yearly over twelve months, as
# `ProductOfferingPrice.amount_per_month` says; a price per unit times the units held).
IMPACT_FIGURES_SQL = f"""
    impacted_product(id, billing_account_id, customer_id, segment, product_offering_id,
                     counted) AS (
        SELECT DISTINCT product.id, product.billing_account_id, product.customer_id,
               customer.segment, product.product_offering_id, {COUNTED_SQL}
        FROM impacted
        JOIN {SERVICE} service ON service.id = impacted.service_id
        JOIN {PRODUCT} product ON product.id = service.product_id
        JOIN {CUSTOMER} customer ON customer.id = product.customer_id
    ),
    monthly(offering_id, unit, amount, currency) AS (
        SELECT price.product_offering_id, price.unit_of_measure,
               SUM(CASE WHEN price.recurring_period = 'year' THEN price.amount / 12
                        ELSE price.amount END),
               MIN(price.currency)
        FROM {PRICE} price
        WHERE price.price_type = 'recurring' AND price.amount IS NOT NULL
          AND price.lifecycle_status = 'launched'
          AND price.valid_from <= %(now)s AND (price.valid_to IS NULL OR price.valid_to > %(now)s)
          AND price.product_offering_id IN (SELECT product_offering_id FROM impacted_product)
        GROUP BY price.product_offering_id, price.unit_of_measure
    )
    SELECT
        (SELECT COUNT(*) FROM impacted_product),
        (SELECT COUNT(DISTINCT billing_account_id) FROM impacted_product),
        (SELECT COUNT(DISTINCT customer_id) FROM impacted_product),
        (SELECT COALESCE(JSON_OBJECT_AGG(segment, customers), '{{}}')
           FROM (SELECT segment, COUNT(DISTINCT customer_id) AS customers
                 FROM impacted_product GROUP BY segment) per_segment),
        (SELECT COALESCE(SUM(monthly.amount * {UNITS_HELD_SQL}), 0) FROM impacted_product
           JOIN monthly ON monthly.offering_id = impacted_product.product_offering_id),
        (SELECT MIN(currency) FROM monthly)
"""  # noqa: S608
