"""TMF645 service qualification: whether services can be delivered at customer sites (check),
and what can be delivered there and how fast (query), answered from the inventory
(`feasibility`) and recorded with the reasons per site."""

from dataclasses import dataclass, field

from django.db import models, transaction

from catalog import selectors as catalog_selectors
from catalog.choices import ResourceKind
from inventory.choices import QualificationKind, QualificationResult
from inventory.models import ServiceQualification, ServiceQualificationItem
from inventory.services.capacity import bandwidth_mbps
from inventory.services.feasibility import SiteDemand, feasibility_check, site_capacities
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
    return _qualification_record(
        kind=QualificationKind.CHECK,
        is_qualified=all(site.is_feasible for answer in answers for site in answer),
        items=[
            ServiceQualificationItem(
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
        ],
        description=description,
        external_id=external_id,
        related_party=related_party,
        by=by,
    )


def _qualification_record(
    *, kind: str, is_qualified: bool, items: list[ServiceQualificationItem], **asked
) -> ServiceQualification:
    """Store an answered check or query with its items (done at once, effective now)."""
    now = clock.now()
    qualification = ServiceQualification.objects.create(
        kind=kind,
        search_criteria=asked.get("search_criteria") or {},
        description=asked["description"],
        external_id=asked["external_id"],
        qualification_result=QualificationResult.QUALIFIED
        if is_qualified
        else QualificationResult.UNQUALIFIED,
        check_date=now,
        effective_date=now,
        related_party=asked["related_party"] or [],
        requested_by=asked["by"],
    )
    for item in items:
        item.qualification = qualification
    ServiceQualificationItem.objects.bulk_create(items)
    return qualification


def site_access_specifications():
    """The customer-facing services delivered on a site's PE (their resource-facing service
    binds a PE port; a fibre line's binds a PON port and an ONT): what a query can offer."""
    binds = "supporting_specifications__resource_specifications__resource_kind"
    return (
        catalog_selectors.service_specification_list()
        .filter(**{binds: ResourceKind.PORT})
        .exclude(**{binds: ResourceKind.ONT})
        .distinct()
        .order_by("name")
    )


@transaction.atomic
def service_qualification_query(
    *,
    places: list[PlaceRequest],
    specification: models.Model | None = None,
    bandwidth: str | None = None,
    search_criteria: dict | None = None,
    description: str = "",
    external_id: str = "",
    related_party: list | None = None,
    by: str = "",
) -> ServiceQualification:
    """What can be delivered at each site (TMF645 queryServiceQualification): per site and
    per site-access service (or the one `specification` names), qualified with the fastest
    access it can have now (`maximumBandwidth`), or unqualified with the reasons. A
    `bandwidth` asked for qualifies only the sites that can carry it."""
    field = "searchCriteria.service"
    if not places:
        raise DomainError("Name the sites (place) to qualify.", field=f"{field}.place")
    site_ids = []
    for index, place in enumerate(places):
        site_id = parse_id(place.id)
        if site_id is None:
            raise DomainError(f"'{place.id}' is not a site id.", field=f"{field}.place[{index}].id")
        site_ids.append(site_id)
    wanted = 0
    if bandwidth is not None:
        try:
            wanted = bandwidth_mbps(bandwidth)
        except DomainError as error:
            raise DomainError(
                error.message, field=f"{field}.serviceCharacteristic.bandwidth"
            ) from None
    offered = list(site_access_specifications())
    if specification is not None:
        if specification not in offered:
            raise DomainError(
                f"{specification.name} is not delivered on a site's edge router.",
                field=f"{field}.serviceSpecification.id",
            )
        offered = [specification]
    answers = site_capacities(site_ids)
    rows = []
    for place, answer in zip(places, answers, strict=True):
        reasons = list(answer.reasons)
        if answer.is_feasible and answer.bandwidth < wanted:
            reasons.append(
                (
                    "insufficientBandwidth",
                    f"Site {answer.site_name} ({answer.site_id}) can have at most "
                    f"{answer.bandwidth} Mbps now.",
                )
            )
        for offer in offered:
            rows.append((place, answer, offer, reasons))
    return _qualification_record(
        kind=QualificationKind.QUERY,
        is_qualified=any(not reasons for *_, reasons in rows),
        items=[
            ServiceQualificationItem(
                item_id=str(number),
                service_specification=offer,
                places=[{"id": place.id, "role": place.role, "name": answer.site_name}],
                characteristics={"maximumBandwidth": f"{answer.bandwidth}Mbps"}
                if not reasons
                else {},
                qualification_result=QualificationResult.UNQUALIFIED
                if reasons
                else QualificationResult.QUALIFIED,
                reasons=[
                    {"code": code, "label": message, "siteId": str(answer.site_id)}
                    for code, message in reasons
                ],
            )
            for number, (place, answer, offer, reasons) in enumerate(rows, start=1)
        ],
        search_criteria=search_criteria,
        description=description,
        external_id=external_id,
        related_party=related_party,
        by=by,
    )
