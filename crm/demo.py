"""The demo's customers: parties, customers and their billing accounts, contact details,
identity documents, credit profiles, and a care history for the first of them.

Bulk inserts from the seeded random stream the `seed_demo` command passes (so 100,000 customers
take minutes), numbered 1..N with the account number `DEMO_ACCOUNT_PREFIX` + number; written as
the services would have left them, without sending mail.
"""

import random
from collections.abc import Sequence
from datetime import datetime, timedelta
from decimal import Decimal

from crm import services
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
from telco import clock
from telco.demo import REGIONS, SEED_USER, STREETS, rows_insert

DEMO_ACCOUNT_PREFIX = "DA"
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


def customers_seeded() -> int:
    """How many demo customers exist (the numbers 1..N are taken)."""
    return BillingAccount.objects.filter(account_number__startswith=DEMO_ACCOUNT_PREFIX).count()


def customers_create(
    rng: random.Random, numbers: Sequence[int], now: datetime
) -> tuple[list[Customer], list[BillingAccount]]:
    """Customers `numbers`, each with a party, contact details and a main billing account."""
    businesses = {n: rng.random() < 0.15 for n in numbers}
    parties = rows_insert(
        Party,
        [_party(rng, n, businesses[n]) for n in numbers],
    )
    customers = rows_insert(
        Customer,
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
    )
    _contact_details(numbers, parties, customers, now)
    # Each account's bill structure names the standard "Monthly, day N" cycle.
    days = [rng.randint(1, 28) for _ in customers]
    cycles = {day: services.standard_cycle_specification(day) for day in set(days)}
    accounts = rows_insert(
        BillingAccount,
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
    )
    return customers, accounts


def _party(rng: random.Random, index: int, is_business: bool) -> Party:
    """Customer `index`'s party: a person or (`is_business`) a company, with an address."""
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
    rows_insert(ContactMedium, media)
    rows_insert(PartyIdentification, documents)
    rows_insert(CreditProfile, profiles)


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
    rows_insert(PartyInteraction, interactions)
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
