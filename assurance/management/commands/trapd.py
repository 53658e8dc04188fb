"""`manage.py trapd`: receive SNMP traps and raise/clear alarms (see assurance.traps)."""

import logging
import signal
import threading

from django.conf import settings
from django.core.management.base import BaseCommand

from assurance.traps import TrapReceiver

logger = logging.getLogger("assurance.traps")


class Command(BaseCommand):
    help = "Receive SNMP traps on TRAPD_HOST:TRAPD_PORT (UDP) and raise/clear alarms from them."

    def add_arguments(self, parser):
        parser.add_argument("--host", default=settings.TRAPD_HOST)
        parser.add_argument("--port", type=int, default=settings.TRAPD_PORT)
        parser.add_argument(
            "--report-every",
            type=float,
            default=60.0,
            help="Seconds between the counter lines it logs (received, malformed, outcomes).",
        )

    def handle(self, *args, host, port, report_every, **options):
        receiver = TrapReceiver(host, port)
        self.stdout.write(f"trapd listening on udp {receiver.address[0]}:{receiver.address[1]}")
        self.stdout.flush()
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, lambda *_: receiver.stop())
        reporter = threading.Thread(target=self.report, args=(receiver, report_every), daemon=True)
        reporter.start()
        try:
            receiver.serve()
        finally:
            receiver.close()
            self.print_counters(receiver)

    def report(self, receiver: TrapReceiver, every: float) -> None:
        while not receiver.stopping.wait(every):
            self.print_counters(receiver)

    def print_counters(self, receiver: TrapReceiver) -> None:
        counters = receiver.snapshot()
        outcomes = ", ".join(f"{name} {count}" for name, count in sorted(counters.outcomes.items()))
        line = (
            f"trapd: received {counters.received}, malformed {counters.malformed}, "
            f"failed {counters.failed}, batches {counters.batches}; {outcomes or 'no alarms'}"
        )
        logger.info(line)
        self.stdout.write(line)
        self.stdout.flush()
