"""`labnet fail|heal|status|latency`: set how lab network elements answer, to exercise failure
paths. Speaks HTTP to the lab network's control API (`manage.py labnetd`, at LABNET_URL).

Other apps add subcommands at the lookup point "labnet.commands" (telco.panels): a function
named `labnet_<subcommand>(argv, stdout)` (assurance's `labnet kpis` generates KPI series).
"""

import sys

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from catalog.choices import ResourceKind
from inventory.models import Resource
from inventory.network.labclient import LabControl, LabRefused, LabUnreachable
from inventory.network.labstate import NONE, TRANSIENT, mode_parse
from telco.panels import lookups_for

# What `--all` means: the equipment and slices the drivers configure (not ports, numbers, ...).
NETWORK_ELEMENT_KINDS = [
    ResourceKind.GNB,
    ResourceKind.ENB,
    ResourceKind.SLICE,
    ResourceKind.ROUTER,
    ResourceKind.SWITCH,
    ResourceKind.OLT,
    ResourceKind.CORE_FUNCTION,
]


def subcommands() -> dict:
    """The subcommands other apps registered at "labnet.commands", by name."""
    prefix = "labnet_"
    return {
        function.__name__.removeprefix(prefix): function
        for function in lookups_for("labnet.commands")
        if function.__name__.startswith(prefix)
    }


class Command(BaseCommand):
    help = (
        "Make lab network elements fail (permanent, transient:N, timeout), heal them, list "
        "them, or set their latency (--ms)."
    )

    def run_from_argv(self, argv):
        """A registered subcommand gets the rest of the command line as it is."""
        registered = subcommands()
        if len(argv) > 2 and argv[2] in registered:
            registered[argv[2]](argv[3:], sys.stdout)
            sys.stdout.write("\n")
            return
        super().run_from_argv(argv)

    def add_arguments(self, parser):
        parser.add_argument("action", choices=["fail", "heal", "status", "latency"])
        parser.add_argument("element", nargs="?", help="The element's name (Resource.name).")
        parser.add_argument(
            "--all", dest="every", action="store_true", help="Every network element."
        )
        parser.add_argument("--mode", help="permanent | transient:N | timeout")
        parser.add_argument(
            "--ms", type=int, help="latency: milliseconds (every element, or the one named)"
        )

    def handle(self, *args, action, element, every, mode, ms, **options):
        lab = LabControl(settings.LABNET_URL)
        try:
            if action == "status":
                self._status(lab)
            elif action == "latency":
                self._latency(lab, element, ms)
            else:
                self._fail_or_heal(lab, action, element, every, mode)
        except (LabUnreachable, LabRefused) as error:
            raise CommandError(str(error)) from None

    def _fail_or_heal(self, lab, action, element, every, mode):
        names = self._element_names(element, every)
        if action == "fail":
            if not mode:
                raise CommandError("fail needs --mode permanent|transient:N|timeout")
            try:
                mode_name, _ = mode_parse(mode)
            except ValueError as error:
                raise CommandError(str(error)) from None
            if mode_name == NONE:
                raise CommandError("Unknown mode 'none': heal the element instead.")
        else:
            mode, mode_name = NONE, NONE
        lab.set_mode(names, mode)
        self.stdout.write(f"{action}: {len(names)} element(s) now '{mode_name}'.")

    def _latency(self, lab, element, milliseconds):
        if milliseconds is None or milliseconds < 0:
            raise CommandError("latency needs --ms N (0 or more)")
        if element:
            self._element_names(element, every=False)
        lab.latency(milliseconds, element)
        self.stdout.write(f"latency: {element or 'every element'} now {milliseconds} ms.")

    def _element_names(self, element: str | None, every: bool) -> list[str]:
        if every == bool(element):
            raise CommandError("Name one element or give --all.")
        if every:
            return list(
                Resource.objects.filter(resource_kind__in=NETWORK_ELEMENT_KINDS)
                .order_by("name")
                .values_list("name", flat=True)
            )
        if not Resource.objects.filter(name=element).exists():
            raise CommandError(f"No network element named '{element}'.")
        return [element]

    def _status(self, lab):
        for each in lab.elements():
            extra = f" ({each['failuresLeft']} left)" if each["mode"] == TRANSIENT else ""
            latency = f", latency {each['latencyMs']} ms" if each["latencyMs"] is not None else ""
            self.stdout.write(
                f"{each['name']}: {each['mode']}{extra}, {each['services']} active config(s)"
                f"{latency}"
            )
