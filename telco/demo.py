"""Demo data: a believable operator, built with bulk inserts so 100,000 customers take minutes.

Everything here is deterministic (seeded random) and additive: running it again creates only
what is missing, so `seed_demo` is safe to repeat and `--customers N` can grow the base.
"""

import random
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import F, Max, Sum

from assurance.models import Alarm
from assurance.services import alarm_raise
from billing.models import CustomerBill, UsageEvent
from billing.services import PAYMENT_TERMS, payment_create
from catalog.choices import LifecycleStatus, ServiceCategory
from catalog.models import (
    Catalog,
    Category,
    CharacteristicSpecification,
    ProductOffering,
    ProductSpecification,
    ResourceSpecification,
    ServiceSpecification,
)
from catalog.services import offering_create, offering_update, price_create
from crm.choices import TICKET_DEADLINES, TICKET_DEFAULT_PRIORITY
from crm.models import (
    BillingAccount,
    ContactMedium,
    CreditProfile,
    Customer,
    Party,
    PartyIdentification,
    PartyInteraction,
    TroubleTicket,
    TroubleTicketStatusChange,
)
from crm.services import standard_cycle_specification
from inventory import demo_network
from inventory.models import (
    ProductInstance,
    Region,
    Resource,
    Service,
    ServiceResource,
    Site,
)
from inventory.services import bandwidth_mbps
from telco import clock
from telco.auth import token_issue
from telco.roles import ADMIN, AGENT, FINANCE, NOC, ensure_roles

BATCH = 5000
DEMO_ACCOUNT_PREFIX = "DA"
SEED_USER = "seed_demo"  # who the demo's service calls and care history are recorded as
DEMO_PASSWORDS = {
    AGENT: "agent-demo",
    NOC: "noc-demo",
    FINANCE: "finance-demo",
    ADMIN: "admin-demo",
}

REGIONS = {
    "North": ["Leeds", "York", "Newcastle", "Sheffield"],
    "South": ["Brighton", "Southampton", "Portsmouth", "Reading"],
    "East": ["Norwich", "Cambridge", "Ipswich", "Colchester"],
    "West": ["Bristol", "Exeter", "Plymouth", "Bath"],
    "Central": ["Birmingham", "Leicester", "Coventry", "Nottingham"],
}
GIVEN_NAMES = [
    "Olivia",
    "Amelia",
    "Isla",
    "Ava",
    "Mia",
    "Ivy",
    "Lily",
    "Grace",
    "Sophia",
    "Freya",
    "Noah",
    "Oliver",
    "George",
    "Arthur",
    "Leo",
    "Harry",
    "Oscar",
    "Jack",
    "Henry",
    "Charlie",
    "Priya",
    "Aisha",
    "Mohammed",
    "Yusuf",
    "Wei",
    "Chen",
    "Kofi",
    "Ama",
    "Tomasz",
    "Zofia",
]
FAMILY_NAMES = [
    "Smith",
    "Jones",
    "Taylor",
    "Brown",
    "Williams",
    "Wilson",
    "Johnson",
    "Davies",
    "Patel",
    "Robinson",
    "Wright",
    "Thompson",
    "Evans",
    "Walker",
    "White",
    "Roberts",
    "Green",
    "Hall",
    "Khan",
    "Lewis",
    "Clarke",
    "Jackson",
    "Wood",
    "Harris",
    "Martin",
    "Cooper",
    "Hill",
    "Ward",
    "Nowak",
    "Okafor",
    "Chen",
    "Singh",
    "Murphy",
    "Kelly",
    "Campbell",
    "Stewart",
]
COMPANY_WORDS = [
    "Apex",
    "Harbour",
    "Northgate",
    "Bluebell",
    "Kestrel",
    "Meridian",
    "Oakridge",
    "Summit",
    "Riverside",
    "Copperfield",
    "Beacon",
    "Lighthouse",
    "Granite",
    "Willow",
    "Falcon",
    "Orbit",
]
COMPANY_KINDS = [
    "Logistics",
    "Dental",
    "Architects",
    "Bakery",
    "Consulting",
    "Engineering",
    "Foods",
    "Legal",
    "Media",
    "Motors",
    "Pharmacy",
    "Studios",
    "Systems",
    "Travel",
    "Ventures",
]
STREETS = [
    "High Street",
    "Station Road",
    "Church Lane",
    "Victoria Road",
    "Park Avenue",
    "Mill Lane",
    "Queen Street",
    "London Road",
    "Green Lane",
    "King Street",
]


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
}
# Which network element a service of each resource specification is bound to.
ELEMENT_FOR = {"gNB": "gnb", "OLT": "olt", "Edge Router": "router"}


def ensure_users() -> dict[str, tuple[str, str, str]]:
    """One demo user per role: {role: (username, password, api token)}."""
    groups = ensure_roles()
    users = {}
    for role, password in DEMO_PASSWORDS.items():
        user, created = get_user_model().objects.get_or_create(
            username=role,
            defaults={
                "first_name": role.capitalize(),
                "last_name": "Demo",
                "is_staff": role == ADMIN,
                "is_superuser": role == ADMIN,
            },
        )
        if created:
            user.set_password(password)
            user.save()
        user.groups.add(groups[role])
        # A valid token, renewed when the last one expired (API_TOKEN_TTL_HOURS).
        token = token_issue(user=user)
        users[role] = (user.username, password, token.key)
    return users


# The demo catalog's categories: (name, parent, description).
CATEGORIES = (
    ("Mobile", None, "5G mobile connectivity"),
    ("Broadband", None, "Fixed broadband at home and in the office"),
    ("Business", None, "Connectivity for companies"),
    ("5G", "Mobile", "5G plans"),
)


def ensure_catalog() -> dict[str, ProductOffering]:
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
    return offerings


def _launched_offering(
    name: str, *, categories: list[Category], prices: list[dict], **fields
) -> ProductOffering:
    """The offering `name`, in `categories`. When missing it is made as a product manager would:
    created with `fields`, priced with `prices` (price_create arguments), then launched, all
    through the catalog services and their checks (a handful of rows: no need for bulk)."""
    offering = ProductOffering.objects.filter(name=name).first()
    if offering is None:
        offering = offering_create(name=name, **fields)
        for price in prices:
            price_create(
                product_offering=offering,
                valid_from=offering.valid_from,
                lifecycle_status=LifecycleStatus.LAUNCHED,
                by=SEED_USER,
                **price,
            )
        offering = offering_update(
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
    "FTTH Access Service": (("FTTH line", "OLT"),),
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
        price_create(
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


def ensure_network(rng: random.Random, customers: int) -> dict[str, list[Resource]]:
    """Regions, sites, one gNB per site, OLTs and edge routers, fibre links to regional cores.

    Sized so every element stays below capacity for the given customer count.
    """
    sites_per_region = max(8, customers // 1000)
    existing = set(Resource.objects.values_list("name", flat=True))
    new_resources, new_sites = [], []
    for region_name, cities in REGIONS.items():
        region, _ = Region.objects.get_or_create(name=region_name)
        for number in range(1, sites_per_region + 1):
            city = cities[number % len(cities)]
            site_name = f"{region_name[:3].upper()}-{city[:3].upper()}-{number:03d}"
            if not Site.objects.filter(name=site_name).exists():
                new_sites.append(
                    Site(
                        region=region,
                        name=site_name,
                        address=f"{rng.randint(1, 200)} {rng.choice(STREETS)}, {city}",
                        latitude=Decimal(f"{rng.uniform(50.4, 54.9):.6f}"),
                        longitude=Decimal(f"{rng.uniform(-3.9, 1.2):.6f}"),
                    )
                )
    Site.objects.bulk_create(new_sites, batch_size=BATCH)
    gnb_spec = ResourceSpecification.objects.get(name="gNB")
    olt_spec = ResourceSpecification.objects.get(name="OLT")
    router_spec = ResourceSpecification.objects.get(name="Edge Router")
    for site in Site.objects.select_related("region"):
        for kind, spec, vendor, model, capacity in (
            ("gnb", gnb_spec, "Ericsson", "AIR 6449", 400_000),
            ("olt", olt_spec, "Nokia", "Lightspan MF-14", 400_000),
            ("router", router_spec, "Cisco", "ASR 9903", 400_000),
        ):
            name = f"{kind.upper()}-{site.name}"
            if name not in existing:
                new_resources.append(
                    Resource(
                        name=name,
                        resource_kind=kind,
                        category="physical",
                        resource_specification=spec,
                        site=site,
                        vendor=vendor,
                        model=model,
                        serial_number=f"SN{rng.randint(10**9, 10**10 - 1)}",
                        capacity_mbps=capacity,
                        usage_state="active",
                    )
                )
        core_name = f"CORE-{site.region.name.upper()}"
        if core_name not in existing:
            existing.add(core_name)
            new_resources.append(
                Resource(
                    name=core_name,
                    resource_kind="router",
                    category="physical",
                    site=site,
                    vendor="Juniper",
                    model="PTX10008",
                    capacity_mbps=4_000_000,
                    serial_number=f"SN{rng.randint(10**9, 10**10 - 1)}",
                    usage_state="active",
                )
            )
    Resource.objects.bulk_create(new_resources, batch_size=BATCH)
    # Cards, ports, ducts, cables and links (gNB/OLT -> site router -> regional core), pools.
    demo_network.ensure_plant()
    demo_network.ensure_pools()
    by_kind: dict[str, list[Resource]] = {"gnb": [], "olt": [], "router": []}
    for element in (
        Resource.objects.filter(resource_kind__in=by_kind)
        .exclude(name__startswith="CORE-")
        .order_by("id")
    ):
        by_kind[element.resource_kind].append(element)
    return by_kind


def _party(rng: random.Random, index: int, is_business: bool) -> Party:
    region = rng.choice(list(REGIONS))
    city = rng.choice(REGIONS[region])
    address = {
        "street": f"{rng.randint(1, 250)} {rng.choice(STREETS)}",
        "city": city,
        "postcode": f"{city[:2].upper()}{rng.randint(1, 20)} {rng.randint(1, 9)}"
        f"{rng.choice('ABDEFGHJLNPQRSTUWXYZ')}{rng.choice('ABDEFGHJLNPQRSTUWXYZ')}",
    }
    phone = f"+447{index:09d}"
    if is_business:
        name = f"{rng.choice(COMPANY_WORDS)} {rng.choice(COMPANY_KINDS)} Ltd"
        slug = name.split()[0].lower()
        return Party(
            kind="organization",
            organization_name=name,
            phone=phone,
            email=f"accounts{index}@{slug}.example",
            **address,
        )
    given, family = rng.choice(GIVEN_NAMES), rng.choice(FAMILY_NAMES)
    return Party(
        kind="individual",
        given_name=given,
        family_name=family,
        phone=phone,
        email=f"{given.lower()}.{family.lower()}{index}@mail.example",
        **address,
    )


def ensure_customers(
    rng: random.Random, count: int, offerings: dict, network: dict, report=print
) -> int:
    """Customers numbered 1..count with an account, an active product and its service.

    Only the missing numbers are created, so the command can be repeated or grown.
    """
    done = BillingAccount.objects.filter(account_number__startswith=DEMO_ACCOUNT_PREFIX).count()
    now = clock.now()
    created = 0
    slice_spec = ResourceSpecification.objects.get(name="5G Network Slice")
    service_specs = {
        o.name: o.product_specification.service_specifications.first() for o in offerings.values()
    }
    for start in range(done + 1, count + 1, BATCH):
        numbers = range(start, min(start + BATCH, count + 1))
        with transaction.atomic():
            businesses = {n: rng.random() < 0.15 for n in numbers}
            parties = Party.objects.bulk_create(
                [_party(rng, n, businesses[n]) for n in numbers], batch_size=BATCH
            )
            customers = Customer.objects.bulk_create(
                [
                    Customer(
                        party=p,
                        name=p.display_name,
                        segment=("enterprise" if rng.random() < 0.2 else "smallBusiness")
                        if businesses[n]
                        else "consumer",
                        created_at=now - timedelta(days=rng.randint(60, 900)),
                    )
                    for n, p in zip(numbers, parties, strict=True)
                ],
                batch_size=BATCH,
            )
            _contact_details(numbers, parties, customers, now)
            # Each account's bill structure names the standard "Monthly, day N" cycle.
            days = [rng.randint(1, 28) for _ in customers]
            cycles = {day: standard_cycle_specification(day) for day in set(days)}
            accounts = BillingAccount.objects.bulk_create(
                [
                    BillingAccount(
                        customer=c,
                        account_number=f"{DEMO_ACCOUNT_PREFIX}{n:08d}",
                        name=f"{c.name} main account",
                        bill_cycle_day=day,
                        cycle_specification=cycles[day],
                        payment_method=rng.choice(["directDebit", "card"]),
                        credit_limit=Decimal(5000 if c.segment == "enterprise" else 500),
                    )
                    for n, c, day in zip(numbers, customers, days, strict=True)
                ],
                batch_size=BATCH,
            )
            products, choices = [], []
            for customer, account in zip(customers, accounts, strict=True):
                eligible = [p for p in CATALOG if customer.segment in p.segments]
                plan = rng.choice(eligible)
                bandwidth = rng.choice(plan.bandwidths)
                started = now - timedelta(days=rng.randint(35, 120), hours=rng.randint(0, 23))
                products.append(
                    ProductInstance(
                        customer=customer,
                        billing_account=account,
                        product_offering=offerings[plan.name],
                        name=plan.name,
                        status="active",
                        characteristics={"bandwidth": bandwidth},
                        start_date=started,
                        created_at=started,
                    )
                )
                choices.append((plan, bandwidth, started))
            products = ProductInstance.objects.bulk_create(products, batch_size=BATCH)
            services = Service.objects.bulk_create(
                [
                    Service(
                        name=f"{plan.service} for {product.customer.name}",
                        category="CFS",
                        service_specification=service_specs[plan.name],
                        product=product,
                        state="active",
                        characteristics={"bandwidth": bandwidth},
                        start_date=started,
                        created_at=started,
                    )
                    for product, (plan, bandwidth, started) in zip(products, choices, strict=True)
                ],
                batch_size=BATCH,
            )
            slices, bindings = [], []
            for service, (plan, bandwidth, started) in zip(services, choices, strict=True):
                element_kind = ELEMENT_FOR[plan.resources[0]]
                element = rng.choice(network[element_kind])
                bindings.append(
                    ServiceResource(
                        service=service,
                        resource=element,
                        capacity_mbps=bandwidth_mbps(bandwidth),
                        state="active",
                        created_at=started,
                    )
                )
                if "5G Network Slice" in plan.resources:
                    slices.append(
                        (
                            service,
                            Resource(
                                name=f"SLICE-{service.pk}",
                                resource_kind="slice",
                                category="logical",
                                resource_specification=slice_spec,
                                parent=element,
                                site_id=element.site_id,
                                usage_state="active",
                                value=f"1-{service.pk:06x}",
                                characteristics={"sNssai": f"1-{service.pk:06x}"},
                            ),
                        )
                    )
            slice_rows = Resource.objects.bulk_create([r for _, r in slices], batch_size=BATCH)
            bindings += [
                ServiceResource(
                    service=service,
                    resource=slice_row,
                    is_exclusive=True,
                    state="active",
                    created_at=service.start_date,
                )
                for (service, _), slice_row in zip(slices, slice_rows, strict=True)
            ]
            ServiceResource.objects.bulk_create(bindings, batch_size=BATCH)
            UsageEvent.objects.bulk_create(
                _usage_for(rng, products, services, choices, now), batch_size=BATCH
            )
        created += len(numbers)
        report(f"  customers {start + len(numbers) - 1}/{count}")
    report(f"  care history: {ensure_care()} interactions")
    return created


def _contact_details(numbers, parties, customers, now) -> None:
    """Contact media (the party's columns as preferred media, a work email for every fifth, a
    landline for businesses), identity documents and a credit profile, in bulk.

    Everything follows from the customer number, not the shared random stream, so adding this
    changed none of the other demo data.
    """
    media, documents, profiles = [], [], []
    for n, party, customer in zip(numbers, parties, customers, strict=True):
        media += [
            ContactMedium(
                party=party, medium_type="email", preferred=True, email_address=party.email
            ),
            ContactMedium(
                party=party, medium_type="mobile", preferred=True, phone_number=party.phone
            ),
            ContactMedium(
                party=party,
                medium_type="postalAddress",
                preferred=True,
                street1=party.street,
                city=party.city,
                post_code=party.postcode,
                country=party.country,
            ),
        ]
        if n % 5 == 0:
            media.append(
                ContactMedium(
                    party=party,
                    medium_type="email",
                    contact_type="work",
                    email_address=f"customer{n}@work.example",
                )
            )
        if party.kind == "organization":
            media.append(
                ContactMedium(
                    party=party,
                    medium_type="phone",
                    contact_type="office",
                    phone_number=f"+44113{n:07d}",
                )
            )
            documents += [
                PartyIdentification(
                    party=party,
                    identification_type="companyRegistration",
                    identification_id=f"{n:08d}",
                    issuing_authority="Companies House",
                    issuing_country="GB",
                ),
                PartyIdentification(
                    party=party,
                    identification_type="vat",
                    identification_id=f"GB{n:09d}",
                    issuing_authority="HMRC",
                    issuing_country="GB",
                ),
            ]
        else:
            issued = (now - timedelta(days=200 + (n * 37) % 3000)).date()
            documents.append(
                PartyIdentification(
                    party=party,
                    identification_type="drivingLicence" if n % 3 == 0 else "passport",
                    identification_id=f"DL{n:09d}" if n % 3 == 0 else f"5{n:08d}",
                    issuing_authority="DVLA" if n % 3 == 0 else "HM Passport Office",
                    issuing_country="GB",
                    issuing_date=issued,
                    valid_to=now + timedelta(days=365 * 10 - (now.date() - issued).days),
                )
            )
        score = 300 + (n * 7919) % 650
        profiles.append(
            CreditProfile(
                customer=customer,
                credit_profile_date=customer.created_at,
                credit_score=score,
                credit_risk_rating=5 - min(4, (score - 300) // 130),
                valid_from=customer.created_at,
                valid_to=customer.created_at + timedelta(days=365 * 2),
            )
        )
    ContactMedium.objects.bulk_create(media, batch_size=BATCH)
    PartyIdentification.objects.bulk_create(documents, batch_size=BATCH)
    CreditProfile.objects.bulk_create(profiles, batch_size=BATCH)


DEMO_CARE_CUSTOMERS = 40  # customers with a care history: calls, chats, tickets, emails
CARE_CONTACTS = [
    ("phone", "inbound", "Bill higher than expected", "Explained the roaming charges."),
    ("chat", "inbound", "Data not working", "Talked through APN settings."),
    ("visit", "inbound", "New SIM card", "Swapped the SIM in the Leeds shop."),
    ("email", "inbound", "Change of address", "Asked to update the postal address."),
    ("phone", "outbound", "Contract renewal", "Offered the 5G Premium upgrade."),
]
CARE_TICKETS = [
    # (name, type, severity, status path)
    ("Slow data in the evening", "fault", "major", ["inProgress"]),
    ("Disputed roaming charge", "complaint", "minor", []),
    ("No signal at home", "fault", "critical", ["inProgress", "resolved"]),
    ("Port my number", "serviceRequest", "minor", ["inProgress", "resolved", "closed"]),
]


def ensure_care(seed: int = 42, count: int = DEMO_CARE_CUSTOMERS) -> int:
    """A care history for the first demo customers: logged contacts with notes, trouble tickets
    at every stage with their status history, and the emails sent when tickets were resolved.

    Written as the services would have left them, in bulk and without sending mail; skipped
    when already there, so safe to repeat. Returns the interactions created.
    """
    if PartyInteraction.objects.filter(created_by=SEED_USER).exists():
        return 0
    rng = random.Random(seed)  # noqa: S311 (demo data)
    now = clock.now()
    customers = list(
        Customer.objects.filter(accounts__account_number__startswith=DEMO_ACCOUNT_PREFIX)
        .select_related("party")
        .order_by("id")[:count]
    )
    interactions, tickets, moves = [], [], []
    for index, customer in enumerate(customers):
        for _ in range(rng.randint(1, 3)):
            channel, direction, reason, description = rng.choice(CARE_CONTACTS)
            when = now - timedelta(days=rng.randint(1, 60), minutes=rng.randint(0, 600))
            interactions.append(
                PartyInteraction(
                    customer=customer,
                    channel=channel,
                    direction=direction,
                    reason=reason,
                    description=description,
                    interaction_date=when,
                    end_date=when + timedelta(minutes=rng.randint(2, 25)),
                    created_by=SEED_USER,
                    created_at=when,
                    notes=[{"author": "agent", "date": when.isoformat(), "text": "Customer happy."}]
                    if rng.random() < 0.5
                    else [],
                )
            )
        if index % 3:
            continue
        name, ticket_type, severity, path = CARE_TICKETS[(index // 3) % len(CARE_TICKETS)]
        opened = now - timedelta(days=rng.randint(0, 20), hours=rng.randint(1, 20))
        deadlines = TICKET_DEADLINES[severity]
        ticket = TroubleTicket(
            customer=customer,
            name=name,
            description=f"{name}, reported by the customer.",
            ticket_type=ticket_type,
            severity=severity,
            priority=TICKET_DEFAULT_PRIORITY[severity],
            status=path[-1] if path else "acknowledged",
            related_entities=[],
            notes=[],
            expected_response_date=opened + deadlines["respond"],
            expected_resolution_date=opened + deadlines["resolve"],
            responded_at=opened + timedelta(minutes=30) if path else None,
            created_at=opened,
            last_update=opened,
        )
        steps, previous, at = [("", "acknowledged", opened)], "acknowledged", opened
        for status in path:
            at += timedelta(hours=rng.randint(1, 6))
            steps.append((previous, status, at))
            previous = status
            if status == "resolved":
                ticket.resolution_date = at
                ticket.status_change_reason = "Fixed and confirmed with the customer."
        ticket.last_update = at
        tickets.append((ticket, steps))
    PartyInteraction.objects.bulk_create(interactions, batch_size=BATCH)
    TroubleTicket.objects.bulk_create([t for t, _ in tickets])
    notifications = []
    for ticket, steps in tickets:
        for from_state, to_state, at in steps:
            moves.append(
                TroubleTicketStatusChange(
                    ticket=ticket,
                    from_state=from_state,
                    to_state=to_state,
                    changed_at=at,
                    changed_by="agent",
                    reason=ticket.status_change_reason if to_state == "resolved" else "",
                )
            )
            if to_state == "resolved":
                notifications.append(
                    PartyInteraction(
                        customer=ticket.customer,
                        channel="notification",
                        direction="outbound",
                        status="sent",
                        reason="troubleTicketResolved",
                        subject=f"Your trouble ticket TT{ticket.pk} is resolved",
                        description=f"Your trouble ticket TT{ticket.pk} has been resolved.",
                        recipient=ticket.customer.party.email,
                        interaction_date=at,
                        created_by=SEED_USER,
                        created_at=at,
                        related_entities=[{"id": str(ticket.pk), "@referredType": "TroubleTicket"}],
                    )
                )
    TroubleTicketStatusChange.objects.bulk_create(moves)
    PartyInteraction.objects.bulk_create(notifications)
    return len(interactions) + len(notifications)


def _usage_for(rng, products, services, choices, now) -> list[UsageEvent]:
    """About a month of data sessions for each mobile product, a few per day at most."""
    events = []
    for product, service, (plan, _, started) in zip(products, services, choices, strict=True):
        if plan.usage is None:
            continue
        rating_group = plan.usage[0]
        for session in range(rng.randint(4, 12)):
            when = now - timedelta(days=rng.uniform(0, 31))
            if when <= started:
                continue
            gigabytes = Decimal(rng.randint(20, 2500)) / 1000
            events.append(
                UsageEvent(
                    event_id=f"demo-{product.pk}-{session}",
                    service=service,
                    product=product,
                    billing_account_id=product.billing_account_id,
                    usage_date=when,
                    rating_group=rating_group,
                    volume=gigabytes * 1000,
                    unit="MB",
                    rated_volume=gigabytes,
                    usage_specification_id="data-session",
                )
            )
    return events


DEMO_PAYMENT_ACCOUNTS = 3000  # payments go one by one through the service: keep it a minute


def ensure_payments(seed: int = 42, limit: int = DEMO_PAYMENT_ACCOUNTS) -> int:
    """Payments on the demo accounts' bills, after the bill run: most accounts pay what they
    owe, some pay part, a few pay more (account credit), some nothing (overdue).

    The demo's bills come from one bill run today; they are first dated as if each had been
    issued when its period ended, so the older ones fall due and unpaid ones are overdue.
    Each account's behaviour comes from `seed` and its account number (not its id, which
    differs from one database to the next), and accounts that already have a demo payment are
    left alone, so this is safe to repeat.
    """
    demo_bills = CustomerBill.objects.filter(
        billing_account__account_number__startswith=DEMO_ACCOUNT_PREFIX
    )
    demo_bills.filter(bill_date__gt=F("period_end") + timedelta(days=1)).update(
        bill_date=F("period_end"),
        payment_due_date=F("period_end") + PAYMENT_TERMS,
        last_update=F("period_end"),
    )
    owing = (
        demo_bills.filter(remaining_amount__gt=0)
        .exclude(billing_account__payments__reference__startswith="demo-")
        .values("billing_account_id", "billing_account__account_number", "currency")
        .annotate(owed=Sum("remaining_amount"), last_due=Max("payment_due_date"))
        .order_by("billing_account_id")[:limit]
    )
    now = clock.now()
    created = 0
    for row in owing:
        account_number = row["billing_account__account_number"]
        rng = random.Random(f"{seed}-{account_number}")  # noqa: S311 (demo data)
        roll = rng.random()
        if roll < 0.15:
            continue  # pays nothing: overdue once the bills fall due
        owed = row["owed"]
        if roll < 0.30:
            amount = (owed * rng.randint(30, 80) / 100).quantize(Decimal("0.01"))
        elif roll < 0.35:
            amount = owed + rng.randint(5, 50)
        else:
            amount = owed
        if amount <= 0:
            continue
        payment_create(
            billing_account_id=row["billing_account_id"],
            amount=amount,
            currency=row["currency"],
            method=rng.choice(["directDebit", "card", "bankTransfer"]),
            reference=f"demo-{row['billing_account_id']}",
            payment_date=min(now, row["last_due"] - timedelta(days=rng.randint(0, 10))),
            created_by="demo",
        )
        created += 1
    return created


def ensure_alarms(rng: random.Random) -> int:
    """A few active alarms on gNBs that carry customers, as the NOC would see on a normal day."""
    if Alarm.objects.filter(source_system_id="demo-ems").exists():
        return 0
    now = clock.now()
    busiest = list(
        Resource.objects.filter(resource_kind="gnb", bindings__state="active")
        .distinct()
        .order_by("id")[:40]
    )
    causes = [
        ("communicationsAlarm", "lossOfSignal", "critical", "S1 link down"),
        ("equipmentAlarm", "powerProblem", "major", "Rectifier module failure"),
        ("qualityOfServiceAlarm", "thresholdCrossed", "minor", "PRB utilisation above 90%"),
        ("environmentalAlarm", "temperatureUnacceptable", "warning", "Cabinet temperature high"),
    ]
    created = 0
    for element in rng.sample(busiest, min(6, len(busiest))):
        alarm_type, cause, severity, problem = rng.choice(causes)
        _, is_new = alarm_raise(
            source_system_id="demo-ems",
            alarmed_object_id=str(element.pk),
            alarmed_object_type="gNB",
            alarm_type=alarm_type,
            perceived_severity=severity,
            probable_cause=cause,
            specific_problem=problem,
            alarm_raised_time=now - timedelta(minutes=rng.randint(5, 600)),
            by=SEED_USER,
        )
        created += is_new
    return created
