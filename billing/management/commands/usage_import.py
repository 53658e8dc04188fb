"""`python manage.py usage_import FILE [--chunk 50000] [--quiet]`: a CDR CSV file as usage.

The file (UTF-8, any size, streamed) has one record a line, comma-separated:

    event_id,service_id,usage_date,volume,unit,rating_group[,usage_type[,usage_specification
    [,destination]]]

`usage_date` is ISO 8601 (a time without a zone is UTC), `unit` one of bytes, KB, MB, GB
(a voice record: its duration in seconds), `destination` the number called; a
first line starting with `event_id` is a header and skipped. Each chunk of lines goes through
`usage_bulk_ingest` (COPY, then set-based) in its own transaction, so memory stays flat and an
interrupted import resumes by running it again (what is stored answers as replays). A line
that cannot be read (wrong number of fields, a date or volume that is none) is stored rejected
(`invalidValue`) with its line number. A progress bar goes to stderr; the counts, and the first
rejected lines, to stdout.
"""

import csv
import io
import time
from collections.abc import Iterator
from itertools import islice
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from billing.services.usage_bulk import UsageBatchResult, UsageRow, usage_bulk_ingest, usage_row
from telco.exceptions import DomainError

FIELDS_MIN, FIELDS_MAX = 6, 9
# Rejected lines printed (all are stored, with the reason, for the rejected-usage page).
PRINTED_PROBLEMS = 20


class _Lines:
    """The file's records as usage rows, noting the line number of each row handed out."""

    def __init__(self, path: Path):
        self.binary = path.open("rb")
        self.size = max(path.stat().st_size, 1)
        self.reader = csv.reader(io.TextIOWrapper(self.binary, encoding="utf-8", newline=""))
        self.numbers: list[int] = []

    def rows(self) -> Iterator[UsageRow]:
        for fields in self.reader:
            number = self.reader.line_num
            if not fields or (number == 1 and fields[0].strip() == "event_id"):
                continue
            self.numbers.append(number)
            if FIELDS_MIN <= len(fields) <= FIELDS_MAX:
                yield usage_row(
                    event_id=fields[0],
                    service_id=fields[1],
                    usage_date=fields[2],
                    volume=fields[3],
                    unit=fields[4],
                    rating_group=fields[5],
                    usage_type=fields[6] if len(fields) > 6 else "",
                    usage_specification_id=fields[7] if len(fields) > 7 else "",
                    destination=fields[8] if len(fields) > 8 else "",
                )
            else:
                event_id = fields[0].strip()[:80]
                message = (
                    f"line {number}: {len(fields)} fields, expected {FIELDS_MIN} to {FIELDS_MAX}"
                )
                yield usage_row(event_id=event_id)._replace(error=message)

    def fraction(self) -> float:
        return min(self.binary.tell() / self.size, 1.0)

    def close(self) -> None:
        self.binary.close()


class Command(BaseCommand):
    help = "Import a CDR CSV file as usage (COPY in chunks; rejected lines stored with reasons)."

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path)
        parser.add_argument("--chunk", type=int, default=50_000, help="records per transaction")
        parser.add_argument("--quiet", action="store_true", help="no progress bar")

    def handle(self, *args, **options):
        path, chunk = options["file"], options["chunk"]
        if not path.is_file():
            raise CommandError(f"{path} is not a file.")
        if chunk < 1:
            raise CommandError("--chunk must be at least 1.")
        lines = _Lines(path)
        total = UsageBatchResult()
        problems: list[str] = []
        began = time.monotonic()
        rows = lines.rows()
        try:
            while True:
                lines.numbers = []
                try:
                    result = usage_bulk_ingest(islice(rows, chunk), detail=False)
                except (DomainError, csv.Error, UnicodeDecodeError) as error:
                    raise CommandError(f"{path}: {error}") from error
                if not result.received:
                    break
                total.add(result)
                for answer in result.answers:
                    if len(problems) < PRINTED_PROBLEMS:
                        problems.append(self._problem(lines.numbers, answer))
                if not options["quiet"]:
                    self._progress(total.received, lines.fraction(), began)
        finally:
            lines.close()
        if not options["quiet"]:
            self.stderr.write("")
        self._report(total, problems, time.monotonic() - began)

    @staticmethod
    def _problem(numbers: list[int], answer) -> str:
        event = f" ({answer.event_id})" if answer.event_id else ""
        return f"line {numbers[answer.index]}{event}: {answer.reason}: {answer.message}"

    def _progress(self, done: int, fraction: float, began: float) -> None:
        elapsed = max(time.monotonic() - began, 1e-9)
        width = 30
        filled = int(fraction * width)
        bar = "#" * filled + "-" * (width - filled)
        self.stderr.write(
            f"\r[{bar}] {fraction:4.0%} {done:,} records {done / elapsed:,.0f}/s",
            ending="",
        )
        self.stderr.flush()

    def _report(self, total: UsageBatchResult, problems: list[str], seconds: float) -> None:
        self.stdout.write(
            f"{total.received:,} records: {total.chargeable:,} chargeable, "
            f"{total.rejected:,} rejected, {total.replays:,} replays, "
            f"{total.conflicts:,} conflicts ({seconds:.1f} s)"
        )
        for problem in problems:
            self.stdout.write(f"  {problem}")
        unprinted = total.rejected + total.conflicts - len(problems)
        if unprinted > 0:
            self.stdout.write(f"  ... and {unprinted:,} more (see the rejected usage page)")
