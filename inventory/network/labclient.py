"""A client of the lab network's control API (`inventory.network.labserver`), for
`manage.py labnet` and the tests: failure modes, latency, what an element holds."""

from urllib.parse import quote

import requests


class LabUnreachable(Exception):
    """The lab network does not answer at its URL."""


class LabRefused(Exception):
    """The lab network refused a control request (an unknown mode, a bad latency)."""


class LabControl:
    """`LabControl(url).fail("OLT-1", "transient:2")`, `.heal()`, `.config("OLT-1")`, ..."""

    def __init__(self, url: str, timeout: float = 10.0):
        self.url = url.rstrip("/")
        self.timeout = timeout
        self.session = requests.Session()

    def _call(self, method: str, path: str, body: dict | None = None):
        try:
            response = self.session.request(
                method, f"{self.url}/lab/{path}", json=body, timeout=self.timeout
            )
        except requests.RequestException as error:
            raise LabUnreachable(
                f"The lab network does not answer at {self.url} ({error.__class__.__name__}): "
                "start it with `manage.py labnetd`."
            ) from None
        if response.status_code >= 400:
            raise LabRefused(response.json().get("error", response.text))
        return response.json() if response.content else None

    def fail(self, element: str, mode: str) -> None:
        """Make the element answer as `mode` says: permanent, timeout or transient:N."""
        self._call("PUT", f"elements/{quote(element, safe='')}", {"mode": mode})

    def set_mode(self, elements: list[str] | None, mode: str) -> int:
        """`mode` for the named elements (every element the lab knows when None)."""
        body = {"mode": mode} if elements is None else {"mode": mode, "elements": elements}
        return self._call("PUT", "elements", body)["updated"]

    def heal(self, element: str | None = None) -> None:
        """The element (every element when None) answers normally again."""
        if element is None:
            self.set_mode(None, "none")
        else:
            self.fail(element, "none")

    def element(self, element: str) -> dict:
        """Mode, latency, running configuration by module and recent changes."""
        return self._call("GET", f"elements/{quote(element, safe='')}")

    def config(self, element: str) -> dict:
        """The running configuration, service key -> entry, across the element's modules."""
        modules = self.element(element)["config"]
        return {key: entry for entries in modules.values() for key, entry in entries.items()}

    def changes(self, element: str) -> list[dict]:
        """The changes that took effect (not the replays), oldest first: operation ("put" or
        "delete"), module, service, idempotencyKey."""
        return self.element(element)["changes"]

    def load(self, element: str, module: str, entries: dict[str, dict]) -> int:
        """Put `entries` (service key -> entry of `module`) on the element in one request, as a
        network that already carries them: the demo's lines."""
        path = f"elements/{quote(element, safe='')}/config/{quote(module, safe='')}"
        return self._call("PUT", path, {"entries": entries})["loaded"]

    def elements(self) -> list[dict]:
        return self._call("GET", "elements")["elements"]

    def latency(self, milliseconds: int, element: str | None = None) -> None:
        """Every element's latency, or one element's own (None there: back to the lab's)."""
        if element is None:
            self._call("PUT", "latency", {"latencyMs": milliseconds})
        else:
            quoted = quote(element, safe="")
            self._call("PUT", f"elements/{quoted}", {"latencyMs": milliseconds})

    def reset(self) -> None:
        """Forget every element, its configuration and mode; latency back to the start's."""
        self._call("POST", "reset")

    def configured(self) -> dict[str, set[str]]:
        """Every element that holds configuration: its name -> the services it holds."""
        return {
            each["name"]: set(self.config(each["name"]))
            for each in self.elements()
            if each["services"]
        }
