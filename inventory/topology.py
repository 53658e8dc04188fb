"""Impact queries over the topology: what lies under a resource, what depends on it.

Each question is one recursive CTE evaluated by the database (PostgreSQL in production, SQLite in
the embedded demo; both speak `WITH RECURSIVE`), so a fibre cut under 10,000 customers costs one
query, not a walk over objects in Python. The walks follow indexed foreign keys only:
`Resource.parent`, `ServiceResource.(resource, state)`, `ServiceResource.service` and
`Service.parent`. The results are lazy querysets filtered by `pk IN (<cte>)`, so callers can
still add `select_related`/`prefetch_related` and the whole question stays one statement.
"""

from collections.abc import Iterable

from django.db.models import QuerySet
from django.db.models.expressions import RawSQL

from inventory.choices import BindingState, ServiceCategory
from inventory.models import Resource, Service, ServiceResource

RESOURCE = Resource._meta.db_table
SERVICE = Service._meta.db_table
BINDING = ServiceResource._meta.db_table


def _id_list(ids: Iterable) -> list[int]:
    return sorted({int(value) for value in ids})


def _placeholders(ids: list[int]) -> str:
    # An empty IN () is not valid SQL; NULL matches nothing, which is the right answer.
    return ", ".join(["%s"] * len(ids)) if ids else "NULL"


def _pk_in(query: str, params: list) -> RawSQL:
    """The right-hand side of `pk__in`: the CTE's SELECT, evaluated inside the caller's query."""
    # Only table names (model metadata) and placeholders are formatted into the text; every
    # value is a parameter.
    return RawSQL(query, params)  # noqa: S611


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
    return Resource.objects.filter(pk__in=_pk_in(subquery, params))


def services_depending_on(resource_ids: Iterable) -> QuerySet[Service]:
    """Customer-facing services that depend on any of `resource_ids` or anything beneath them.

    A service depends on a resource when it, or a resource-facing service below it, holds a
    binding on that resource that is not released; the walk goes up `Service.parent` to the CFS.
    """
    ids = _id_list(resource_ids)
    cte, params = _subtree_cte(ids)
    subquery = f"""
        WITH RECURSIVE {cte},
        dependent(id, parent_id, category) AS (
            SELECT service.id, service.parent_id, service.category
            FROM {SERVICE} service
            JOIN {BINDING} binding ON binding.service_id = service.id
            JOIN subtree ON binding.resource_id = subtree.id
            WHERE binding.state <> %s
            UNION
            SELECT above.id, above.parent_id, above.category
            FROM {SERVICE} above JOIN dependent ON above.id = dependent.parent_id
        )
        SELECT id FROM dependent WHERE category = %s"""  # noqa: S608 - see _pk_in
    params += [BindingState.RELEASED, ServiceCategory.CUSTOMER_FACING]
    return Service.objects.filter(pk__in=_pk_in(subquery, params))


def service_path(service_id: int) -> QuerySet[Resource]:
    """What a service stands on: the resources it (or a service below it) holds, and their parents.

    The top of each chain is the device whose `site` is where the service lives; the result
    selects `site` so the caller has it without another query.
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
        )
        SELECT id FROM path"""  # noqa: S608 - see _pk_in
    params = [int(service_id), BindingState.RELEASED]
    return Resource.objects.filter(pk__in=_pk_in(subquery, params)).select_related("site")
