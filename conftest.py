"""Shared fixtures: users and API clients per role, and a real Celery worker process."""

import os
import socket
import subprocess
import time
import uuid
from datetime import datetime

import pytest
import time_machine
from django.conf import settings
from django.contrib.auth import get_user_model
from django.test import Client
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from telco.roles import ADMIN, AGENT, FINANCE, NOC, RISK, ensure_roles


def _own_broker_per_xdist_worker() -> None:
    """Under pytest-xdist (`-n 2`) each test process is a suite of its own: pytest-django gives
    it its own test database, and this its own Redis database (the slot's, then 8 further on),
    so the Celery worker one process starts never takes the other's tasks."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    url = settings.CELERY_BROKER_URL
    if not worker.startswith("gw") or not url.startswith("redis://"):
        return
    base, _, database = url.rpartition("/")
    own = f"{base}/{(int(database or 0) + 8 * int(worker[2:])) % 16}"
    from telco.celery import app

    os.environ["CELERY_BROKER_URL"] = settings.CELERY_BROKER_URL = app.conf.broker_url = own


def pytest_configure(config):
    _own_broker_per_xdist_worker()
    # PBKDF2 is slow on purpose; tests create users by the hundred and need no such protection.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    # Tests move the clock weeks ahead with their API clients signed in; the token-expiry tests
    # set the lifetime they test.
    settings.API_TOKEN_TTL_HOURS = 24 * 365 * 10


@pytest.fixture(autouse=True)
def fresh_cache(settings):
    """Each test starts with an empty cache: rate-limit counters kept in Redis (across tests and
    runs, all from 127.0.0.1) never leak into the next test. A key prefix of its own, rather
    than a flush, leaves the Celery broker that shares the Redis database alone."""
    settings.CACHES = {
        name: {**config, "KEY_PREFIX": f"test-{uuid.uuid4().hex}"}
        for name, config in settings.CACHES.items()
    }


@pytest.fixture(autouse=True)
def fresh_invoice_storage(settings, tmp_path_factory):
    """Each test keeps rendered PDF invoices (stored under the bill's id) in a directory of its
    own: bill ids repeat from one test database to the next, their invoices must not."""
    settings.STORAGES = {
        **settings.STORAGES,
        "invoices": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(tmp_path_factory.getbasetemp() / uuid.uuid4().hex)},
        },
    }


@pytest.fixture(scope="session", autouse=True)
def session_clock():
    """`TEST_CLOCK_AT=2028-02-29T12:00:00Z` runs the whole session from that instant (ticking on).

    `scripts/test` runs the date-sensitive tests again at awkward instants this way; the Celery
    workers the tests start follow through `CLOCK_OFFSET_SECONDS` (see `clock_offset_seconds`).
    """
    instant = os.environ.get("TEST_CLOCK_AT")
    if not instant:
        yield None
        return
    with time_machine.travel(datetime.fromisoformat(instant), tick=True) as traveller:
        yield traveller


def clock_offset_seconds() -> float:
    """How far this process's clock is moved (by time-machine) from the real one."""
    if not time_machine.escape_hatch.is_travelling():
        return 0.0
    return time.time() - time_machine.escape_hatch.time.time()


@pytest.fixture(scope="session", autouse=True)
def lab_network(tmp_path_factory):
    """The lab network's RESTCONF element servers, in a thread of this process for the session
    (127.0.0.1, a free port, a journal of its own, scripts/pytest's LABNET_LATENCY_MS). The
    drivers reach it through `settings.LABNET_URL`, and Celery workers started by tests through
    the environment variable they inherit. Yields the control client (see `lab`)."""
    from inventory.network.labclient import LabControl
    from inventory.network.labserver import LabServer

    server = LabServer(
        state_file=tmp_path_factory.mktemp("labnet") / "labnet.jsonl",
        latency_ms=settings.LABNET_LATENCY_MS,
        # A test's driver times out first; a held request is released when the test ends.
        hold_seconds=settings.LABNET_TIMEOUT_SECONDS * 2 + 1,
    ).start()
    settings.LABNET_URL = server.url
    os.environ["LABNET_URL"] = server.url
    yield LabControl(server.url)
    server.stop()


@pytest.fixture(autouse=True)
def lab(lab_network):
    """The lab network, empty for each test: `lab.fail(element, "transient:2")`, `lab.heal()`,
    `lab.config(element)` (service -> entry as the element holds it), `lab.changes(element)`,
    `lab.latency(ms)` (`inventory.network.labclient.LabControl`)."""
    lab_network.reset()
    return lab_network


@pytest.fixture
def roles(db):
    return ensure_roles()


def _make_user(roles, role: str):
    user = get_user_model().objects.create_user(username=f"{role}1", password="pw-" + role)
    user.groups.add(roles[role])
    return user


def _api_client(user) -> APIClient:
    client = APIClient()
    token, _ = Token.objects.get_or_create(user=user)
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    return client


@pytest.fixture
def agent_user(roles):
    return _make_user(roles, AGENT)


@pytest.fixture
def noc_user(roles):
    return _make_user(roles, NOC)


@pytest.fixture
def finance_user(roles):
    return _make_user(roles, FINANCE)


@pytest.fixture
def risk_user(roles):
    return _make_user(roles, RISK)


@pytest.fixture
def admin_user_role(roles):
    return _make_user(roles, ADMIN)


@pytest.fixture
def agent_api(agent_user):
    return _api_client(agent_user)


@pytest.fixture
def noc_api(noc_user):
    return _api_client(noc_user)


@pytest.fixture
def finance_api(finance_user):
    return _api_client(finance_user)


@pytest.fixture
def risk_api(risk_user):
    return _api_client(risk_user)


@pytest.fixture
def admin_api(admin_user_role):
    return _api_client(admin_user_role)


@pytest.fixture
def anonymous_api():
    return APIClient()


def _page_client(user) -> Client:
    """A browser-like client logged in by session, for the server-rendered pages."""
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def agent_client(agent_user):
    return _page_client(agent_user)


@pytest.fixture
def noc_client(noc_user):
    return _page_client(noc_user)


@pytest.fixture
def finance_client(finance_user):
    return _page_client(finance_user)


@pytest.fixture
def risk_client(risk_user):
    return _page_client(risk_user)


@pytest.fixture
def admin_role_client(admin_user_role):
    return _page_client(admin_user_role)


def _worker_ping(app) -> bool:
    try:
        return bool(app.control.ping(timeout=0.5))
    except Exception:  # noqa: BLE001 - the broker may not be ready yet; keep polling
        return False


class CeleryWorkerProcess:
    """The test worker: a `celery -A telco worker` subprocess a test may kill and restart."""

    def __init__(self, environment: dict, name: str = "test"):
        self.environment = environment
        self.name = name
        self.process = None
        self.options = {}

    def start(self, *, pool: str = "solo", concurrency: int = 1, **environment) -> None:
        """Start a worker (`pool`, `concurrency`, extra environment variables such as
        LABNET_TIMEOUT_SECONDS) and wait until it answers a ping."""
        from telco.celery import app, worker_command

        self.options = {"pool": pool, "concurrency": concurrency, **environment}
        # The worker reads the test's clock: moved as far as this process's is, when it starts.
        clock = {"CLOCK_OFFSET_SECONDS": str(clock_offset_seconds())}
        self.process = subprocess.Popen(
            worker_command(self.name, pool=pool, concurrency=concurrency),
            env={**self.environment, **clock, **{k: str(v) for k, v in environment.items()}},
            cwd=settings.BASE_DIR,
        )
        deadline = time.monotonic() + 60
        while not _worker_ping(app):
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.process.kill()
                pytest.fail("the Celery worker did not start")
            time.sleep(0.3)

    def kill(self) -> None:
        """SIGKILL, as a crashed machine: the task in hand is never acknowledged. The broker
        would redeliver it only after its visibility timeout (an hour), possibly into a later
        test, so it is dropped here: recovery is the watchdog's job."""
        import redis

        self.process.kill()
        self.process.wait(timeout=20)
        client = redis.Redis.from_url(settings.CELERY_BROKER_URL)
        client.delete("unacked", "unacked_index")

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=20)

    def restart(self, **options) -> None:
        """Stop (if running) and start again with `options` (see `start`)."""
        if self.process.poll() is None:
            self.stop()
        self.start(**options)

    def is_default(self) -> bool:
        return self.process.poll() is None and self.options == {"pool": "solo", "concurrency": 1}


@pytest.fixture(scope="session")
def celery_worker_process(django_db_setup, django_db_blocker, lab_network):
    """A real `celery -A telco worker` process on the test database and the Redis broker."""
    if settings.CELERY_TASK_ALWAYS_EAGER:
        pytest.skip("CELERY_BROKER_URL is not set: no broker for a real worker")
    from telco.celery import app

    database = settings.DATABASES["default"]
    database_url = (
        f"postgres://{database['USER']}@{database['HOST']}:{database['PORT']}/{database['NAME']}"
    )
    worker = CeleryWorkerProcess({**os.environ, "DATABASE_URL": database_url})
    app.control.purge()
    worker.start()
    yield worker
    worker.stop()


def _worker_consumes(worker: CeleryWorkerProcess, consume: bool) -> None:
    """Make the session's worker take tasks from every queue, or none: between the tests that
    ask for it, it must not pick up what another test enqueued (its task would still be
    writing while that test's teardown empties the tables)."""
    from telco.celery import QUEUES, app

    destination = [f"{worker.name}@{socket.gethostname()}"]
    for queue in QUEUES:
        if consume:
            app.control.add_consumer(queue, reply=True, destination=destination)
        else:
            app.control.cancel_consumer(queue, reply=True, destination=destination)


@pytest.fixture
def celery_worker(celery_worker_process, transactional_db):
    """Use in tests whose behaviour is asynchronous: tasks run in the real worker process."""
    from telco.celery import app

    app.control.purge()
    _worker_consumes(celery_worker_process, True)
    yield celery_worker_process
    if celery_worker_process.process.poll() is None:
        _worker_consumes(celery_worker_process, False)


@pytest.fixture
def restartable_celery_worker(celery_worker):
    """`celery_worker` that the test may kill, or restart with other options (pool, concurrency,
    environment); the default worker is back for the next test."""
    yield celery_worker
    if not celery_worker.is_default():
        celery_worker.restart()


@pytest.fixture
def second_celery_worker(celery_worker):
    """A second worker process beside `celery_worker`, for tests of concurrent activations."""
    worker = CeleryWorkerProcess(celery_worker.environment, name="test2")
    worker.start()
    yield worker
    worker.stop()


CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="session")
def chromium():
    """Debian's Chromium driven by Playwright (its own browser download does not work here)."""
    import shutil

    from playwright.sync_api import sync_playwright

    executable = shutil.which("chromium") or "/usr/bin/chromium"
    if not os.path.exists(executable):
        pytest.fail("Chromium is not installed: scripts/bootstrap installs Debian's package")
    # Playwright's sync API runs an event loop in this thread; the ORM calls the tests make
    # between browser steps are still synchronous and safe.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_FLAGS)
        yield browser
        browser.close()


@pytest.fixture
def browser_page(chromium, live_server):
    """A fresh browser tab on the live test server; any request to another host fails the test."""
    context = chromium.new_context(base_url=live_server.url)
    outside_requests = []

    def refuse_outside(route):
        if route.request.url.startswith(live_server.url):
            route.continue_()
        else:
            outside_requests.append(route.request.url)
            route.abort()

    context.route("**/*", refuse_outside)
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield page
    context.close()
    assert outside_requests == [], f"pages fetched from the internet: {outside_requests}"


class SmtpMessages:
    """What a real SMTP server on 127.0.0.1 (aiosmtpd) received: `messages` (email.message
    objects), in arrival order. `refuse_next(n)` answers the next `n` messages 451 (a transient
    failure the sender retries); `hold()` makes the server wait before answering RCPT until
    `release()`, so a test can kill a sender in the middle of a conversation (`held` is set
    while one waits)."""

    def __init__(self):
        import threading

        self.messages = []
        self.refusals = 0
        self.gate = threading.Event()
        self.gate.set()
        self.held = threading.Event()
        self.lock = threading.Lock()

    def refuse_next(self, count: int) -> None:
        self.refusals = count

    def hold(self) -> None:
        self.held.clear()
        self.gate.clear()

    def release(self) -> None:
        self.gate.set()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802
        import asyncio

        if not self.gate.is_set():
            self.held.set()
            while not self.gate.is_set():
                await asyncio.sleep(0.02)
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: N802
        from email import message_from_bytes

        with self.lock:
            if self.refusals > 0:
                self.refusals -= 1
                return "451 Try again later"
            self.messages.append(message_from_bytes(envelope.content))
        return "250 Message accepted for delivery"

    def count_by_recipient(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for message in self.messages:
            counts[message["To"]] = counts.get(message["To"], 0) + 1
        return counts


@pytest.fixture
def smtp_server(settings):
    """A real SMTP server on 127.0.0.1 (a free port) for the test; the product's mail settings
    point at it (`settings` here; a worker started by the test gets `smtp_server.environment`)."""
    import socket

    from aiosmtpd.controller import Controller

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    handler = SmtpMessages()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = port
    handler.port = port
    handler.environment = {
        "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
        "EMAIL_HOST": "127.0.0.1",
        "EMAIL_PORT": str(port),
    }
    yield handler
    handler.release()
    controller.stop()
