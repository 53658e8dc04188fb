"""`labnet fail|heal|status`: set how lab network elements answer, to exercise failure paths.

Other apps add subcommands at the lookup point "labnet.commands" (telco.panels): a function
named `labnet_<subcommand>(argv, stdout)` (assurance's `labnet kpis` generates KPI series).
"""

import sys

from django.core.management.base import BaseCommand, CommandError

from catalog.choices import ResourceKind
from inventory.choices import LabFailureMode
from inventory.models import LabElement, Resource
from telco import clock
from telco.panels import lookups_for


def _parse_mode(raw: str) -> tuple[str, int]:
    name, _, count = raw.partition(":")
    if name == LabFailureMode.TRANSIENT:
        if not count.isdigit() or int(count) < 1:
            raise CommandError("transient needs a number of failures: transient:N")
        return name, int(count)
    if name in (LabFailureMode.PERMANENT, LabFailureMode.TIMEOUT) and not count:
        return name, 0
    raise CommandError(f"Unknown mode '{raw}': permanent, transient:N or timeout.")


def subcommands() -> dict:
    """The subcommands other apps registered at "labnet.commands", by name."""
    prefix = "labnet_"
    return {
        function.__name__.removeprefix(prefix): function
        for function in lookups_for("labnet.commands")
        if function.__name__.startswith(prefix)
    }


class Command(BaseCommand):
    help = "Make lab network elements fail (permanent, transient:N, timeout), heal them, or list."

    def run_from_argv(self, argv):
        """A registered subcommand gets the rest of the command line as it is."""
        registered = subcommands()
        if len(argv) > 2 and argv[2] in registered:
            registered[argv[2]](argv[3:], sys.stdout)
            sys.stdout.write("\n")
            return
        super().run_from_argv(argv)

    def add_arguments(self, parser):
        parser.add_argument("action", choices=["fail", "heal", "status"])
        parser.add_argument("element", nargs="?", help="The element's name (Resource.name).")
        parser.add_argument(
            "--all", dest="every", action="store_true", help="Every network element."
        )
        parser.add_argument("--mode", help="permanent | transient:N | timeout")

    def handle(self, *args, action, element, every, mode, **options):
        if action == "status":
            self._status()
            return
        names = self._element_names(element, every)
        if action == "fail":
            if not mode:
                raise CommandError("fail needs --mode permanent|transient:N|timeout")
            failure_mode, failures = _parse_mode(mode)
        else:
            failure_mode, failures = LabFailureMode.NONE, 0
        for name in names:
            LabElement.objects.update_or_create(
                name=name,
                defaults={
                    "failure_mode": failure_mode,
                    "transient_failures_left": failures,
                    "last_update": clock.now(),
                },
            )
        self.stdout.write(f"{action}: {len(names)} element(s) now '{failure_mode}'.")

    def _element_names(self, element: str | None, every: bool) -> list[str]:
        if every == bool(element):
            raise CommandError("Name one element or give --all.")
        if every:
            return list(
                Resource.objects.filter(resource_kind__in=ResourceKind.values)
                .order_by("name")
                .values_list("name", flat=True)
            )
        if not Resource.objects.filter(name=element).exists():
            raise CommandError(f"No network element named '{element}'.")
        return [element]

    def _status(self):
        for lab_element in LabElement.objects.order_by("name"):
            extra = (
                f" ({lab_element.transient_failures_left} left)"
                if lab_element.failure_mode == LabFailureMode.TRANSIENT
                else ""
            )
            self.stdout.write(
                f"{lab_element.name}: {lab_element.failure_mode}{extra}, "
                f"{lab_element.configs.filter(is_active=True).count()} active config(s)"
            )
