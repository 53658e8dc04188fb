"""`manage.py rebuild_service_paths`: recompute every service's paths (inventory.paths)."""

import time

from django.core.management.base import BaseCommand

from inventory.paths import service_paths_rebuild


class Command(BaseCommand):
    help = "Rebuild the service path table (what each customer-facing service stands on)."

    def handle(self, *args, **options):
        started = time.perf_counter()
        rows = service_paths_rebuild()
        elapsed = time.perf_counter() - started
        self.stdout.write(f"{rows} service path rows in {elapsed:.2f} s")
