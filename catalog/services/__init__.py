"""Every meaningful write of the catalog, and the checks other apps run against it, by
sub-domain: characteristics, product specifications, offerings (and bundles), prices, and
categories and catalogs.

The public entry points are re-exported here: callers write `from catalog import services` and
`services.offering_create(...)`, whichever module holds it.
"""

from catalog.services.categories import (
    catalog_create,
    catalog_delete,
    catalog_update,
    category_create,
    category_delete,
    category_update,
)
from catalog.services.characteristics import characteristics_validate
from catalog.services.offerings import (
    offering_create,
    offering_delete,
    offering_in_use,
    offering_update,
)
from catalog.services.prices import price_create, price_delete, price_update
from catalog.services.specifications import (
    product_specification_create,
    product_specification_delete,
    product_specification_update,
)

__all__ = [
    "catalog_create",
    "catalog_delete",
    "catalog_update",
    "category_create",
    "category_delete",
    "category_update",
    "characteristics_validate",
    "offering_create",
    "offering_delete",
    "offering_in_use",
    "offering_update",
    "price_create",
    "price_delete",
    "price_update",
    "product_specification_create",
    "product_specification_delete",
    "product_specification_update",
]
