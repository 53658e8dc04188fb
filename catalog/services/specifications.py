"""Product specifications (TMF620 ProductSpecification) with their characteristics and the
service specifications they need."""

from django.db import transaction

from catalog.choices import LifecycleStatus, ValueType
from catalog.models import CharacteristicSpecification, ProductSpecification, ServiceSpecification
from catalog.services.characteristics import check_range, check_value_type
from catalog.services.common import check_name_free, rows_with_ids, save_changes
from telco.exceptions import Conflict, DomainError


def _characteristics_replace(*, specification: ProductSpecification, characteristics: list[dict]):
    names = [c["name"] for c in characteristics]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise DomainError(
            f"Characteristic '{duplicates[0]}' is given twice.", field="productSpecCharacteristic"
        )
    for index, characteristic in enumerate(characteristics):
        field = f"productSpecCharacteristic[{index}].productSpecCharacteristicValue"
        default = characteristic.get("default_value", "")
        allowed = characteristic.get("allowed_values", [])
        if default and allowed and default not in allowed:
            raise DomainError(f"The default '{default}' is not one of the values.", field=field)
        _check_characteristic_range(characteristic, field)
    specification.characteristics.all().delete()
    CharacteristicSpecification.objects.bulk_create(
        CharacteristicSpecification(product_specification=specification, **c)
        for c in characteristics
    )


def _check_characteristic_range(characteristic: dict, field: str) -> None:
    """A range (valueFrom/valueTo) is for numbers, ordered, and holds the default and values."""
    low, high = characteristic.get("min_value"), characteristic.get("max_value")
    if low is None and high is None:
        return
    if characteristic.get("value_type", ValueType.STRING) != ValueType.NUMBER:
        raise DomainError("Only a number characteristic has a range.", field=f"{field}.valueFrom")
    if low is not None and high is not None and low > high:
        raise DomainError("valueFrom must not be above valueTo.", field=f"{field}.valueFrom")
    probe = CharacteristicSpecification(value_type=ValueType.NUMBER, min_value=low, max_value=high)
    for value in [*characteristic.get("allowed_values", []), characteristic.get("default_value")]:
        if value in (None, ""):
            continue
        probe.name = str(value)
        try:
            check_value_type(probe, str(value))
            check_range(probe, str(value))
        except DomainError as error:
            raise DomainError(error.message, field=f"{field}.value") from None


def _service_specifications(ids: list[str]) -> list[ServiceSpecification]:
    return rows_with_ids(
        ServiceSpecification, ids, field="serviceSpecification", label="Service specification"
    )


@transaction.atomic
def product_specification_create(
    *,
    name: str,
    description: str = "",
    brand: str = "",
    version: str = "1.0",
    lifecycle_status: str = LifecycleStatus.IN_DESIGN,
    characteristics: list[dict] | None = None,
    service_specification_ids: list[str] | None = None,
) -> ProductSpecification:
    """Create a product specification with its characteristics and service specifications."""
    check_name_free(ProductSpecification, name, label="product specification")
    services = _service_specifications(service_specification_ids or [])
    specification = ProductSpecification.objects.create(
        name=name,
        description=description,
        brand=brand,
        version=version,
        lifecycle_status=lifecycle_status,
    )
    specification.service_specifications.set(services)
    _characteristics_replace(specification=specification, characteristics=characteristics or [])
    return specification


@transaction.atomic
def product_specification_update(
    *, specification: ProductSpecification, changes: dict
) -> ProductSpecification:
    """Apply a merge patch: plain fields, and whole-list replacement of characteristics/services.

    `changes` holds model field names, plus `characteristics` and `service_specification_ids`.
    """
    changes = dict(changes)
    characteristics = changes.pop("characteristics", None)
    service_ids = changes.pop("service_specification_ids", None)
    if changes.get("name"):
        check_name_free(
            ProductSpecification,
            changes["name"],
            label="product specification",
            instance=specification,
        )
    if service_ids is not None:
        services = _service_specifications(service_ids)
        specification.service_specifications.set(services)
    if characteristics is not None:
        _characteristics_replace(specification=specification, characteristics=characteristics)
    return save_changes(specification, changes)


@transaction.atomic
def product_specification_delete(*, specification: ProductSpecification) -> None:
    """Delete a specification and its characteristics; refused (409) while an offering uses it."""
    offering = specification.offerings.order_by("id").first()
    if offering is not None:
        raise Conflict(
            f"Product specification '{specification.name}' is used by the offering "
            f"'{offering.name}' and cannot be deleted."
        )
    specification.delete()
