"""Usage specifications (TMF635): the kinds of usage a network reports, named and versioned."""

from django.db import transaction
from django.db.models import ProtectedError
from django.utils.text import slugify

from billing.models import UsageSpecification
from telco import clock
from telco.exceptions import Conflict, DomainError

USAGE_SPECIFICATION_FIELDS = (
    "name",
    "description",
    "version",
    "lifecycle_status",
    "valid_from",
    "valid_to",
    "spec_characteristics",
)


def _specification_id(name: str) -> str:
    """A free id made from the name: `Data session` -> `data-session` (then -2, -3...)."""
    base = slugify(name)[:36] or "usage-specification"
    candidate, count = base, 1
    while UsageSpecification.objects.filter(pk=candidate).exists():
        count += 1
        candidate = f"{base}-{count}"
    return candidate


def _check_specification_name(name: str, *, other_than: str | None = None) -> None:
    taken = UsageSpecification.objects.filter(name=name).exclude(pk=other_than)
    if taken.exists():
        raise DomainError(f"A usage specification is already named '{name}'.", field="name")


def usage_specification_create(**values) -> UsageSpecification:
    """Record a usage specification (`USAGE_SPECIFICATION_FIELDS`); its id comes from its
    name, which is unique. Without a name, the id is generated and becomes the name too."""
    with transaction.atomic():
        name = values.get("name") or ""
        if name:
            _check_specification_name(name)
        specification = UsageSpecification(
            id=_specification_id(name), last_update=clock.now(), **values
        )
        specification.name = name or specification.id
        specification.save()
    return specification


def usage_specification_update(
    *, specification: UsageSpecification, **values
) -> UsageSpecification:
    """Change a usage specification's attributes (merge patch); its id stays."""
    unknown = set(values) - set(USAGE_SPECIFICATION_FIELDS)
    if unknown:
        raise ValueError(f"Not usage specification fields: {sorted(unknown)}")
    with transaction.atomic():
        if "name" in values:
            _check_specification_name(values["name"], other_than=specification.pk)
        for name, value in values.items():
            setattr(specification, name, value)
        specification.last_update = clock.now()
        valid_from, valid_to = specification.valid_from, specification.valid_to
        if valid_from and valid_to and valid_to <= valid_from:
            raise DomainError("Must be after startDateTime.", field="validFor.endDateTime")
        specification.save(update_fields=[*values, "last_update"])
    return specification


def usage_specification_delete(*, specification: UsageSpecification) -> None:
    """Delete a usage specification no usage record names (one that is named: 409)."""
    try:
        specification.delete()
    except ProtectedError:
        raise Conflict(
            f"Usage specification '{specification.pk}' is named by usage records.", field="id"
        ) from None
