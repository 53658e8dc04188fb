"""The demo operator, composed from what each app seeds of its own in its `demo.py`, in stack
order: users, catalog, network, customers (crm's parties and accounts, inventory's products and
services, billing's usage), mobile numbers, the lines' configuration on the lab network's
elements, alarms, then a bill run and payments.

Everything is deterministic (one seeded random stream, consumed in the same order every time) and
additive: running it again creates only what is missing, and `--customers N` grows the base.
"""

import random
import time
from collections.abc import Callable

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import BaseCommand
from django.db import transaction

from assurance import demo as assurance_demo
from billing import demo as billing_demo
from catalog import demo as catalog_demo
from crm import demo as crm_demo
from inventory import demo as inventory_demo
from inventory import demo_network
from inventory.network.labclient import LabControl, LabUnreachable
from telco import clock
from telco.auth import token_issue
from telco.demo import BATCH
from telco.roles import ADMIN, AGENT, FINANCE, NOC, RISK, ensure_roles

DEMO_PASSWORDS = {
    AGENT: "agent-demo",
    NOC: "noc-demo",
    FINANCE: "finance-demo",
    RISK: "risk-demo",
    ADMIN: "admin-demo",
}


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


def ensure_customers(
    rng: random.Random,
    count: int,
    offerings: dict,
    network: dict,
    report: Callable[[str], object] = print,
) -> int:
    """Customers numbered 1..count with an account, an active product, its service and usage,
    then the care history of the first ones. Only the missing numbers are created, so the
    command can be repeated or grown; each batch is one transaction."""
    done = crm_demo.customers_seeded()
    now = clock.now()
    created = 0
    for start in range(done + 1, count + 1, BATCH):
        numbers = range(start, min(start + BATCH, count + 1))
        with transaction.atomic():
            customers, accounts = crm_demo.customers_create(rng, numbers, now)
            products, services, choices = inventory_demo.products_create(
                rng, customers, accounts, offerings, network, now
            )
            billing_demo.usage_create(rng, products, services, choices, now)
        created += len(numbers)
        report(f"  customers {start + len(numbers) - 1}/{count}")
    report(f"  care history: {crm_demo.ensure_care()} interactions")
    return created


class Command(BaseCommand):
    help = "Build a believable operator: network, catalog, customers with products, usage, alarms."

    def add_arguments(self, parser):
        parser.add_argument("--customers", type=int, default=1000)
        parser.add_argument(
            "--skip-bill-run", action="store_true", help="Do not bill the periods already ended."
        )
        parser.add_argument("--seed", type=int, default=42, help="Random seed (deterministic).")

    def _load_lab_network(self) -> str:
        """The demo lines' configuration on the lab's elements (when the lab answers)."""
        control = LabControl(settings.LABNET_URL)
        try:
            loaded = demo_network.ensure_lab_configuration(control)
        except LabUnreachable:
            return (
                f"lab network: not running at {settings.LABNET_URL}; the demo lines are not "
                "configured on its elements (reconciliation will report them missing)"
            )
        return f"lab network: {loaded} service configurations loaded onto its elements"

    def handle(self, *args, customers, skip_bill_run, seed, **options):
        started = time.monotonic()
        rng = random.Random(seed)
        timings: list[tuple[str, float]] = []

        def step(name: str, work: Callable[[], object]) -> object:
            """Run one step of the demo and note how long it took."""
            began = time.monotonic()
            result = work()
            timings.append((name, time.monotonic() - began))
            return result

        users = step("users", ensure_users)
        offerings = step("catalog", catalog_demo.ensure_catalog)
        step("prepaid plans", billing_demo.ensure_prepaid_plans)
        network = step("network", lambda: inventory_demo.ensure_network(rng, customers))
        self.stdout.write(
            f"network: {sum(len(v) for v in network.values())} elements; "
            f"catalog: {len(offerings)} offerings"
        )
        created = step(
            "customers",
            lambda: ensure_customers(rng, customers, offerings, network, report=self.stdout.write),
        )
        self.stdout.write(f"customers created: {created}")
        numbered = step("mobile numbers", demo_network.ensure_mobile_numbers)
        self.stdout.write(f"mobile numbers bound: {numbered}")
        self.stdout.write(step("lab network", self._load_lab_network))
        self.stdout.write(
            f"alarms created: {step('alarms', lambda: assurance_demo.ensure_alarms(rng))}"
        )
        self.stdout.write(f"KPI samples stored: {step('kpis', assurance_demo.ensure_kpis)}")
        if not skip_bill_run:
            step("bill run", lambda: call_command("bill_run", stdout=self.stdout))
            paid = step("payments", lambda: billing_demo.ensure_payments(seed))
            self.stdout.write(f"payments recorded: {paid}")
        self.stdout.write(
            "steps: " + ", ".join(f"{name} {seconds:.1f}s" for name, seconds in timings)
        )
        self.stdout.write(
            self.style.SUCCESS(f"demo data ready in {time.monotonic() - started:.1f}s")
        )
        self.stdout.write("demo users (username / password / API token):")
        for role, (username, password, token) in users.items():
            self.stdout.write(f"  {role:8} {username} / {password} / {token}")
