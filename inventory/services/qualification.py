"""TMF645 service qualification: whether services can be delivered at customer sites, checked
against the inventory (`feasibility`) and recorded with the reasons per site."""

from dataclasses import dataclass, field

from django.db import models, transaction

from inventory.choices import QualificationResult
from inventory.models import ServiceQualification, ServiceQualificationItem
from inventory.services.capacity import bandwidth_mbps
from inventory.services.feasibility import SiteDemand, feasibility_check
from telco import clock
from telco.exceptions import DomainError
from telco.ids import parse_id


@dataclass
class PlaceRequest:
    id: str
    role: str = ""
    name: str = ""


@dataclass
class QualificationItemRequest:
    """One serviceQualificationItem, parsed: its sites and characteristics (bandwidth)."""

    item_id: str
    places: list[PlaceRequest]
    characteristics: dict[str, str] = field(default_factory=dict)
    specification: models.Model | None = None


def site_demands(
    places: list[PlaceRequest], bandwidth_value: str | None, *, field_prefix: str
) -> list[SiteDemand]:
    """One demand per place at the bandwidth; a malformed id or bandwidth is refused naming it."""
    try:
        bandwidth = bandwidth_mbps(bandwidth_value)
    except DomainError as error:
        raise DomainError(error.message, field=f"{field_prefix}.bandwidth") from None
    demands = []
    for index, place in enumerate(places):
        site_id = parse_id(place.id)
        if site_id is None:
            raise DomainError(f"'{place.id}' is not a site id.", field=f"place[{index}].id")
        demands.append(SiteDemand(site_id=site_id, bandwidth=bandwidth))
    return demands


@transaction.atomic
def service_qualification_check(
    *,
    items: list[QualificationItemRequest],
    description: str = "",
    external_id: str = "",
    related_party: list | None = None,
    by: str = "",
) -> ServiceQualification:
    """Check each item's sites (a free PE port, bandwidth on the path to the core) and record
    the answer: qualified when every site of every item can be served; per item, a reason
    naming each site that cannot."""
    if not items:
        raise DomainError("Name at least one service to qualify.", field="serviceQualificationItem")
    answers = []
    for index, item in enumerate(items):
        prefix = f"serviceQualificationItem[{index}].service"
        if not item.places:
            raise DomainError("Name the sites (place) to qualify.", field=f"{prefix}.place")
        try:
            demands = site_demands(
                item.places,
                item.characteristics.get("bandwidth"),
                field_prefix=f"{prefix}.serviceCharacteristic",
            )
        except DomainError as error:
            field_name = error.field
            if field_name.startswith("place"):
                field_name = f"{prefix}.{field_name}"
            raise DomainError(error.message, field=field_name) from None
        answers.append(feasibility_check(demands))
    is_qualified = all(site.is_feasible for answer in answers for site in answer)
    now = clock.now()
    qualification = ServiceQualification.objects.create(
        description=description,
        external_id=external_id,
        qualification_result=QualificationResult.QUALIFIED
        if is_qualified
        else QualificationResult.UNQUALIFIED,
        check_date=now,
        effective_date=now,
        related_party=related_party or [],
        requested_by=by,
    )
    ServiceQualificationItem.objects.bulk_create(
        ServiceQualificationItem(
            qualification=qualification,
            item_id=item.item_id,
            service_specification=item.specification,
            places=[{"id": p.id, "role": p.role, "name": p.name} for p in item.places],
            characteristics=item.characteristics,
            qualification_result=QualificationResult.QUALIFIED
            if all(site.is_feasible for site in answer)
            else QualificationResult.UNQUALIFIED,
            reasons=[
                {"code": code, "label": message, "siteId": str(site.site_id)}
                for site in answer
                for code, message in site.reasons
            ],
        )
        for item, answer in zip(items, answers, strict=True)
    )
    return qualification
