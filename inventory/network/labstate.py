"""What the lab network holds, per element, and its journal. Pure Python: no Django, no database.

Per element: the running configuration (module -> service key -> entry), the answers given to the
idempotency keys applied (a repeat gets the same answer and changes nothing), the failure mode
(none, permanent, timeout, transient with the failures left), an optional latency of its own and
the recent effective changes. Every change is one JSON line appended to the journal before it is
answered; at start, and again every COMPACT_AFTER lines, the journal is rewritten as one
snapshot line per element, so a lab that runs for months does not replay months of changes.
"""

import json
import os
import threading
from collections import OrderedDict, deque
from pathlib import Path

NONE, PERMANENT, TRANSIENT, TIMEOUT = "none", "permanent", "transient", "timeout"
# A long-running lab keeps this many answered keys and changes per element (a retry comes
# seconds or minutes after its first try, never hundreds of thousands of changes later).
ANSWERS_KEPT = 10_000
CHANGES_KEPT = 1_000
# Journal lines appended before it is rewritten as snapshots (a few seconds of a busy lab).
COMPACT_AFTER = 100_000


def mode_parse(raw: str) -> tuple[str, int]:
    """ "none", "permanent", "timeout" or "transient:N" (N >= 1) -> (mode, failures left)."""
    name, _, count = str(raw).partition(":")
    if name == TRANSIENT:
        if not count.isdigit() or int(count) < 1:
            raise ValueError("transient needs a number of failures: transient:N")
        return name, int(count)
    if name in (NONE, PERMANENT, TIMEOUT) and not count:
        return name, 0
    raise ValueError(f"Unknown mode '{raw}': none, permanent, transient:N or timeout.")


def _new_element() -> dict:
    return {
        "mode": NONE,
        "failuresLeft": 0,
        "latencyMs": None,
        "config": {},
        "answers": OrderedDict(),
        "changes": deque(maxlen=CHANGES_KEPT),
    }


def _snapshot(element: dict) -> dict:
    return {
        **element,
        "answers": [[key, *answer] for key, answer in element["answers"].items()],
        "changes": list(element["changes"]),
    }


def _restore(state: dict) -> dict:
    element = _new_element()
    element.update(
        mode=state["mode"],
        failuresLeft=state["failuresLeft"],
        latencyMs=state["latencyMs"],
        config=state["config"],
    )
    element["answers"] = OrderedDict(
        (key, [status, body]) for key, status, body in state["answers"]
    )
    element["changes"].extend(state["changes"])
    return element


class LabState:
    """The elements of one lab network, safe to use from many threads."""

    def __init__(
        self,
        state_file: str | Path | None,
        latency_ms: int = 0,
        compact_after: int = COMPACT_AFTER,
    ):
        self.condition = threading.Condition()
        self.elements: dict[str, dict] = {}
        self.default_latency_ms = latency_ms
        self.latency_ms = latency_ms
        # Bumped by heal and reset: requests held in timeout mode wake up and give up.
        self.generation = 0
        self.state_file = Path(state_file) if state_file else None
        self.journal = None
        self.journal_lines = 0  # appended since the last compaction
        self.compact_after = compact_after
        if self.state_file:
            self.state_file.parent.mkdir(parents=True, exist_ok=True)
            self._replay()
            self._compact()
            self.journal = self.state_file.open("a", encoding="utf-8")

    # The journal.

    def _replay(self) -> None:
        if not self.state_file.exists():
            return
        with self.state_file.open(encoding="utf-8") as journal:
            for line in journal:
                try:
                    record = json.loads(line)
                except json.JSONDecodeError:
                    continue  # a line cut short by a crash mid-write was never answered
                self._apply(record)

    def _compact(self) -> None:
        """Rewrite the journal as one snapshot line per element (atomically, by rename)."""
        temporary = self.state_file.with_name(self.state_file.name + ".tmp")
        with temporary.open("w", encoding="utf-8") as out:
            for name, element in self.elements.items():
                record = {"op": "snapshot", "element": name, "state": _snapshot(element)}
                out.write(json.dumps(record) + "\n")
        os.replace(temporary, self.state_file)
        self.journal_lines = 0

    def _record(self, record: dict) -> None:
        """Apply a change and append it to the journal (the caller holds the lock)."""
        self._apply(record)
        if self.journal:
            self.journal.write(json.dumps(record) + "\n")
            self.journal.flush()  # in the OS once answered: survives the process being killed
            self.journal_lines += 1
            if self.journal_lines >= self.compact_after:
                self.journal.close()
                self._compact()
                self.journal = self.state_file.open("a", encoding="utf-8")

    def _apply(self, record: dict) -> None:
        operation, name = record["op"], record["element"]
        if operation == "snapshot":
            self.elements[name] = _restore(record["state"])
            return
        element = self.elements.setdefault(name, _new_element())
        if operation == "set":
            element.update(
                mode=record["mode"],
                failuresLeft=record["failuresLeft"],
                latencyMs=record["latencyMs"],
            )
            return
        entries = element["config"].setdefault(record["module"], {})
        if operation == "load":
            entries.update(record["entries"])
            return
        if operation == "put":
            entries[record["key"]] = record["entry"]
        else:
            entries.pop(record["key"], None)
        if record.get("idempotencyKey"):
            answers = element["answers"]
            answers[record["idempotencyKey"]] = [record["status"], record.get("location")]
            while len(answers) > ANSWERS_KEPT:
                answers.popitem(last=False)
        element["changes"].append(
            {
                "operation": operation,
                "module": record["module"],
                "service": record["key"],
                "idempotencyKey": record.get("idempotencyKey"),
            }
        )

    def close(self) -> None:
        with self.condition:
            if self.journal:
                self.journal.close()
                self.journal = None

    # Failure modes and latency.

    def latency_of(self, name: str) -> float:
        """Seconds a request to the element takes on the wire (both ways)."""
        element = self.elements.get(name)
        own = element["latencyMs"] if element else None
        return (self.latency_ms if own is None else own) / 1000

    def admit(self, name: str) -> str:
        """How the element takes a request now: NONE (served), PERMANENT (rejected), TRANSIENT
        (busy: one of its failures used up) or TIMEOUT (held, never answered in time)."""
        with self.condition:
            element = self.elements.get(name)
            if element is None or element["mode"] == NONE:
                return NONE
            mode = element["mode"]
            if mode == TRANSIENT:
                left = element["failuresLeft"] - 1
                self._set(name, element, mode=TRANSIENT if left else NONE, failures_left=left)
            return mode

    def hold(self, name: str, seconds: float) -> None:
        """Keep a request in timeout mode until `seconds` pass or the element is healed."""
        with self.condition:
            generation = self.generation
            self.condition.wait_for(
                lambda: (
                    self.generation != generation
                    or self.elements.get(name, {}).get("mode") != TIMEOUT
                ),
                timeout=seconds,
            )

    def _set(self, name, element, *, mode=None, failures_left=None, latency_ms=...) -> None:
        self._record(
            {
                "op": "set",
                "element": name,
                "mode": element["mode"] if mode is None else mode,
                "failuresLeft": element["failuresLeft"] if failures_left is None else failures_left,
                "latencyMs": element["latencyMs"] if latency_ms is ... else latency_ms,
            }
        )

    def element_set(self, name: str, *, mode: str | None = None, latency_ms=...) -> None:
        """Set the element's failure mode ("transient:3", ...) and/or its own latency (None:
        the lab's). Raises ValueError for a mode that does not parse."""
        parsed = mode_parse(mode) if mode is not None else (None, None)
        with self.condition:
            element = self.elements.setdefault(name, _new_element())
            self._set(name, element, mode=parsed[0], failures_left=parsed[1], latency_ms=latency_ms)
            self.generation += 1
            self.condition.notify_all()

    def elements_set_mode(self, names: list[str] | None, mode: str) -> int:
        """Set the mode of the named elements (every known one when None); how many."""
        mode_name, failures = mode_parse(mode)
        with self.condition:
            for name in sorted(self.elements) if names is None else names:
                element = self.elements.setdefault(name, _new_element())
                self._set(name, element, mode=mode_name, failures_left=failures)
            self.generation += 1
            self.condition.notify_all()
            return len(self.elements) if names is None else len(names)

    def reset_holds(self) -> None:
        """Wake every request held in timeout mode (the server is stopping)."""
        with self.condition:
            self.generation += 1
            self.condition.notify_all()

    def reset(self) -> None:
        """Forget every element and go back to the starting latency (tests, between cases)."""
        with self.condition:
            self.elements.clear()
            self.latency_ms = self.default_latency_ms
            if self.journal:
                self.journal.seek(0)
                self.journal.truncate()
                self.journal_lines = 0
            self.generation += 1
            self.condition.notify_all()

    # Configuration.

    def entries(self, name: str, module: str) -> dict:
        """A copy of the module's entries on the element, by key."""
        with self.condition:
            element = self.elements.get(name)
            return dict(element["config"].get(module, {})) if element else {}

    def entry(self, name: str, module: str, key: str) -> dict | None:
        with self.condition:
            element = self.elements.get(name)
            return element["config"].get(module, {}).get(key) if element else None

    def write(
        self,
        name: str,
        *,
        module: str,
        key: str,
        entry: dict | None,
        idempotency_key: str | None,
        location: str | None = None,
    ) -> tuple[int, str | None, bool]:
        """Put (`entry`) or delete (None) the service's entry: (status, location, replayed).
        A key answered before gets that answer again and changes nothing; deleting what the
        element does not hold is status 409 (data-missing) and changes nothing."""
        with self.condition:
            element = self.elements.get(name) or _new_element()
            if idempotency_key and idempotency_key in element["answers"]:
                status, earlier_location = element["answers"][idempotency_key]
                return status, earlier_location, True
            held = key in element["config"].get(module, {})
            if entry is None and not held:
                return 409, None, False
            if entry is None:
                status, location = 204, None
            else:
                status, location = (204, None) if held else (201, location)
            self._record(
                {
                    "op": "put" if entry is not None else "delete",
                    "element": name,
                    "module": module,
                    "key": key,
                    "entry": entry,
                    "idempotencyKey": idempotency_key,
                    "status": status,
                    "location": location,
                }
            )
            return status, location, False

    def load(self, name: str, *, module: str, entries: dict) -> int:
        """Put many entries on the element at once, as the network already carried them (a demo
        network's lines): no idempotency answers, no change history. Returns how many."""
        with self.condition:
            self._record({"op": "load", "element": name, "module": module, "entries": entries})
            return len(entries)

    # The control API's views.

    def summary(self) -> list[dict]:
        with self.condition:
            return [
                {
                    "name": name,
                    "mode": element["mode"],
                    "failuresLeft": element["failuresLeft"],
                    "latencyMs": element["latencyMs"],
                    "services": sum(len(entries) for entries in element["config"].values()),
                }
                for name, element in sorted(self.elements.items())
            ]

    def detail(self, name: str) -> dict:
        with self.condition:
            element = self.elements.get(name) or _new_element()
            return {
                "name": name,
                "mode": element["mode"],
                "failuresLeft": element["failuresLeft"],
                "latencyMs": element["latencyMs"],
                "config": json.loads(json.dumps(element["config"])),
                "changes": list(element["changes"]),
                "answeredKeys": len(element["answers"]),
            }
