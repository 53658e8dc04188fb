"""The demo catalog: five offerings the generated customers hold (`CATALOG`), and one example of
each thing the catalog can express beyond them (RFS behind each CFS, a tiered annual plan, a
welcome discount, a bundle).

Made as a product manager would, through the catalog services and their checks; additive: what
exists by name is left alone, so building it twice adds nothing.
"""

from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

from catalog import services
from catalog.choices import LifecycleStatus, ServiceCategory
from catalog.demo_enterprise import ensure_enterprise_catalog
from catalog.models import (
    Catalog,
    Category,
    CharacteristicSpecification,
    ProductOffering,
    ProductSpecification,
    ResourceSpecification,
    ServiceLevelAgreement,
    ServiceSpecification,
)
from telco import clock
from telco.demo import SEED_USER


@dataclass(frozen=True)
class OfferingPlan:
    """One offering of the demo catalog and how it is built and priced."""

    name: str
    category: str
    specification: str
    service: str
    resources: tuple[str, ...]
    bandwidths: tuple[str, ...]
    activation_fee: str
    monthly: str
    usage: tuple[str, str, str] | None  # rating group, price per GB, included GB
    segments: tuple[str, ...]


CATALOG = [
    OfferingPlan(
        "5G Premium",
        "Mobile",
        "5G Connectivity",
        "5G Slice Service",
        ("gNB", "5G Network Slice"),
        ("100Mbps", "500Mbps", "1Gbps"),
        "49.00",
        "30.00",
        ("DATA_5G_PREMIUM", "2.00", "5"),
        ("consumer", "smallBusiness", "enterprise"),
    ),
    OfferingPlan(
        "5G Essential",
        "Mobile",
        "5G Connectivity Lite",
        "5G Slice Service",
        ("gNB", "5G Network Slice"),
        ("50Mbps", "100Mbps"),
        "19.00",
        "15.00",
        ("DATA_5G_ESSENTIAL", "3.00", "2"),
        ("consumer", "smallBusiness"),
    ),
    OfferingPlan(
        "Fibre 500",
        "Broadband",
        "FTTH Access",
        "FTTH Access Service",
        ("OLT",),
        ("500Mbps",),
        "29.00",
        "35.00",
        None,
        ("consumer", "smallBusiness"),
    ),
    OfferingPlan(
        "Fibre 1000",
        "Broadband",
        "FTTH Access Gigabit",
        "FTTH Access Service",
        ("OLT",),
        ("1Gbps",),
        "29.00",
        "45.00",
        None,
        ("consumer", "smallBusiness"),
    ),
    OfferingPlan(
        "Enterprise Ethernet",
        "Business",
        "Carrier Ethernet",
        "Ethernet Line Service",
        ("Edge Router",),
        ("1Gbps", "10Gbps"),
        "500.00",
        "650.00",
        None,
        ("enterprise",),
    ),
]
RESOURCE_KINDS = {
    "gNB": "gnb",
    "5G Network Slice": "slice",
    "OLT": "olt",
    "Edge Router": "router",
    "MSISDN": "msisdn",
    "SIM card": "sim",
    "PON port": "port",
    "ONT": "ont",
    "VLAN": "vlan",
    "IP address": "ipAddress",
}


# The demo catalog's categories: (name, parent, description).
CATEGORIES = (
    ("Mobile", None, "5G mobile connectivity"),
    ("Broadband", None, "Fixed broadband at home and in the office"),
    ("Business", None, "Connectivity for companies"),
    ("5G", "Mobile", "5G plans"),
)


def ensure_catalog() -> dict[str, ProductOffering]:
    """The demo catalog, made when missing; the offerings of `CATALOG` by name."""
    resource_specs = {
        name: ResourceSpecification.objects.get_or_create(
            name=name, defaults={"resource_kind": kind}
        )[0]
        for name, kind in RESOURCE_KINDS.items()
    }
    categories: dict[str, Category] = {}
    for name, parent, description in CATEGORIES:
        categories[name] = Category.objects.get_or_create(
            name=name, defaults={"parent": categories.get(parent), "description": description}
        )[0]
    offerings = {}
    for plan in CATALOG:
        service_spec, _ = ServiceSpecification.objects.get_or_create(name=plan.service)
        service_spec.resource_specifications.add(*(resource_specs[r] for r in plan.resources))
        product_spec, _ = ProductSpecification.objects.get_or_create(
            name=plan.specification, defaults={"brand": "Telco"}
        )
        product_spec.service_specifications.add(service_spec)
        if plan.service == "FTTH Access Service":
            CharacteristicSpecification.objects.get_or_create(
                product_specification=product_spec,
                name="ontSerial",
                defaults={
                    "description": "Serial of the customer's ONT (registered when given)",
                },
            )
        CharacteristicSpecification.objects.get_or_create(
            product_specification=product_spec,
            name="bandwidth",
            defaults={
                "allowed_values": list(plan.bandwidths),
                "default_value": plan.bandwidths[0],
                "is_required": True,
                "description": "Peak downlink bandwidth",
            },
        )
        prices = [
            {
                "name": "Activation fee",
                "price_type": "oneTime",
                "amount": Decimal(plan.activation_fee),
            },
            {
                "name": "Monthly fee",
                "price_type": "recurring",
                "recurring_period": "month",
                "amount": Decimal(plan.monthly),
            },
        ]
        if plan.usage:
            rating_group, per_gb, included = plan.usage
            prices.append(
                {
                    "name": "Data usage",
                    "price_type": "usage",
                    "amount": Decimal(per_gb),
                    "rating_group": rating_group,
                    "unit_of_measure": "GB",
                    "included_allowance": Decimal(included),
                }
            )
        offerings[plan.name] = _launched_offering(
            plan.name,
            categories=[categories[plan.category]],
            prices=prices,
            product_specification=product_spec,
            market_segments=list(plan.segments),
            valid_from=clock.now() - timedelta(days=365),
        )
    ensure_catalog_depth(offerings, resource_specs, categories)
    ensure_slas(offerings)
    ensure_prepaid_offering(offerings, categories)
    # Enterprise VPN, and Enterprise Ethernet as a site access on the PE (not in CATALOG).
    ensure_enterprise_catalog()
    return offerings


def _launched_offering(
    name: str, *, categories: list[Category], prices: list[dict], **fields
) -> ProductOffering:
    """The offering `name`, in `categories`. When missing it is made as a product manager would:
    created with `fields`, priced with `prices` (price_create arguments), then launched, all
    through the catalog services and their checks (a handful of rows: no need for bulk)."""
    offering = ProductOffering.objects.filter(name=name).first()
    if offering is None:
        offering = services.offering_create(name=name, **fields)
        for price in prices:
            services.price_create(
                product_offering=offering,
                valid_from=offering.valid_from,
                lifecycle_status=LifecycleStatus.LAUNCHED,
                by=SEED_USER,
                **price,
            )
        offering = services.offering_update(
            offering=offering,
            changes={"lifecycle_status": LifecycleStatus.LAUNCHED},
            by=SEED_USER,
        )
    offering.categories.add(*categories)
    return offering


# RFS realising each CFS of the demo: (name, a resource specification it binds).
SUPPORTING_SERVICES = {
    # The RAN access of a mobile service also takes a number and a SIM from the pools.
    "5G Slice Service": (
        ("5G RAN access", "gNB"),
        ("5G RAN access", "MSISDN"),
        ("5G RAN access", "SIM card"),
        ("5G network slice", "5G Network Slice"),
    ),
    # A fibre line: the access (a PON port of an OLT and the ONT registered on it), a VLAN and
    # an address from the pools of the BNG (the site's edge router) the OLT is uplinked to.
    "FTTH Access Service": (
        ("FTTH access", "OLT"),
        ("FTTH access", "PON port"),
        ("FTTH access", "ONT"),
        ("FTTH VLAN", "VLAN"),
        ("FTTH VLAN", "Edge Router"),
        ("FTTH IP", "IP address"),
    ),
    "Ethernet Line Service": (("Ethernet access", "Edge Router"),),
}


def ensure_catalog_depth(
    offerings: dict[str, ProductOffering], resource_specs: dict, categories: dict[str, Category]
) -> None:
    """What the catalog can express beyond plain offerings, one example each.

    RFS behind each CFS, a catalog of categories, an annual 5G plan with tiered data, a
    three-month 20% welcome discount on 5G Essential, and a home bundle (5G + fibre). The
    offerings added here are not in CATALOG, so the generated customers do not hold them.
    """
    for cfs_name, supporting in SUPPORTING_SERVICES.items():
        cfs = ServiceSpecification.objects.filter(name=cfs_name).first()
        if cfs is None:
            continue
        names = {rfs_name for rfs_name, _ in supporting}
        # An RFS a CFS no longer decomposes into (fibre's single "FTTH line") is let go.
        cfs.supporting_specifications.remove(*cfs.supporting_specifications.exclude(name__in=names))
        for rfs_name, resource in supporting:
            rfs, _ = ServiceSpecification.objects.get_or_create(
                name=rfs_name, defaults={"category": ServiceCategory.RESOURCE_FACING}
            )
            rfs.resource_specifications.add(resource_specs[resource])
            cfs.supporting_specifications.add(rfs)
    catalog, _ = Catalog.objects.get_or_create(
        name="Telco retail catalog", defaults={"catalog_type": "retail"}
    )
    catalog.categories.add(*categories.values())
    for name in ("5G Premium", "5G Essential"):
        offerings[name].categories.add(categories["5G"])
    start = offerings["5G Premium"].valid_from
    _launched_offering(
        "5G Premium Annual",
        categories=[categories["Mobile"], categories["5G"]],
        prices=[
            {"name": "Activation fee", "price_type": "oneTime", "amount": Decimal("49.00")},
            {
                "name": "Yearly fee",
                "price_type": "recurring",
                "recurring_period": "year",
                "amount": Decimal("300.00"),
            },
            {
                "name": "Tiered data usage",
                "price_type": "usage",
                "amount": Decimal("2.00"),
                "rating_group": "DATA_5G_PREMIUM",
                "unit_of_measure": "GB",
                "included_allowance": Decimal("5"),
                "tiers": [
                    {"lower_bound": 0, "upper_bound": 10, "unit_amount": Decimal("2.00")},
                    {"lower_bound": 10, "upper_bound": 50, "unit_amount": Decimal("1.50")},
                    {"lower_bound": 50, "upper_bound": None, "unit_amount": Decimal("1")},
                ],
            },
        ],
        description="5G Premium paid yearly, with data cheaper the more you use",
        product_specification=offerings["5G Premium"].product_specification,
        valid_from=start,
    )
    essential = offerings["5G Essential"]
    if not essential.prices.filter(name="Welcome discount").exists():
        services.price_create(
            product_offering=essential,
            name="Welcome discount",
            price_type="discount",
            percentage=Decimal("20"),
            applies_for_periods=3,
            valid_from=essential.valid_from,
            lifecycle_status=LifecycleStatus.LAUNCHED,
            by=SEED_USER,
        )
    bundle_spec, _ = ProductSpecification.objects.get_or_create(
        name="Home Bundle", defaults={"brand": "Telco", "lifecycle_status": "launched"}
    )
    _launched_offering(
        "5G + Fibre Home Bundle",
        categories=[categories["Mobile"], categories["Broadband"]],
        prices=[{"name": "Bundle discount", "price_type": "discount", "amount": Decimal("10.00")}],
        description="5G Essential and Fibre 500 together, 10 EUR a month off",
        product_specification=bundle_spec,
        is_bundle=True,
        bundled_offering_ids=[str(essential.pk), str(offerings["Fibre 500"].pk)],
        market_segments=["consumer"],
        valid_from=start,
    )


def ensure_slas(offerings: dict[str, ProductOffering]) -> None:
    """The enterprise offerings promise an SLA (made when missing): 99.9 % a month, at most
    40 outage minutes, latency under 20 ms but for an hour, and credits by availability band."""
    for offering in offerings.values():
        if "enterprise" not in offering.market_segments:
            continue
        sla = ServiceLevelAgreement(
            offering=offering,
            name=f"{offering.name} SLA",
            availability_target=Decimal("99.9"),
            max_outage_minutes=40,
            outage_credit_percent=Decimal(10),
            latency_target_ms=20,
            latency_allowance_minutes=60,
            latency_credit_percent=Decimal(5),
            credit_bands=[
                {"availabilityBelow": "99.9", "creditPercent": "10"},
                {"availabilityBelow": "99.5", "creditPercent": "25"},
                {"availabilityBelow": "99", "creditPercent": "50"},
            ],
        )
        if not ServiceLevelAgreement.objects.filter(offering=offering).exists():
            sla.full_clean()
            sla.save()


PREPAID_OFFERING = "5G Prepaid 20 GB"


def ensure_prepaid_offering(
    offerings: dict[str, ProductOffering], categories: dict[str, Category]
) -> ProductOffering:
    """The prepaid 5G plan: no price on a bill; what it gives and costs is its prepaid plan
    (billing's PrepaidPlan: 20 GB, 200 minutes and 100 SMS for 30 days, paid from the
    balance). Not in CATALOG, so the generated customers do not hold it."""
    return _launched_offering(
        PREPAID_OFFERING,
        categories=[categories["Mobile"], categories["5G"]],
        prices=[],
        description="Prepaid 5G: 20 GB, 200 minutes and 100 SMS for 30 days; top up any time",
        product_specification=offerings["5G Essential"].product_specification,
        market_segments=["consumer"],
        valid_from=offerings["5G Essential"].valid_from,
    )
