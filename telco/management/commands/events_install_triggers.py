"""(Re)install the event outbox triggers (telco.events.triggers); `migrate` does it too."""

from django.core.management.base import BaseCommand

from telco.events.triggers import install_triggers


class Command(BaseCommand):
    help = "Create or replace the PostgreSQL triggers that write the event outbox."

    def handle(self, *args, **options):
        tables = sorted(set(install_triggers()))
        if not tables:
            self.stdout.write("Not PostgreSQL: events are not published, no trigger installed.")
            return
        self.stdout.write(f"Outbox triggers on {len(tables)} tables: {', '.join(tables)}")
