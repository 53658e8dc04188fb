"""Categories (a tree) and catalogs (TMF620 Category and Catalog)."""

from datetime import datetime

from django.db import transaction

from catalog.choices import LifecycleStatus
from catalog.models import Catalog, Category
from catalog.services.common import (
    check_name_free,
    check_validity,
    check_validity_patch,
    rows_with_ids,
    save_changes,
)
from telco import clock
from telco.exceptions import Conflict, DomainError
from telco.selectors import row_with_id


def categories_with_ids(ids: list[str]) -> list[Category]:
    """The categories the client's `ids` name, in their order (`DomainError` naming
    `category[<index>].id` for one that does not exist)."""
    return rows_with_ids(Category, ids, field="category", label="Category")


def _category_parent(parent_id: str | None, *, category: Category | None) -> Category | None:
    """The parent named by `parentId`; never the category itself or one of its descendants."""
    if parent_id in (None, ""):
        return None
    parent = row_with_id(Category.objects, parent_id)
    if parent is None:
        raise DomainError(f"Category '{parent_id}' does not exist.", field="parentId")
    if category is not None:
        ancestor, seen = parent, set()
        while ancestor is not None and ancestor.pk not in seen:
            if ancestor.pk == category.pk:
                raise DomainError("A category cannot sit under itself.", field="parentId")
            seen.add(ancestor.pk)
            ancestor = ancestor.parent
    return parent


@transaction.atomic
def category_create(
    *,
    name: str,
    description: str = "",
    parent_id: str | None = None,
    lifecycle_status: str = LifecycleStatus.LAUNCHED,
    valid_from: datetime | None = None,
    valid_to: datetime | None = None,
) -> Category:
    """Create a category, at the root or under `parent_id`."""
    check_name_free(Category, name, label="category")
    check_validity(valid_from, valid_to)
    now = clock.now()
    return Category.objects.create(
        name=name,
        description=description,
        parent=_category_parent(parent_id, category=None),
        lifecycle_status=lifecycle_status,
        valid_from=valid_from or now,
        valid_to=valid_to,
        last_update=now,
    )


@transaction.atomic
def category_update(*, category: Category, changes: dict) -> Category:
    """Apply a merge patch; `parent_id` moves the category (never under itself)."""
    changes = dict(changes)
    if changes.get("name"):
        check_name_free(Category, changes["name"], label="category", instance=category)
    if "parent_id" in changes:
        changes["parent"] = _category_parent(changes.pop("parent_id"), category=category)
    check_validity_patch(category, changes)
    return save_changes(category, changes)


@transaction.atomic
def category_delete(*, category: Category) -> None:
    """Delete a category; refused (409) while it has subcategories or offerings."""
    if category.children.exists():
        raise Conflict(f"Category '{category.name}' has subcategories: move or delete them first.")
    if category.offerings.exists():
        raise Conflict(f"Category '{category.name}' still holds offerings.")
    category.delete()


@transaction.atomic
def catalog_create(
    *,
    name: str,
    description: str = "",
    catalog_type: str = "",
    lifecycle_status: str = LifecycleStatus.LAUNCHED,
    category_ids: list[str] | None = None,
    valid_from: datetime | None = None,
    valid_to: datetime | None = None,
) -> Catalog:
    """Create a catalog holding the given categories."""
    check_name_free(Catalog, name, label="catalog")
    check_validity(valid_from, valid_to)
    categories = categories_with_ids(category_ids or [])
    now = clock.now()
    catalog = Catalog.objects.create(
        name=name,
        description=description,
        catalog_type=catalog_type,
        lifecycle_status=lifecycle_status,
        valid_from=valid_from or now,
        valid_to=valid_to,
        last_update=now,
    )
    catalog.categories.set(categories)
    return catalog


@transaction.atomic
def catalog_update(*, catalog: Catalog, changes: dict) -> Catalog:
    """Apply a merge patch; `category_ids` replaces the whole list of categories."""
    changes = dict(changes)
    category_ids = changes.pop("category_ids", None)
    if changes.get("name"):
        check_name_free(Catalog, changes["name"], label="catalog", instance=catalog)
    check_validity_patch(catalog, changes)
    if category_ids is not None:
        catalog.categories.set(categories_with_ids(category_ids))
    return save_changes(catalog, changes)


@transaction.atomic
def catalog_delete(*, catalog: Catalog) -> None:
    """Delete a catalog; its categories and offerings stay."""
    catalog.delete()
