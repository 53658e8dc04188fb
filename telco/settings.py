"""Settings, read from the environment (see .env.example)."""

from pathlib import Path

import environ
from celery.schedules import crontab

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env(ALLOWED_HOSTS=(list, ["127.0.0.1", "localhost", "testserver"]))
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

# With no DATABASE_URL the product runs as the embedded demo (SQLite, eager tasks), where
# debugging defaults on and a development key is acceptable. Anywhere else the key is required.
EMBEDDED = not env("DATABASE_URL", default="")
# PRODUCTION=true: DEBUG stays off (refused), a strong SECRET_KEY is required, and the security
# headers are on; TLS=true when the site is served over HTTPS (HSTS, redirect, secure cookies).
PRODUCTION = env.bool("PRODUCTION", default=False)
TLS = env.bool("TLS", default=False)
DEBUG = env.bool("DEBUG", default=EMBEDDED and not PRODUCTION)
if PRODUCTION and DEBUG:
    raise environ.ImproperlyConfigured("DEBUG must be off when PRODUCTION is on")
SECRET_KEY = env("SECRET_KEY", default="dev-only-insecure-key" if DEBUG else "")
if not SECRET_KEY:
    raise environ.ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off")
# What `check --deploy` calls strong: 50 characters or more, at least 5 different ones.
if PRODUCTION and (len(SECRET_KEY) < 50 or len(set(SECRET_KEY)) < 5):
    raise environ.ImproperlyConfigured(
        "PRODUCTION needs a strong SECRET_KEY: at least 50 characters, 5 of them different "
        "(python -c 'import secrets; print(secrets.token_urlsafe(50))')"
    )
ALLOWED_HOSTS = env("ALLOWED_HOSTS")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "pgtrigger",
    "pghistory",
    "telco.apps.TelcoConfig",
    "catalog",
    "crm",
    "inventory",
    "billing",
    "orders",
    "assurance",
    # Above every app: records who changed what in all of them (PostgreSQL triggers).
    "telco.audit",
]

MIDDLEWARE = [
    # First: every answer (even a redirect or a refusal) has its request id and is timed.
    "telco.ops.logging.RequestIdMiddleware",
    "telco.ops.metrics.RequestMetricsMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "telco.ops.security.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "telco.api.middleware.APIRequestSizeMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # The permission table (telco.access): every route x role, checked before any view.
    "telco.access.AccessTableMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    # After authentication: who, from where (api, admin, page) for every change a request makes.
    "telco.audit.context.AuditContextMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "telco.urls"

# Audit (django-pghistory on django-pgtrigger): the triggers are (re)installed after every
# `migrate` rather than written into each app's migrations, so the tracked apps need no
# migration of their own; only the event tables are migrated (telco/audit/migrations). Each
# event row carries its context (user, url, method, source, task or command) as JSON: no join, no
# per-row upsert of a context row in bulk statements. Its time is the product's clock
# (`at`, set when the request, task or command began), else the database's.
PGTRIGGER_MIGRATIONS = False
PGTRIGGER_INSTALL_ON_MIGRATE = True
PGHISTORY_CREATED_AT_FUNCTION = (
    "COALESCE((NULLIF(CURRENT_SETTING('pghistory.context_metadata', TRUE), '')::JSONB"
    " ->> 'at')::TIMESTAMPTZ, NOW())"
)
# The largest request body read into memory (JSON, CSV text, form fields; file uploads stream
# to disk). TM Forum bodies are a few kB; CSV imports of network inventory reach a few MB.
DATA_UPLOAD_MAX_MEMORY_SIZE = env.int("DATA_UPLOAD_MAX_MEMORY_SIZE", default=10 * 1024 * 1024)
# TM Forum clients POST without a trailing slash; a redirect would lose the body, so the
# routers accept both spellings and CommonMiddleware must not redirect.
APPEND_SLASH = False

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "telco.context_processors.roles",
            ],
        },
    },
]

WSGI_APPLICATION = "telco.wsgi.application"

DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}
# Lets several test suites run side by side, each on its own test database.
DATABASES["default"]["TEST"] = {"NAME": env("TEST_DATABASE_NAME", default=None)}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"].setdefault("OPTIONS", {})["timeout"] = 30
else:
    # The topology's recursive CTEs are estimated at huge costs but run in milliseconds; JIT
    # compiling them would add 0.5-1 s to every impact lookup (one per alarm in a storm).
    DATABASES["default"].setdefault("OPTIONS", {})["options"] = "-c jit=off"
    # Statements are prepared only where the code asks (`telco.db.prepared_cursor`): psycopg
    # would otherwise prepare any statement run five times, and generic plans are poor for the
    # statements whose best plan depends on their parameters (the topology walks, pool picks).
    DATABASES["default"]["OPTIONS"]["prepare_threshold"] = 2**31 - 1
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
]

LANGUAGE_CODE = "en-gb"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
# Moves the application clock (telco.clock) of this process: acceptance testing, and the
# worker processes of a test that pinned its clock. Zero in production.
CLOCK_OFFSET_SECONDS = env.float("CLOCK_OFFSET_SECONDS", default=0.0)
# Acceptance testing may move the clock at run time (admin page, /api/v1/testClock): off unless
# set, and never on in production. Every process sees a move within the refresh time.
TEST_CLOCK_ENABLED = env.bool("TEST_CLOCK_ENABLED", default=False)
TEST_CLOCK_REFRESH_SECONDS = env.float("TEST_CLOCK_REFRESH_SECONDS", default=1.0)

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
# Serve straight from the finders in development and tests, so no collectstatic is needed.
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

EMAIL_BACKEND = env("EMAIL_BACKEND", default="django.core.mail.backends.console.EmailBackend")
# The sender of customer notifications (crm.services.customer_notify).
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", default="Telco Care <care@telco.example>")
# Where the SMTP backend (EMAIL_BACKEND=django.core.mail.backends.smtp.EmailBackend) sends.
EMAIL_HOST = env("EMAIL_HOST", default="localhost")
EMAIL_PORT = env.int("EMAIL_PORT", default=25)
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=10)

# Limits (telco/auth.py, telco/api/throttling.py). An API token is accepted this long after it
# was issued (POST /api/v1/auth/token issues a new one).
API_TOKEN_TTL_HOURS = env.float("API_TOKEN_TTL_HOURS", default=24.0)
# Failed sign-ins (login page and token endpoint) per username and address in one window;
# past it the next attempts answer 429 until the window ends.
LOGIN_FAILURE_LIMIT = env.int("LOGIN_FAILURE_LIMIT", default=10)
LOGIN_FAILURE_WINDOW_SECONDS = env.int("LOGIN_FAILURE_WINDOW_SECONDS", default=300)
# Requests per user (anon: per address) and window ("N/s", "N/min", "N/hour", "N/day"):
# generous, to stop a runaway client, not a busy agent, integration or benchmark.
API_THROTTLE_RATES = {
    "user": env.str("API_THROTTLE_USER", default="3000/min"),
    "anon": env.str("API_THROTTLE_ANON", default="300/min"),
    # The network's usage and alarm feeds (TMF635 usage, TMF642 alarm), per feeding user.
    "ingest": env.str("API_THROTTLE_INGEST", default="12000/min"),
    # The token endpoint, per address, whatever the outcome.
    "login": env.str("API_THROTTLE_LOGIN", default="60/min"),
}

# Security headers (check --deploy passes with PRODUCTION=true TLS=true). The policy allows
# inline style attributes (bar widths, chart swatches, Swagger UI) but no inline script.
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
CONTENT_SECURITY_POLICY = env.str(
    "CONTENT_SECURITY_POLICY",
    default="default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; object-src 'none'; base-uri 'self'; form-action 'self'; "
    "frame-ancestors 'none'",
)
if PRODUCTION and TLS:
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31_536_000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=True)
    SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=True)
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
# TLS_PROXY=true: HTTPS ends at a proxy that sets X-Forwarded-Proto (and strips a client's own).
if env.bool("TLS_PROXY", default=False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# /metrics: NOC and admin users, or a scraper sending `Authorization: Bearer <METRICS_TOKEN>`.
METRICS_TOKEN = env.str("METRICS_TOKEN", default="")

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "telco.api.authentication.ExpiringTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["telco.roles.HasRole"],
    "DEFAULT_PARSER_CLASSES": [
        "telco.api.parsers.TMFJSONParser",
        "telco.api.parsers.MergePatchParser",
    ],
    "DEFAULT_RENDERER_CLASSES": [
        "rest_framework.renderers.JSONRenderer",
        "rest_framework.renderers.BrowsableAPIRenderer",
    ],
    "DEFAULT_FILTER_BACKENDS": ["telco.api.filters.TMFAttributeFilter"],
    "DEFAULT_PAGINATION_CLASS": "telco.api.pagination.TMFPagination",
    "EXCEPTION_HANDLER": "telco.api.errors.tmf_exception_handler",
    "DEFAULT_SCHEMA_CLASS": "telco.api.schema.TMFAutoSchema",
    "PAGE_SIZE": 100,
    "DEFAULT_THROTTLE_CLASSES": [
        "telco.api.throttling.UserRateThrottle",
        "telco.api.throttling.AnonRateThrottle",
        "telco.api.throttling.ScopedRateThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": API_THROTTLE_RATES,
    # Proxies in front of the web processes whose X-Forwarded-For is trusted to name the
    # client's address (0: the connection's address; a client's own header is never believed).
    "NUM_PROXIES": env.int("API_NUM_PROXIES", default=0),
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Telco OSS/BSS API",
    "DESCRIPTION": "TM Forum Open API shaped endpoints of the operator platform.",
    "VERSION": "4.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        # `?fields=` answers drop attributes: only id and href stay required in GET answers.
        "telco.api.schema.describe_fields_selection",
    ],
    # Several choice sets back fields named `state`; name each one instead of hashing.
    "ENUM_NAME_OVERRIDES": {
        "OrderStateEnum": "orders.choices.OrderState",
        "TaskStateEnum": "orders.choices.TaskState",
        "AccountStateEnum": "crm.choices.AccountState",
        "QualificationStateEnum": "inventory.choices.QualificationState",
        "PrepaidUsageTypeEnum": "billing.models.prepaid.UsageType",
    },
}

# Celery: with no broker configured every task runs in-process, so the embedded demo needs
# nothing but Python.
CELERY_BROKER_URL = env("CELERY_BROKER_URL", default="")
CELERY_TASK_ALWAYS_EAGER = not CELERY_BROKER_URL
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_RESULT_BACKEND = None
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# Celery's Django fixup closes every database connection before and after each task unless told
# to reuse them: a new PostgreSQL connection (a backend forked, authenticated, configured) per
# task. Workers keep theirs as long as CONN_MAX_AGE (`conn_max_age` on DATABASE_URL) says:
# `telco.celery` closes what is too old or broken around each task, as Django does around a
# request.
CELERY_DB_REUSE_MAX = 2**31
CELERY_TASK_DEFAULT_QUEUE = "default"
CELERY_TASK_ROUTES = {
    "orders.*": {"queue": "activation"},
    "billing.*": {"queue": "billing"},
    "assurance.*": {"queue": "assurance"},
}
CELERY_BEAT_SCHEDULE = {
    # Bills are cut once a day, shortly after midnight UTC, for every period that ended.
    "bill-run-daily": {
        "task": "billing.run_bill_run",
        "schedule": crontab(hour=0, minute=30),
    },
    # Activations that stopped making progress (worker died, broker lost the message) are
    # picked up again within minutes.
    "activation-watchdog": {
        "task": "orders.resume_stalled_orders",
        "schedule": 120.0,
    },
    # SLA credits for the billing periods that ended: daily, before the bill run at 00:30, so
    # a breach of the period just ended is on that period's bill.
    "sla-evaluate-daily": {
        "task": "assurance.evaluate_slas",
        "schedule": crontab(hour=0, minute=10),
    },
}

# The cache holds the rate-limit counters: Redis, shared by every web process, when there is
# one (CACHE_URL, else the broker's database), else this process's memory (embedded demo).
CACHE_URL = env("CACHE_URL", default=CELERY_BROKER_URL)
if CACHE_URL.startswith(("redis://", "rediss://")):
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": CACHE_URL,
            "KEY_PREFIX": "telco",
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# How long an enterprise order's capture holds the ports and bandwidth it checked when the
# order never reaches its reserve step (it is given back when the order ends, in any case).
CAPACITY_HOLD_MINUTES = env.int("CAPACITY_HOLD_MINUTES", default=24 * 60)

# Lab network (`manage.py labnetd`, RESTCONF element servers): latency of every call to an
# element in milliseconds (at start; `labnet latency` changes it), the port it listens on, its
# URL as the drivers reach it, and the journal that keeps its state across restarts.
LABNET_LATENCY_MS = env.int("LABNET_LATENCY_MS", default=200)
LABNET_PORT = env.int("LABNET_PORT", default=8830)
LABNET_URL = env.str("LABNET_URL", default=f"http://127.0.0.1:{LABNET_PORT}")
LABNET_STATE_FILE = env.str("LABNET_STATE_FILE", default=str(BASE_DIR / "run" / "labnet.jsonl"))
# A network call not answered within this is a timeout (transient); a lab element in timeout
# mode holds the request longer than that.
LABNET_TIMEOUT_SECONDS = env.float("LABNET_TIMEOUT_SECONDS", default=2.0)
# Real devices: element name -> its RESTCONF root URL (JSON, e.g.
# {"OLT-NORTH-001": "https://10.0.0.5/restconf"}); every other element is in the lab network.
NETWORK_ELEMENT_URLS = env.json("NETWORK_ELEMENT_URLS", default={})
# HTTP basic credentials "user:password" sent to every element (empty: none).
NETWORK_ELEMENT_AUTH = env.str("NETWORK_ELEMENT_AUTH", default="")
# First retry of a transiently failed activation step, in seconds; doubles each retry.
ACTIVATION_RETRY_BACKOFF_SECONDS = env.float("ACTIVATION_RETRY_BACKOFF_SECONDS", default=2.0)
# A running activation step not finished by then is timed out (watchdog): retried, then held.
ACTIVATION_STEP_TIMEOUT_SECONDS = env.float("ACTIVATION_STEP_TIMEOUT_SECONDS", default=120.0)

# Value added tax applied to every bill line.
BILLING_TAX_RATE = env.str("BILLING_TAX_RATE", default="0.20")
# SLA outage: a minute a service is degraded (a path survives) counts as this much of a minute down.
SLA_DEGRADED_WEIGHT = env.str("SLA_DEGRADED_WEIGHT", default="0.5")
# The largest payment one request may record, in the account's currency (a guard against a
# mistyped amount; a larger sum is recorded in several payments).
PAYMENT_MAX_AMOUNT = env.str("PAYMENT_MAX_AMOUNT", default="1000000")
# What every PDF invoice says about the operator and how to pay (billing.services.invoices):
# the address one line per comma; the payment reference a format of the bill's `bill_no` and
# the account's `account_number`.
INVOICE_OPERATOR_NAME = env.str("INVOICE_OPERATOR_NAME", default="Telco Networks Ltd")
INVOICE_OPERATOR_ADDRESS = env.list(
    "INVOICE_OPERATOR_ADDRESS", default=["1 Exchange Square", "London EC2A 2BR", "United Kingdom"]
)
INVOICE_OPERATOR_VAT_ID = env.str("INVOICE_OPERATOR_VAT_ID", default="GB 123 4567 89")
INVOICE_PAYMENT_IBAN = env.str("INVOICE_PAYMENT_IBAN", default="GB33 BUKB 2020 1555 5555 55")
INVOICE_PAYMENT_BIC = env.str("INVOICE_PAYMENT_BIC", default="BUKBGB22")
INVOICE_PAYMENT_REFERENCE = env.str(
    "INVOICE_PAYMENT_REFERENCE", default="{bill_no} {account_number}"
)
# Rendered invoices, one file per bill made on its first download (bills never change): a
# directory here, or any Django storage backend in its place (STORAGES["invoices"]).
INVOICE_STORAGE_DIR = env.str("INVOICE_STORAGE_DIR", default=str(BASE_DIR / "run" / "invoices"))
STORAGES["invoices"] = {
    "BACKEND": "django.core.files.storage.FileSystemStorage",
    "OPTIONS": {"location": INVOICE_STORAGE_DIR},
}

# Logs (telco.ops.logging): every record carries the request id (X-Request-ID, also in the
# Celery tasks a request queued), user, path and method. LOG_FORMAT=json writes one JSON object
# a line; LOG_REQUESTS (on with JSON) logs one line per request with status and duration.
LOG_FORMAT = env.str("LOG_FORMAT", default="text")
LOG_REQUESTS = env.bool("LOG_REQUESTS", default=LOG_FORMAT == "json")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_context": {"()": "telco.ops.logging.RequestContextFilter"}},
    "formatters": {"json": {"()": "telco.ops.logging.JsonFormatter"}},
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "filters": ["request_context"],
            **({"formatter": "json"} if LOG_FORMAT == "json" else {}),
        }
    },
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", default="INFO")},
    # WeasyPrint logs each step of every PDF invoice it lays out at INFO.
    "loggers": {"weasyprint.progress": {"level": "WARNING"}},
}

# Usage in batches (POST a JSON array or NDJSON to TMF635 /usage): at most USAGE_BATCH_MAX
# records a request (413 beyond); files of any size go through `manage.py usage_import`.
USAGE_BATCH_MAX = env.int("USAGE_BATCH_MAX", default=20_000)
# Alarm ingest (assurance.services.ingest): a batch holds at most ALARM_BATCH_MAX alarms (413
# beyond); a raise within ALARM_FLAP_MINUTES of its clear reopens the alarm (a flap cycle), and
# ALARM_FLAP_CYCLES cycles within that window mark it flapping.
ALARM_BATCH_MAX = env.int("ALARM_BATCH_MAX", default=10_000)
ALARM_FLAP_MINUTES = env.int("ALARM_FLAP_MINUTES", default=10)
ALARM_FLAP_CYCLES = env.int("ALARM_FLAP_CYCLES", default=3)
# SNMP trap receiver (manage.py trapd): UDP address; 0.0.0.0 to hear real equipment.
TRAPD_HOST = env.str("TRAPD_HOST", default="127.0.0.1")
TRAPD_PORT = env.int("TRAPD_PORT", default=1162)

# KPI samples (assurance.kpis): daily partitions created this many days ahead; samples kept
# KPI_SAMPLE_RETENTION_DAYS (older ones refused at ingest), 5-minute rollups and hourly rollups
# (and closed breaches) kept their own number of days; a batch holds at most KPI_BATCH_MAX rows.
KPI_PARTITIONS_AHEAD_DAYS = env.int("KPI_PARTITIONS_AHEAD_DAYS", default=7)
KPI_SAMPLE_RETENTION_DAYS = env.int("KPI_SAMPLE_RETENTION_DAYS", default=14)
KPI_ROLLUP_5M_RETENTION_DAYS = env.int("KPI_ROLLUP_5M_RETENTION_DAYS", default=35)
KPI_ROLLUP_1H_RETENTION_DAYS = env.int("KPI_ROLLUP_1H_RETENTION_DAYS", default=400)
KPI_BATCH_MAX = env.int("KPI_BATCH_MAX", default=100_000)
# Partitions for the coming week are created daily, so ingest rarely has to create one; old
# partitions are dropped (a whole day at a time) and old rollups deleted nightly, after midnight.
CELERY_BEAT_SCHEDULE["kpi-partitions-ahead"] = {
    "task": "assurance.create_kpi_partitions",
    "schedule": crontab(hour=0, minute=5),
}
CELERY_BEAT_SCHEDULE["kpi-retention"] = {
    "task": "assurance.apply_kpi_retention",
    "schedule": crontab(hour=0, minute=15),
}

# Incidents (assurance.correlation): alarms raised within this many seconds of each other on
# elements that depend on one another make one incident; an incident still there after the
# confirmation delay is confirmed (customers hear of it), a blip cleared before is cancelled.
INCIDENT_CORRELATION_WINDOW_SECONDS = env.int("INCIDENT_CORRELATION_WINDOW_SECONDS", default=300)
INCIDENT_CONFIRMATION_SECONDS = env.int("INCIDENT_CONFIRMATION_SECONDS", default=60)
CELERY_IMPORTS = [*globals().get("CELERY_IMPORTS", ()), "assurance.incident_tasks"]
CELERY_BEAT_SCHEDULE["incident-confirmation-sweep"] = {
    "task": "assurance.incidents_confirm_due",
    "schedule": 30.0,
}

# Incident notices (assurance.notices): one e-mail and one SMS per impacted customer when an
# incident is confirmed and when it is resolved, sent INCIDENT_NOTICE_BATCH to a task; a
# transient failure (SMTP, SMS gateway) is retried INCIDENT_NOTICE_MAX_RETRIES times, waiting
# INCIDENT_NOTICE_RETRY_SECONDS, doubling each time. SMS_GATEWAY names the gateway class
# (crm.sms: the lab gateway records the messages in crm.LabSmsMessage).
SMS_GATEWAY = env.str("SMS_GATEWAY", default="crm.sms.LabSmsGateway")
INCIDENT_NOTICE_BATCH = env.int("INCIDENT_NOTICE_BATCH", default=200)
INCIDENT_NOTICE_MAX_RETRIES = env.int("INCIDENT_NOTICE_MAX_RETRIES", default=5)
INCIDENT_NOTICE_RETRY_SECONDS = env.float("INCIDENT_NOTICE_RETRY_SECONDS", default=30.0)
CELERY_IMPORTS = [*globals().get("CELERY_IMPORTS", ()), "assurance.notice_tasks"]
# Notices a killed worker left pending are sent again within minutes.
CELERY_BEAT_SCHEDULE["incident-notices-sweep"] = {
    "task": "assurance.resume_incident_notices",
    "schedule": 120.0,
}

# Open incidents' impact follows topology changes (inventory rebuilds the service paths).
CELERY_BEAT_SCHEDULE["incident-impact-refresh"] = {
    "task": "assurance.open_incidents_impact_refresh",
    "schedule": 60.0,
}

# Dunning: overdue bills walk the default DunningPolicy's steps (admin); once a day is the
# steps' own granularity (days after the due date), early morning, after the bill run.
CELERY_BEAT_SCHEDULE["dunning-daily"] = {
    "task": "billing.run_dunning",
    "schedule": crontab(hour=6, minute=0),
}
# Fraud rules: ingest queues an evaluation as usage is stored; this sweep catches what a lost
# task or a late commit left, every 5 minutes (a fraud spike must not wait for a day).
CELERY_BEAT_SCHEDULE["fraud-rules-sweep"] = {
    "task": "billing.fraud_evaluate",
    "schedule": 300.0,
}
# A credit note above this (tax included, in the bill's currency) waits for a second finance
# user's (or an admin's) approval; at or under it, it is approved as it is issued.
CREDIT_NOTE_APPROVAL_LIMIT = env.str("CREDIT_NOTE_APPROVAL_LIMIT", default="50")

# Online charging (billing.services.charging): a session reserves CHARGING_QUOTA_CHUNKS times
# the units it asks for from its balance at once, so most updates touch only its own row;
# CHARGING_DEFAULT_GRANT_UNITS is granted when a request names none; a session silent for
# CHARGING_SESSION_TIMEOUT_SECONDS is closed by the sweep (use committed, the rest released).
CHARGING_QUOTA_CHUNKS = env.int("CHARGING_QUOTA_CHUNKS", default=10)
CHARGING_DEFAULT_GRANT_UNITS = env.str("CHARGING_DEFAULT_GRANT_UNITS", default="1")
CHARGING_SESSION_TIMEOUT_SECONDS = env.int("CHARGING_SESSION_TIMEOUT_SECONDS", default=300)
# Prepaid notices: an allowance under this share of the plan's is low; expiry is announced
# this many days ahead.
PREPAID_LOW_ALLOWANCE_PERCENT = env.int("PREPAID_LOW_ALLOWANCE_PERCENT", default=10)
PREPAID_EXPIRY_NOTICE_DAYS = env.int("PREPAID_EXPIRY_NOTICE_DAYS", default=3)
CELERY_IMPORTS = [*CELERY_IMPORTS, "billing.prepaid_tasks"]
# Every minute: a silent session holds reserved balance the customer cannot use until it is
# released; expiry and low-balance notices need no finer timing.
CELERY_BEAT_SCHEDULE["prepaid-sweep"] = {
    "task": "billing.sweep_prepaid",
    "schedule": 60.0,
}

# Bill runs: accounts per chunk (one task and one transaction each), and a pause inside each
# chunk's transaction (0 but in tests that kill a worker while it holds a chunk).
BILL_RUN_CHUNK_ACCOUNTS = env.int("BILL_RUN_CHUNK_ACCOUNTS", default=1000)
BILL_RUN_CHUNK_PAUSE_MS = env.int("BILL_RUN_CHUNK_PAUSE_MS", default=0)
# Open sessions count their use in Redis (the cache's server) between quota reservations, so
# an update within the quota costs no database statement; off (or no Redis): the session row.
CHARGING_STORE_ENABLED = env.bool("CHARGING_STORE_ENABLED", default=True)
# Quota reservations commit asynchronously (a database crash may forget the last ones: at most
# a chunk of use per open session goes uncharged, no balance is overspent); true: each waits
# for its disk flush (slower: a durable commit per reservation).
CHARGING_DURABLE_RESERVATIONS = env.bool("CHARGING_DURABLE_RESERVATIONS", default=False)

# Revenue assurance (billing.services.reconciliation): nightly at 02:00 UTC, after the bill run
# and before the working day. Products per unit (one task, one transaction each), the usage
# days compared, how long usage may wait to be billed, and how far back bills are checked.
CELERY_IMPORTS = [*CELERY_IMPORTS, "billing.reconciliation_tasks"]
CELERY_BEAT_SCHEDULE["reconciliation-nightly"] = {
    "task": "billing.reconciliation_run",
    "schedule": crontab(hour=2, minute=0),
}
RECONCILIATION_PRODUCTS_PER_UNIT = env.int("RECONCILIATION_PRODUCTS_PER_UNIT", default=5000)
RECONCILIATION_USAGE_DAYS = env.int("RECONCILIATION_USAGE_DAYS", default=7)
RECONCILIATION_USAGE_GRACE_HOURS = env.int("RECONCILIATION_USAGE_GRACE_HOURS", default=24)
RECONCILIATION_BILLED_DAYS = env.int("RECONCILIATION_BILLED_DAYS", default=93)

# Events (telco.events, TMF688 hubs): delivery to each listener, retried with exponential
# backoff (base, cap); a listener failing EVENT_MAX_FAILURES times in a row is suspended (its
# events are kept for "resume and replay"). Delivered outbox rows are kept EVENT_RETENTION_DAYS.
EVENT_MAX_FAILURES = env.int("EVENT_MAX_FAILURES", default=10)
EVENT_RETRY_BACKOFF_SECONDS = env.float("EVENT_RETRY_BACKOFF_SECONDS", default=2.0)
EVENT_RETRY_BACKOFF_MAX_SECONDS = env.float("EVENT_RETRY_BACKOFF_MAX_SECONDS", default=300.0)
EVENT_DELIVERY_TIMEOUT_SECONDS = env.float("EVENT_DELIVERY_TIMEOUT_SECONDS", default=5.0)
EVENT_BATCH_SIZE = env.int("EVENT_BATCH_SIZE", default=200)
# One delivery run per listener posts for at most this long, then queues the next run.
EVENT_RUN_SECONDS = env.float("EVENT_RUN_SECONDS", default=30.0)
EVENT_KICK_DEBOUNCE_SECONDS = env.float("EVENT_KICK_DEBOUNCE_SECONDS", default=0.1)
EVENT_RETENTION_DAYS = env.int("EVENT_RETENTION_DAYS", default=7)
# A commit that wrote enqueues delivery at once; this sweep catches a lost kick and the listeners
# whose backoff has passed, within seconds.
CELERY_BEAT_SCHEDULE["events-deliver-sweep"] = {
    "task": "telco.events_deliver",
    "schedule": 5.0,
}
# Outbox rows every listener has passed: hourly is plenty for a retention counted in days.
CELERY_BEAT_SCHEDULE["events-prune"] = {
    "task": "telco.events_prune",
    "schedule": 3600.0,
}
