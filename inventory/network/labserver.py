"""The lab network on the wire: one process serving many elements over RESTCONF (RFC 8040).

This is "the network", not the product: stdlib only, no Django ORM, no database. Elements are
addressed as `{LABNET_URL}/elements/{name}/restconf/...`; an element exists once it is used.

    GET    /elements/{name}/.well-known/host-meta           where the RESTCONF root is (3.1)
    GET    /elements/{name}/restconf                        the API root
    GET    /elements/{name}/restconf/data                   the whole running configuration
    GET    /elements/{name}/restconf/data/{module}:{top}    one module's configuration
    GET|PUT|DELETE /elements/{name}/restconf/data/{module}:{top}/{list}={key}   one service

Writes carry an `Idempotency-Key` header: a repeated key gets the first answer again (with
`Idempotent-Replayed: true`) and changes nothing. Every element request waits the latency (half
before it is handled, half after: a caller that dies meanwhile has changed the element without
knowing it, as with a real one) and then obeys the element's failure mode: permanent -> 409
operation-failed, transient:N -> 503 in-use for the next N requests, timeout -> held longer than
the driver waits. Errors are RFC 8040 `ietf-restconf:errors`.

The control API beside it (plain JSON, no latency, never failing), for `manage.py labnet` and tests:

    GET /lab/elements                        every element: mode, latency, services held
    PUT /lab/elements   {"mode", "elements"?} a mode for the named elements, or for every one
    GET /lab/elements/{name}                 its mode, running configuration and recent changes
    PUT /lab/elements/{name} {"mode"?, "latencyMs"?}
    PUT /lab/elements/{name}/config/{module} {"entries": {key: entry}}
                                             load lines the network already carries (demo)
    GET|PUT /lab/latency {"latencyMs"}       the latency of every element without its own
    POST /lab/reset                          forget everything (tests)
"""

import json
import logging
import threading
import time
from email.utils import formatdate
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import quote, unquote

from inventory.network.labmodels import MODULES, ModelError, entry_validate
from inventory.network.labstate import NONE, PERMANENT, TIMEOUT, LabState

logger = logging.getLogger(__name__)

YANG_JSON = "application/yang-data+json"
JSON_TYPES = {YANG_JSON, "application/json"}
MAX_BODY_BYTES = 1_000_000
HOST_META = (
    "<?xml version='1.0' encoding='UTF-8'?>\n"
    "<XRD xmlns='http://docs.oasis-open.org/ns/xri/xrd-1.0'>\n"
    "  <Link rel='restconf' href='{root}'/>\n"
    "</XRD>\n"
)


class RestconfError(Exception):
    """An answer in RFC 8040 error form."""

    def __init__(self, status: int, tag: str, message: str, *, path: str = "", kind: str = ""):
        super().__init__(message)
        self.status, self.tag, self.message, self.path = status, tag, message, path
        self.kind = kind or (
            "protocol" if tag in ("malformed-message", "invalid-value") else "application"
        )

    def body(self) -> dict:
        error = {"error-type": self.kind, "error-tag": self.tag, "error-message": self.message}
        if self.path:
            error["error-path"] = self.path
        return {"ietf-restconf:errors": {"error": [error]}}


class ControlError(Exception):
    """A control API request that cannot be done: 400 or 404 with {"error": message}."""

    def __init__(self, message: str, status: int = 400):
        super().__init__(message)
        self.status = status


class LabHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128

    def __init__(self, address, state: LabState, hold_seconds: float, verbose: bool = False):
        self.state = state
        self.hold_seconds = hold_seconds
        self.verbose = verbose
        super().__init__(address, LabRequestHandler)


class LabRequestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: one connection per driver thread, reused
    disable_nagle_algorithm = True
    server_version = "labnetd/1"
    server: LabHTTPServer

    def do_GET(self):  # noqa: N802
        self._dispatch("GET")

    def do_PUT(self):  # noqa: N802
        self._dispatch("PUT")

    def do_DELETE(self):  # noqa: N802
        self._dispatch("DELETE")

    def do_POST(self):  # noqa: N802
        self._dispatch("POST")

    def do_PATCH(self):  # noqa: N802
        self._dispatch("PATCH")

    def log_message(self, format, *args):  # noqa: A002
        if self.server.verbose:
            super().log_message(format, *args)

    # Plumbing.

    def _dispatch(self, method: str) -> None:
        try:
            body = self._body()
            path = self.path.split("?", 1)[0]
            segments = path.strip("/").split("/")
            if len(segments) >= 2 and segments[0] == "elements":
                self._element(method, unquote(segments[1]), segments[2:], body)
            elif segments[0] == "lab":
                self._control(method, [unquote(each) for each in segments[1:]], body)
            else:
                raise RestconfError(404, "invalid-value", f"no resource at {path}")
        except RestconfError as error:
            self._json(error.status, error.body(), YANG_JSON)
        except ControlError as error:
            self._json(error.status, {"error": str(error)}, "application/json")
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True  # the caller went away (a timeout, a killed worker)
        except Exception:
            logger.exception("lab server: %s %s", method, self.path)
            error = RestconfError(500, "operation-failed", "internal error in the lab element")
            self.close_connection = True
            self._json(500, error.body(), YANG_JSON)

    def _body(self) -> bytes:
        if self.headers.get("Transfer-Encoding"):
            self.close_connection = True
            raise RestconfError(411, "malformed-message", "send a Content-Length, not chunks")
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = -1
        if length < 0 or length > MAX_BODY_BYTES:
            self.close_connection = True  # the body is not read: the connection cannot go on
            raise RestconfError(413, "too-big", "request body missing a length or too large")
        return self.rfile.read(length) if length else b""

    def _send(self, status: int, body: bytes, content_type: str, headers: dict | None = None):
        """One write per answer (status line, headers and body), so nothing waits for an ACK."""
        lines = [
            f"HTTP/1.1 {status} {HTTPStatus(status).phrase}",
            f"Server: {self.server_version}",
            f"Date: {formatdate(usegmt=True)}",
            f"Content-Length: {len(body)}",
        ]
        if body:
            lines.append(f"Content-Type: {content_type}")
        lines.extend(f"{name}: {value}" for name, value in (headers or {}).items())
        if self.close_connection:
            lines.append("Connection: close")
        self.wfile.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body)
        self.log_request(status, len(body))

    def _json(self, status: int, data, content_type: str, headers: dict | None = None) -> None:
        self._send(status, json.dumps(data).encode(), content_type, headers)

    # RESTCONF.

    def _element(self, method: str, name: str, rest: list[str], body: bytes) -> None:
        state = self.server.state
        delay = state.latency_of(name) / 2
        time.sleep(delay)  # the request on its way to the element
        try:
            mode = state.admit(name)
            if mode == PERMANENT:
                raise RestconfError(
                    409, "operation-failed", "configuration rejected by the element."
                )
            if mode == TIMEOUT:
                state.hold(name, self.server.hold_seconds)
                self.close_connection = True
                raise RestconfError(503, "in-use", "element did not answer in time.")
            if mode != NONE:
                raise RestconfError(503, "in-use", "element busy, try again.")
            status, data, content_type, headers = self._element_answer(method, name, rest, body)
        finally:
            time.sleep(delay)  # the answer (or the error) on its way back
        if data is None:
            self._send(status, b"", content_type, headers)
        elif isinstance(data, str):
            self._send(status, data.encode(), content_type, headers)
        else:
            self._json(status, data, content_type, headers)

    def _element_answer(self, method, name, rest, body):
        root = f"/elements/{quote(name, safe='')}/restconf"
        if rest == [".well-known", "host-meta"]:
            _allow(method, "GET")
            return 200, HOST_META.format(root=root), "application/xrd+xml", None
        if not rest or rest[0] != "restconf":
            raise RestconfError(404, "invalid-value", "no such resource on the element")
        rest = rest[1:]
        if not rest:
            _allow(method, "GET")
            restconf = {"data": {}, "operations": {}, "yang-library-version": "2019-01-04"}
            return 200, {"ietf-restconf:restconf": restconf}, YANG_JSON, None
        if rest[0] != "data":
            raise RestconfError(404, "invalid-value", f"no resource {rest[0]}")
        if len(rest) == 1:
            _allow(method, "GET")
            return 200, self._whole_config(name), YANG_JSON, None
        module = _module(unquote(rest[1]))
        top = f"{module.name}:{module.container}"
        if len(rest) == 2:
            _allow(method, "GET")
            entries = self.server.state.entries(name, module.name)
            return 200, {top: {module.list_name: _ordered(entries)}}, YANG_JSON, None
        list_name, equals, raw_key = rest[2].partition("=")
        if len(rest) > 3 or list_name != module.list_name or not equals or not raw_key:
            raise RestconfError(404, "invalid-value", f"no resource {'/'.join(rest[2:])} in {top}")
        key = unquote(raw_key)
        if method == "GET":
            entry = self.server.state.entry(name, module.name, key)
            if entry is None:
                raise RestconfError(
                    404, "invalid-value", f"{module.list_name} {key} is not configured"
                )
            return 200, {f"{module.name}:{module.list_name}": [entry]}, YANG_JSON, None
        _allow(method, "GET", "PUT", "DELETE")
        entry = self._entry_from(module, key, body) if method == "PUT" else None
        status, location, replayed = self.server.state.write(
            name,
            module=module.name,
            key=key,
            entry=entry,
            idempotency_key=self.headers.get("Idempotency-Key"),
            location=f"{root}/data/{top}/{module.list_name}={quote(key, safe='')}",
        )
        if status == 409:
            raise RestconfError(409, "data-missing", f"{module.list_name} {key} is not configured")
        headers = {"Location": location} if location else {}
        if replayed:
            headers["Idempotent-Replayed"] = "true"
        return status, None, YANG_JSON, headers

    def _entry_from(self, module, key: str, body: bytes) -> dict:
        content_type = (self.headers.get("Content-Type") or "").split(";")[0].strip()
        if content_type not in JSON_TYPES:
            raise RestconfError(415, "invalid-value", f"send {YANG_JSON}, not '{content_type}'")
        try:
            document = json.loads(body)
        except (UnicodeDecodeError, json.JSONDecodeError) as error:
            raise RestconfError(400, "malformed-message", f"not JSON: {error}") from None
        member = f"{module.name}:{module.list_name}"
        if not isinstance(document, dict) or set(document) != {member}:
            raise RestconfError(
                400, "malformed-message", f'the body must be {{"{member}": [entry]}}'
            )
        entry = document[member]
        if isinstance(entry, list):
            if len(entry) != 1:
                raise RestconfError(400, "malformed-message", "a PUT carries exactly one entry")
            entry = entry[0]
        try:
            entry_validate(module, key, entry)
        except ModelError as error:
            raise RestconfError(400, error.tag, str(error), path=error.path) from None
        return entry

    def _whole_config(self, name: str) -> dict:
        data = {}
        for module in MODULES.values():
            entries = self.server.state.entries(name, module.name)
            if entries:
                data[f"{module.name}:{module.container}"] = {module.list_name: _ordered(entries)}
        return {"ietf-restconf:data": data}

    # The control API.

    def _control(self, method: str, rest: list[str], body: bytes) -> None:
        state = self.server.state
        document = _control_json(body) if method in ("PUT", "POST") else {}
        if rest == ["elements"] and method == "GET":
            self._json(200, {"elements": state.summary()}, "application/json")
        elif rest == ["elements"] and method == "PUT":
            names = document.get("elements")
            if names is not None and not (
                isinstance(names, list) and all(isinstance(each, str) for each in names)
            ):
                raise ControlError("elements must be a list of element names")
            count = _control_call(state.elements_set_mode, names, document.get("mode", ""))
            self._json(200, {"updated": count}, "application/json")
        elif len(rest) == 2 and rest[0] == "elements" and method == "GET":
            self._json(200, state.detail(rest[1]), "application/json")
        elif len(rest) == 2 and rest[0] == "elements" and method == "PUT":
            changes = {}
            if "latencyMs" in document:
                changes["latency_ms"] = _latency(document["latencyMs"], allow_none=True)
            if "mode" in document:
                changes["mode"] = document["mode"]
            if not changes:
                raise ControlError("give mode and/or latencyMs")
            _control_call(state.element_set, rest[1], **changes)
            self._json(200, state.detail(rest[1]), "application/json")
        elif len(rest) == 4 and rest[0] == "elements" and rest[2] == "config" and method == "PUT":
            entries = document.get("entries")
            if not isinstance(entries, dict) or not all(
                isinstance(entry, dict) for entry in entries.values()
            ):
                raise ControlError("entries must map each service key to its entry")
            loaded = state.load(rest[1], module=rest[3], entries=entries)
            self._json(200, {"loaded": loaded}, "application/json")
        elif rest == ["latency"] and method in ("GET", "PUT"):
            if method == "PUT":
                state.latency_ms = _latency(document.get("latencyMs"))
            self._json(200, {"latencyMs": state.latency_ms}, "application/json")
        elif rest == ["reset"] and method == "POST":
            state.reset()
            self._send(204, b"", "application/json")
        else:
            raise ControlError(f"no control resource {method} /lab/{'/'.join(rest)}", 404)


def _allow(method: str, *allowed: str) -> None:
    if method not in allowed:
        raise RestconfError(405, "operation-not-supported", f"{method} is not supported here")


def _module(segment: str):
    module_name, _, container = segment.partition(":")
    module = MODULES.get(module_name)
    if module is None or container != module.container:
        raise RestconfError(404, "invalid-value", f"unknown data node {segment}")
    return module


def _ordered(entries: dict) -> list[dict]:
    return [entries[key] for key in sorted(entries)]


def _control_json(body: bytes) -> dict:
    try:
        document = json.loads(body or b"{}")
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise ControlError("the body is not JSON") from None
    if not isinstance(document, dict):
        raise ControlError("the body must be a JSON object")
    return document


def _control_call(function, *args, **kwargs):
    try:
        return function(*args, **kwargs)
    except ValueError as error:
        raise ControlError(str(error)) from None


def _latency(value, *, allow_none: bool = False):
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 600_000:
        raise ControlError("latencyMs must be a whole number of milliseconds, 0..600000")
    return value


class LabServer:
    """A running lab network: `url`, `state`, and `stop()`. `serve_forever()` runs it in the
    calling thread (labnetd); `start()` runs it in a background thread (tests, benchmarks)."""

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        state_file=None,
        latency_ms: int = 0,
        hold_seconds: float = 30.0,
        verbose: bool = False,
    ):
        self.state = LabState(state_file, latency_ms=latency_ms)
        self.httpd = LabHTTPServer((host, port), self.state, hold_seconds, verbose)
        bound_host, bound_port = self.httpd.server_address[:2]
        self.url = f"http://{bound_host}:{bound_port}"
        self.thread = None

    def start(self) -> "LabServer":
        self.thread = threading.Thread(target=self.serve_forever, name="labnet", daemon=True)
        self.thread.start()
        return self

    def serve_forever(self) -> None:
        self.httpd.serve_forever(poll_interval=0.2)

    def stop(self) -> None:
        """Stop answering, wake held requests, close the journal."""
        self.state.reset_holds()
        self.httpd.shutdown()
        self.httpd.server_close()
        self.state.close()
