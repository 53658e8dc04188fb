"""The demo's network and what the customers hold on it.

`ensure_network`: regions, sites, a gNB, an OLT and an edge router per site, a core router per
region, then the plant and pools of `inventory.demo_network`. `products_create`: each new demo
customer's product, the service realising it and its binding to an element (and a slice for 5G).
Bulk and seeded (the `seed_demo` command passes the random stream); additive by name.
"""

import random
from collections.abc import Sequence
from datetime import datetime, timedelta
from decimal import Decimal

from catalog import selectors as catalog_selectors
from catalog.demo import CATALOG, OfferingPlan
from inventory import demo_enterprise, demo_network
from inventory.models import ProductInstance, Region, Resource, Service, ServiceResource, Site
from inventory.services import bandwidth_mbps
from telco.demo import REGIONS, STREETS, rows_insert

# Which network element a service of each resource specification is bound to.
ELEMENT_FOR = {"gNB": "gnb", "OLT": "olt", "Edge Router": "router"}


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
    rows_insert(Site, new_sites)
    specifications = catalog_selectors.resource_specification_list()
    gnb_spec = specifications.get(name="gNB")
    olt_spec = specifications.get(name="OLT")
    router_spec = specifications.get(name="Edge Router")
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
    rows_insert(Resource, new_resources)
    # Cards, ports, ducts, cables and links (gNB/OLT -> site router -> regional core), pools.
    demo_network.ensure_plant()
    demo_network.ensure_pools()
    demo_enterprise.ensure_enterprise_access()
    by_kind: dict[str, list[Resource]] = {"gnb": [], "olt": [], "router": []}
    for element in (
        Resource.objects.filter(resource_kind__in=by_kind)
        .exclude(name__startswith="CORE-")
        .order_by("id")
    ):
        by_kind[element.resource_kind].append(element)
    return by_kind


# What each new product was made of (plan, bandwidth, start): `billing.demo` makes usage from it.
Choice = tuple[OfferingPlan, str, datetime]


def products_create(
    rng: random.Random,
    customers: Sequence,
    accounts: Sequence,
    offerings: dict,
    network: dict[str, list[Resource]],
    now: datetime,
) -> tuple[list[ProductInstance], list[Service], list[Choice]]:
    """For each customer (and its account), an active product of an offering of its segment,
    the service realising it, bound to an element of `network` (and a slice of it for 5G)."""
    slice_spec = catalog_selectors.resource_specification_list().get(name="5G Network Slice")
    service_specs = {
        o.name: o.product_specification.service_specifications.first() for o in offerings.values()
    }
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
    products = rows_insert(ProductInstance, products)
    services = rows_insert(
        Service,
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
    slice_rows = rows_insert(Resource, [r for _, r in slices])
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
    rows_insert(ServiceResource, bindings)
    return products, services, choices
