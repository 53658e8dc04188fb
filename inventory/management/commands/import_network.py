"""`import_network <kind> <file.csv>`: bulk import sites, equipment, cards, ports, ducts,
cables or links; every row is checked first, and a file with any error imports nothing."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from inventory.network_import import IMPORT_KINDS, ImportRejected, network_import


class Command(BaseCommand):
    help = "Import one kind of network object from a CSV file: all rows or none."

    def add_arguments(self, parser):
        parser.add_argument("kind", choices=IMPORT_KINDS)
        parser.add_argument("file", type=Path, help="CSV with a header row ('-' for stdin).")

    def handle(self, *args, kind: str, file: Path, **options):
        if str(file) == "-":
            text = self.stdin.read() if hasattr(self, "stdin") else ""
        else:
            try:
                text = file.read_text(encoding="utf-8-sig")
            except (OSError, UnicodeDecodeError) as error:
                raise CommandError(f"Cannot read {file}: {error}") from None
        try:
            result = network_import(kind=kind, text=text)
        except ImportRejected as rejected:
            for error in rejected.rows:
                self.stderr.write(f"row {error['row']}, {error['column']}: {error['message']}")
            raise CommandError(f"{len(rejected.rows)} error(s); nothing was imported.") from None
        self.stdout.write(
            f"{kind}: {result.created} created, {result.skipped} already there (skipped)."
        )
