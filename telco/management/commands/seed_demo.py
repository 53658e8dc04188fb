import random
import time

from django.core.management import call_command
from django.core.management.base import BaseCommand

from inventory import demo_network
from telco import demo


class Command(BaseCommand):
    help = "Build a believable operator: network, catalog, customers with products, usage, alarms."

    def add_arguments(self, parser):
        parser.add_argument("--customers", type=int, default=1000)
        parser.add_argument(
            "--skip-bill-run", action="store_true", help="Do not bill the periods already ended."
        )
        parser.add_argument("--seed", type=int, default=42, help="Random seed (deterministic).")

    def handle(self, *args, customers, skip_bill_run, seed, **options):
        started = time.monotonic()
        rng = random.Random(seed)
        users = demo.ensure_users()
        offerings = demo.ensure_catalog()
        network = demo.ensure_network(rng, customers)
        self.stdout.write(
            f"network: {sum(len(v) for v in network.values())} elements; "
            f"catalog: {len(offerings)} offerings"
        )
        created = demo.ensure_customers(
            rng, customers, offerings, network, report=self.stdout.write
        )
        self.stdout.write(f"customers created: {created}")
        self.stdout.write(f"mobile numbers bound: {demo_network.ensure_mobile_numbers()}")
        self.stdout.write(f"alarms created: {demo.ensure_alarms(rng)}")
        if not skip_bill_run:
            call_command("bill_run", stdout=self.stdout)
            self.stdout.write(f"payments recorded: {demo.ensure_payments(seed)}")
        self.stdout.write(
            self.style.SUCCESS(f"demo data ready in {time.monotonic() - started:.1f}s")
        )
        self.stdout.write("demo users (username / password / API token):")
        for role, (username, password, token) in users.items():
            self.stdout.write(f"  {role:8} {username} / {password} / {token}")
