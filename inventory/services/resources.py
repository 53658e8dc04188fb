"""Resources registered one by one (TMF639 POST) and their states set by the NOC; the one rule
that a resource's name is unique, which every creation checks."""

from django.db import models, transaction

from inventory.choices import AdministrativeState, OperationalState, ResourceStatus, UsageState
from inventory.models import GLOBALLY_UNIQUE_KINDS, Resource
from telco import clock
from telco.exceptions import DomainError


@transaction.atomic
def resource_create(
    *,
    name: str,
    category: str,
    resource_kind: str,
    resource_specification=None,
    site=None,
    parent: Resource | None = None,
    capacity_mbps: int = 0,
    characteristics: dict | None = None,
    value: str = "",
    serial_number: str = "",
) -> Resource:
    """Register a network resource (TMF639 POST)."""
    resource_name_ensure_free(name)
    if (
        value
        and Resource.objects.filter(resource_kind=resource_kind, value=value)
        .filter(models.Q(parent=parent) | models.Q(resource_kind__in=GLOBALLY_UNIQUE_KINDS))
        .exists()
    ):
        raise DomainError(f"A {resource_kind} '{value}' already exists.", field="value")
    return Resource.objects.create(
        name=name,
        category=category,
        resource_kind=resource_kind,
        resource_specification=resource_specification,
        parent=parent,
        capacity_mbps=capacity_mbps,
        characteristics=characteristics or {},
        value=value,
        serial_number=serial_number,
        site_id=site.pk if site is not None else (parent.site_id if parent else None),
    )


STATE_FIELDS = {
    "resource_status": ResourceStatus,
    "administrative_state": AdministrativeState,
    "operational_state": OperationalState,
    "usage_state": UsageState,
}


@transaction.atomic
def resource_update_states(*, resource: Resource, changes: dict[str, str]) -> Resource:
    """Set a resource's status/administrative/operational/usage state (NOC operations)."""
    resource = Resource.objects.select_for_update().get(pk=resource.pk)
    for field, value in changes.items():
        if field not in STATE_FIELDS:
            raise DomainError("This attribute cannot be changed.", field=field)
        if value not in STATE_FIELDS[field].values:
            raise DomainError(f"'{value}' is not a valid value.", field=field)
        setattr(resource, field, value)
    resource.last_update = clock.now()
    resource.save(update_fields=[*changes, "last_update"])
    return resource


def resource_name_ensure_free(name: str) -> None:
    """Refuse a name some resource already has (`DomainError` on `name`): names are the natural
    key, which the NOC and the CSV import find resources by."""
    if Resource.objects.filter(name=name).exists():
        raise DomainError(f"A resource named '{name}' already exists.", field="name")
