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
from django.utils import timezone
from rest_framework.authtoken.models import Token

from assurance.models import Alarm
from assurance.services import alarm_raise
from billing.models import UsageEvent
from catalog.models import (
    CharacteristicSpecification,
    ProductOffering,
    ProductOfferingPrice,
    ProductSpecification,
    ResourceSpecification,
    ServiceSpecification,
)
from crm.models import BillingAccount, Customer, Party
from inventory.models import (
    Link,
    ProductInstance,
    Region,
    Resource,
    Service,
    ServiceResource,
    Site,
)
from inventory.services import bandwidth_mbps
from telco.roles import ADMIN, AGENT, FINANCE, NOC, ensure_roles

BATCH = 5000
DEMO_ACCOUNT_PREFIX = "DA"
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
        "Enterprise",
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
RESOURCE_KINDS = {"gNB": "gnb", "5G Network Slice": "slice", "OLT": "olt", "Edge Router": "router"}
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
        token, _ = Token.objects.get_or_create(user=user)
        users[role] = (user.username, password, token.key)
    return users


def ensure_catalog() -> dict[str, ProductOffering]:
    resource_specs = {
        name: ResourceSpecification.objects.get_or_create(
            name=name, defaults={"resource_kind": kind}
        )[0]
        for name, kind in RESOURCE_KINDS.items()
    }
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
        offering, created = ProductOffering.objects.get_or_create(
            name=plan.name,
            defaults={
                "product_specification": product_spec,
                "category": plan.category,
                "lifecycle_status": "launched",
                "valid_from": timezone.now() - timedelta(days=365),
            },
        )
        if created:
            start = offering.valid_from
            ProductOfferingPrice.objects.create(
                product_offering=offering,
                name="Activation fee",
                price_type="oneTime",
                amount=Decimal(plan.activation_fee),
                valid_from=start,
            )
            ProductOfferingPrice.objects.create(
                product_offering=offering,
                name="Monthly fee",
                price_type="recurring",
                recurring_period="month",
                amount=Decimal(plan.monthly),
                valid_from=start,
            )
            if plan.usage:
                rating_group, per_gb, included = plan.usage
                ProductOfferingPrice.objects.create(
                    product_offering=offering,
                    name="Data usage",
                    price_type="usage",
                    amount=Decimal(per_gb),
                    rating_group=rating_group,
                    unit_of_measure="GB",
                    included_allowance=Decimal(included),
                    valid_from=start,
                )
        offerings[plan.name] = offering
    return offerings


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
    cores = {
        r.site.region_id: r
        for r in Resource.objects.filter(name__startswith="CORE-").select_related("site")
    }
    links = []
    existing_links = set(Link.objects.values_list("name", flat=True))
    for element in (
        Resource.objects.filter(resource_kind__in=["gnb", "olt", "router"])
        .exclude(name__startswith="CORE-")
        .select_related("site")
    ):
        name = f"FIBRE-{element.name}"
        core = cores[element.site.region_id]
        if name not in existing_links:
            links.append(
                Link(name=name, a_end=element, z_end=core, medium="fibre", capacity_mbps=100_000)
            )
    Link.objects.bulk_create(links, batch_size=BATCH)
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
    now = timezone.now()
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
            accounts = BillingAccount.objects.bulk_create(
                [
                    BillingAccount(
                        customer=c,
                        account_number=f"{DEMO_ACCOUNT_PREFIX}{n:08d}",
                        name=f"{c.name} main account",
                        bill_cycle_day=rng.randint(1, 28),
                        payment_method=rng.choice(["directDebit", "card"]),
                        credit_limit=Decimal(5000 if c.segment == "enterprise" else 500),
                    )
                    for n, c in zip(numbers, customers, strict=True)
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
    return created


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


def ensure_alarms(rng: random.Random) -> int:
    """A few active alarms on gNBs that carry customers, as the NOC would see on a normal day."""
    if Alarm.objects.filter(source_system_id="demo-ems").exists():
        return 0
    now = timezone.now()
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
            by="seed_demo",
        )
        created += is_new
    return created
