"""`labnetd [--port N] [--host H]`: run the lab network, RESTCONF element servers for every
element (`inventory.network.labserver`), until interrupted."""

import signal

from django.conf import settings
from django.core.management.base import BaseCommand

from inventory.network.labserver import LabServer


class Command(BaseCommand):
    help = "Serve the lab network's elements over RESTCONF (and its control API)."

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=settings.LABNET_PORT)
        parser.add_argument(
            "--state-file", default=settings.LABNET_STATE_FILE, help="The journal (JSON lines)."
        )

    def handle(self, *args, host, port, state_file, verbosity, **options):
        server = LabServer(
            host=host,
            port=port,
            state_file=state_file,
            latency_ms=settings.LABNET_LATENCY_MS,
            # Longer than any driver waits, so the driver sees its own read timeout.
            hold_seconds=settings.LABNET_TIMEOUT_SECONDS * 2 + 1,
            verbose=verbosity > 1,
        )
        self.stdout.write(
            f"lab network at {server.url} (latency {settings.LABNET_LATENCY_MS} ms, "
            f"{len(server.state.elements)} element(s) from {state_file})"
        )
        self.stdout.flush()
        # `scripts/run` stops it with SIGTERM: leave as from Ctrl-C, the journal closed.
        signal.signal(signal.SIGTERM, signal.default_int_handler)
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            pass
        finally:
            server.httpd.server_close()
            server.state.close()
