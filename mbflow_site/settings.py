"""MBFlow settings: everything comes from the environment, with embedded defaults.

With nothing set, MBFlow runs embedded: SQLite, an in-memory channel layer, a local-memory
cache and an in-process dispatcher. ``DATABASE_URL``, ``REDIS_URL`` and ``CELERY_BROKER_URL``
move each part to a real service.
"""

from __future__ import annotations

import json
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from mbflow_site.env import env_bool, env_choice, env_int, env_list, env_str

BASE_DIR = Path(__file__).resolve().parent.parent

DEBUG = env_bool("DEBUG", False)
SECRET_KEY = env_str("SECRET_KEY", "")
if not SECRET_KEY:
    # Embedded default only: a stable key per checkout so sessions survive restarts.
    key_file = BASE_DIR / ".secret_key"
    if not key_file.exists():
        import secrets as _secrets

        key_file.write_text(_secrets.token_urlsafe(50))
    SECRET_KEY = key_file.read_text().strip()

PORT = env_int("PORT", 8181, minimum=1)
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]", "testserver"])
CORS_ALLOWED_ORIGINS = env_list("CORS_ALLOWED_ORIGINS", [])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", CORS_ALLOWED_ORIGINS)
# Where people reach the site (http(s)://host[:port][/path]): an execution's ``tracking_url`` is
# this plus /executions/<id>; without it, that path alone.
MBFLOW_PUBLIC_URL = env_str("MBFLOW_PUBLIC_URL", "").rstrip("/")
if MBFLOW_PUBLIC_URL and not MBFLOW_PUBLIC_URL.startswith(("http://", "https://")):
    raise ImproperlyConfigured(f"MBFLOW_PUBLIC_URL must start with http:// or https://, not {MBFLOW_PUBLIC_URL!r}")

# Not "daphne": as an app it only makes `runserver` serve ASGI, and loading it brings Twisted into
# every process (16 MB each, web and workers alike). `make run SERVER=daphne` runs its server.
INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "channels",
    "workflows",
    "executions",
    "triggers",
    "monitoring",
    "designer",
]

MIDDLEWARE = [
    # A span per request when tracing is on (W3C traceparent read); removed at start-up when off.
    "monitoring.tracing.middleware.TracingMiddleware",
    "mbflow_site.middleware.BodySizeLimitMiddleware",
    "mbflow_site.middleware.RequestTextMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "mbflow_site.middleware.CorsMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "mbflow_site.metrics.RequestMetricsMiddleware",
]

ROOT_URLCONF = "mbflow_site.urls"
APPEND_SLASH = False
WSGI_APPLICATION = "mbflow_site.wsgi.application"
ASGI_APPLICATION = "mbflow_site.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ]
        },
    }
]

# --- Database -------------------------------------------------------------------------------
DATABASE_URL = env_str("DATABASE_URL", f"sqlite:///{BASE_DIR / 'mbflow.sqlite3'}")
DB_MAX_CONNECTIONS = env_int("DB_MAX_CONNECTIONS", 20, minimum=1)
# How long a thread waits for a pooled PostgreSQL connection before its request answers 503
# (a web request less while the database is down: DB_DOWN_WAIT); and how long the pool retries a
# failed connection, backing off, before it starts afresh (so it is back within seconds of the
# database).
DB_POOL_TIMEOUT = env_int("DB_POOL_TIMEOUT", 30, minimum=1)
DB_RECONNECT_TIMEOUT = env_int("DB_RECONNECT_TIMEOUT", 5, minimum=1)
# How long opening a PostgreSQL connection may take (a database that does not answer at all -
# a host gone, packets dropped - would otherwise hold the attempt for the system's TCP timeout,
# minutes); /health's check connects with it too.
DB_CONNECT_TIMEOUT = env_int("DB_CONNECT_TIMEOUT", 3, minimum=2)
# After how many runs of the same statement on a connection psycopg prepares it, so that
# PostgreSQL parses (and, once a generic plan serves, plans) it once per connection rather than at
# every run; 0 never prepares (Django's default, for a pooler that cannot keep prepared statements:
# PgBouncer before 1.21 in transaction mode).
DB_PREPARE_THRESHOLD = env_int("DB_PREPARE_THRESHOLD", 5, minimum=0)
# How long a web request waits for a pooled connection before it checks the database with a
# fresh one: down, it answers 503 then instead of after DB_POOL_TIMEOUT (mbflow_site/health.py).
DB_DOWN_WAIT = env_int("DB_DOWN_WAIT", 1, minimum=1)
# Threads that run the synchronous part of HTTP requests (mbflow_site/http_handler.py), per process.
HTTP_THREADS = env_int("HTTP_THREADS", 64, minimum=1)
# Of those, how many run at once; the others wait their turn (mbflow_site/turns.py).
HTTP_ACTIVE_REQUESTS = env_int("HTTP_ACTIVE_REQUESTS", 4, minimum=1)
try:
    DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=0)}
except Exception as exc:  # dj_database_url raises several types for a malformed URL
    raise ImproperlyConfigured(f"DATABASE_URL is not a valid database URL: {exc}") from exc
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 20,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
elif DATABASES["default"]["ENGINE"].endswith("postgresql"):
    # Requests, SSE streams and engine steps run in many threads: persistent per-thread connections
    # would pile up, so connections come from one pool per process, capped by DB_MAX_CONNECTIONS.
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"].setdefault("OPTIONS", {}).setdefault("connect_timeout", DB_CONNECT_TIMEOUT)
    DATABASES["default"]["OPTIONS"]["pool"] = {
        "min_size": 1,
        "max_size": DB_MAX_CONNECTIONS,
        "timeout": DB_POOL_TIMEOUT,
        "reconnect_timeout": DB_RECONNECT_TIMEOUT,
    }
    # Parameters travel beside the query instead of being quoted into it in Python: a step's
    # events are inserted with hundreds of parameters, which client-side binding quotes one by one.
    DATABASES["default"]["OPTIONS"]["server_side_binding"] = True
    DATABASES["default"]["OPTIONS"]["prepare_threshold"] = DB_PREPARE_THRESHOLD or None
IS_POSTGRES = DATABASES["default"]["ENGINE"].endswith("postgresql")
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Redis: cache and channel layer ----------------------------------------------------------
REDIS_URL = env_str("REDIS_URL", "")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": REDIS_URL,
            "OPTIONS": {"CLIENT_CLASS": "django_redis.client.DefaultClient"},
            "KEY_PREFIX": "mbflow",
        }
    }
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {"hosts": [REDIS_URL], "prefix": "mbflow:ch"},
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}

# --- Celery (scaled-out dispatcher); without a broker the embedded dispatcher runs in-process --
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL", "")
CELERY_RESULT_BACKEND = None
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
# Nodes a step starts together travel in one message, up to this many (a worker runs them side
# by side on its node threads, at most MBFLOW_WORKER_THREADS at once per worker process).
MBFLOW_NODES_PER_MESSAGE = env_int("MBFLOW_NODES_PER_MESSAGE", 10, minimum=1)
MBFLOW_WORKER_THREADS = env_int("MBFLOW_WORKER_THREADS", 64, minimum=1)
MBFLOW_DISPATCHER = env_choice(
    "MBFLOW_DISPATCHER", "celery" if CELERY_BROKER_URL else "embedded", {"celery", "embedded"}
)
# Queues are named <prefix>.light, .io and .llm: installs that share one broker take their own.
MBFLOW_QUEUE_PREFIX = env_str("MBFLOW_QUEUE_PREFIX", "mbflow")
# A worker holds each node it runs by a lease of this many seconds, renewed by a heartbeat every
# third of it; the lease sweep (Celery beat, or the embedded dispatcher's timer) runs every
# MBFLOW_LEASE_SWEEP_SECONDS and sends a node whose lease ran out (its worker died) to another.
MBFLOW_LEASE_SECONDS = env_int("MBFLOW_LEASE_SECONDS", 30, minimum=3)
MBFLOW_LEASE_SWEEP_SECONDS = env_int("MBFLOW_LEASE_SWEEP_SECONDS", 5, minimum=1)
# Nodes waiting for their time (delay, wait_until, a retry's backoff) wait as rows only
# (``database``, executions.dispatch.timers): a timer pump in each worker process (and in the
# embedded server) claims those come due in batches of MBFLOW_TIMER_BATCH on up to
# MBFLOW_TIMER_THREADS threads (at most half the connection pool), looking at least every
# MBFLOW_TIMER_POLL_SECONDS; a process without a pump sends a timed wake-up message for a time
# less than MBFLOW_TIMER_MESSAGE_SECONDS ahead. ``messages``: every timer as a timed message.
MBFLOW_TIMERS = env_choice("MBFLOW_TIMERS", "database", {"database", "messages"})
MBFLOW_TIMER_BATCH = env_int("MBFLOW_TIMER_BATCH", 20, minimum=1)
MBFLOW_TIMER_THREADS = env_int("MBFLOW_TIMER_THREADS", 8, minimum=1)
MBFLOW_TIMER_POLL_SECONDS = float(env_str("MBFLOW_TIMER_POLL_SECONDS", "0.5") or 0.5)
MBFLOW_TIMER_MESSAGE_SECONDS = float(env_str("MBFLOW_TIMER_MESSAGE_SECONDS", "2") or 2)
# Schedules (cron and interval triggers) are looked at every MBFLOW_SCHEDULE_TICK_SECONDS: by Celery
# beat (``beat``, the default with a broker) or by a timer thread in each web server process
# (``embedded``); ``off``: by neither (run ``manage.py mbflow_triggers tick --loop`` instead).
MBFLOW_SCHEDULER = env_choice(
    "MBFLOW_SCHEDULER", "beat" if MBFLOW_DISPATCHER == "celery" else "embedded", {"beat", "embedded", "off"}
)
MBFLOW_SCHEDULE_TICK_SECONDS = env_int("MBFLOW_SCHEDULE_TICK_SECONDS", 1, minimum=1)
# Retention (executions.services.retention): finished executions older than their workflow's
# spec.retention, or than these tenant defaults (durations such as 30d; empty: kept forever), are
# deleted every MBFLOW_RETENTION_SECONDS by Celery beat or the embedded tick, MBFLOW_RETENTION_BATCH
# executions (with their events and node runs) per short transaction.
MBFLOW_RETENTION_SUCCEEDED = env_str("MBFLOW_RETENTION_SUCCEEDED", "")
MBFLOW_RETENTION_FAILED = env_str("MBFLOW_RETENTION_FAILED", "")
MBFLOW_RETENTION_CANCELLED = env_str("MBFLOW_RETENTION_CANCELLED", "")  # MBFLOW_RETENTION_FAILED's when empty
MBFLOW_RETENTION_SECONDS = env_int("MBFLOW_RETENTION_SECONDS", 300, minimum=1)
MBFLOW_RETENTION_BATCH = env_int("MBFLOW_RETENTION_BATCH", 100, minimum=1)
# The share of the time the pruner works: after each batch it waits (1 - duty) / duty times as long
# as the batch took, so it slows down by itself when the database is busy. 0.1 kept a running
# chain's p95 within 6% while pruning some 100 executions a second (0.2: 13%, twice the rate;
# bench/retention.py, docs/scaling.md).
MBFLOW_RETENTION_DUTY = float(env_str("MBFLOW_RETENTION_DUTY", "0.1") or 0.1)
# Each webhook trigger takes at most this many calls per window (then 429 with Retry-After).
MBFLOW_WEBHOOK_RATE_LIMIT = env_int("MBFLOW_WEBHOOK_RATE_LIMIT", 100, minimum=1)
MBFLOW_WEBHOOK_RATE_WINDOW = env_int("MBFLOW_WEBHOOK_RATE_WINDOW", 10, minimum=1)
# Outbound webhooks: an attempt waits this long for an answer; a failed one is tried again after
# MBFLOW_DELIVERY_RETRY_SECONDS, doubling each time up to MBFLOW_DELIVERY_MAX_DELAY_SECONDS, at
# most MBFLOW_DELIVERY_MAX_ATTEMPTS attempts in all. A process reads a tenant's subscriptions
# again after MBFLOW_SUBSCRIPTION_CACHE_SECONDS.
MBFLOW_DELIVERY_TIMEOUT_SECONDS = env_int("MBFLOW_DELIVERY_TIMEOUT_SECONDS", 10, minimum=1)
MBFLOW_DELIVERY_MAX_ATTEMPTS = env_int("MBFLOW_DELIVERY_MAX_ATTEMPTS", 8, minimum=1)
MBFLOW_DELIVERY_RETRY_SECONDS = env_int("MBFLOW_DELIVERY_RETRY_SECONDS", 10, minimum=1)
MBFLOW_DELIVERY_MAX_DELAY_SECONDS = env_int("MBFLOW_DELIVERY_MAX_DELAY_SECONDS", 3600, minimum=1)
MBFLOW_SUBSCRIPTION_CACHE_SECONDS = env_int("MBFLOW_SUBSCRIPTION_CACHE_SECONDS", 5, minimum=0)
# Events from RabbitMQ (manage.py mbflow_consume): the broker (default: CELERY_BROKER_URL when it
# is AMQP), the topic exchange publishers send to, the queue this consumer reads and the binding
# keys it takes; messages it cannot take go to <exchange>.dead and the queue <queue>.dead.
MBFLOW_EVENTS_BROKER_URL = env_str(
    "MBFLOW_EVENTS_BROKER_URL", CELERY_BROKER_URL if CELERY_BROKER_URL.startswith(("amqp://", "amqps://")) else ""
)
MBFLOW_EVENTS_EXCHANGE = env_str("MBFLOW_EVENTS_EXCHANGE", "mbflow.events")
MBFLOW_EVENTS_QUEUE = env_str("MBFLOW_EVENTS_QUEUE", "mbflow.events")
MBFLOW_EVENTS_BINDINGS = env_list("MBFLOW_EVENTS_BINDINGS", ["#"])
# Redis broker: a message a worker took and never acknowledged (it died) is delivered again this
# many seconds after it was taken; a delivery of a node that already ran again is refused.
MBFLOW_BROKER_VISIBILITY_TIMEOUT = env_int("MBFLOW_BROKER_VISIBILITY_TIMEOUT", 3600, minimum=1)
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": MBFLOW_BROKER_VISIBILITY_TIMEOUT,
    # Such messages are looked for every tenth of the timeout (at least every 10 s).
    "unacked_restore_interval": max(1, min(10, MBFLOW_BROKER_VISIBILITY_TIMEOUT // 10)),
    "unacked_restore_throttle": 1,
}

# --- Auth ------------------------------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
]
LOGIN_URL = "/login"
API_KEYS = env_list("API_KEYS", [])
# How long a process trusts an API key it has read (0: read the key on every request).
API_KEY_CACHE_SECONDS = env_int("API_KEY_CACHE_SECONDS", 5, minimum=0)
SESSION_COOKIE_SAMESITE = "Lax"
# Admin messages live in the session: the default cookie storage builds a signer on every request.
MESSAGE_STORAGE = "django.contrib.messages.storage.session.SessionStorage"

# --- Limits ----------------------------------------------------------------------------------
MBFLOW_MAX_BODY_BYTES = env_int("MBFLOW_MAX_BODY_BYTES", 5 * 1024 * 1024, minimum=1024)
DATA_UPLOAD_MAX_MEMORY_SIZE = MBFLOW_MAX_BODY_BYTES
MBFLOW_HTTP_ALLOW_HOSTS = env_list("MBFLOW_HTTP_ALLOW_HOSTS", [])
# Expressions: CPU time of one node attempt's expressions (or of one expression elsewhere), and
# the characters or items one value an expression builds may hold (ten times that altogether).
MBFLOW_EXPRESSION_CPU_MS = env_int("MBFLOW_EXPRESSION_CPU_MS", 1000, minimum=10)
MBFLOW_EXPRESSION_MAX_SIZE = env_int("MBFLOW_EXPRESSION_MAX_SIZE", 1_000_000, minimum=1000)
MBFLOW_REQUIRE_SERVICES = env_bool("MBFLOW_REQUIRE_SERVICES", False)

# --- Metrics (/metrics) ------------------------------------------------------------------------
# Workflows with a label of their own in the Prometheus figures; the others count as "other".
MBFLOW_METRICS_MAX_WORKFLOWS = env_int("MBFLOW_METRICS_MAX_WORKFLOWS", 100, minimum=1)
# When set, /metrics answers only a request with "Authorization: Bearer <this token>".
MBFLOW_METRICS_TOKEN = env_str("MBFLOW_METRICS_TOKEN", "")
# Business metrics (spec.metrics): label sets one metric of one workflow may have; more count as "other".
MBFLOW_BUSINESS_METRIC_SERIES = env_int("MBFLOW_BUSINESS_METRIC_SERIES", 100, minimum=1)
# Days each business metric observation is kept for the windows of the API and the alert rules
# (the Prometheus totals stay).
MBFLOW_BUSINESS_METRIC_DAYS = env_int("MBFLOW_BUSINESS_METRIC_DAYS", 35, minimum=1)
# How often each alert rule is evaluated, by the schedule tick (Celery beat or the embedded server).
MBFLOW_ALERT_EVALUATION_SECONDS = env_int("MBFLOW_ALERT_EVALUATION_SECONDS", 30, minimum=1)

# --- Tracing (OpenTelemetry) -------------------------------------------------------------------
# Off unless an OTLP endpoint is set (the SDK reads OTEL_EXPORTER_OTLP_* and OTEL_SERVICE_NAME
# itself); off, no span is made. MBFLOW_TRACE_URL links a trace id to a trace viewer
# (http://jaeger:16686/trace/{trace_id}).
MBFLOW_TRACING = bool(env_str("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") or env_str("OTEL_EXPORTER_OTLP_ENDPOINT"))
MBFLOW_TRACE_URL = env_str("MBFLOW_TRACE_URL", "")

# --- Email (alert channels) ------------------------------------------------------------------
EMAIL_BACKEND = env_str("EMAIL_BACKEND", "django.core.mail.backends.smtp.EmailBackend")
EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25, minimum=1)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
EMAIL_USE_SSL = env_bool("EMAIL_USE_SSL", False)
EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", 10, minimum=1)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "mbflow@localhost")

# --- REST API --------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "workflows.auth.ApiKeyAuthentication",
        "workflows.auth.TenantSessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["workflows.permissions.TenantRolePermission"],
    "DEFAULT_PARSER_CLASSES": [
        "mbflow_site.parsers.SafeJSONParser",
        "mbflow_site.parsers.YAMLTextParser",
        "mbflow_site.parsers.YAMLAltParser",
        "mbflow_site.parsers.TextYAMLParser",
        "mbflow_site.parsers.SafeFormParser",
        "mbflow_site.parsers.SafeMultiPartParser",
    ],
    "DEFAULT_RENDERER_CLASSES": ["mbflow_site.renderers.JSONRenderer"],
    "DEFAULT_PAGINATION_CLASS": "mbflow_site.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    "EXCEPTION_HANDLER": "mbflow_site.api_errors.exception_handler",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "MBFlow API",
    "DESCRIPTION": "Workflows as versioned YAML, executed durably.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    # One name for a choice set used by several schemas.
    "ENUM_NAME_OVERRIDES": {"WebhookEventEnum": "triggers.models.WebhookEvent",
                            "DeliveryStatusEnum": "triggers.models.DeliveryStatus"},
}

# --- Static files and the designer -------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
FRONTEND_DIST = BASE_DIR / "frontend" / "dist"
STATICFILES_DIRS = [FRONTEND_DIST] if FRONTEND_DIST.exists() else []
WHITENOISE_USE_FINDERS = True
# Files the app keeps: MEDIA_ROOT (MBFLOW_MEDIA_ROOT, default ./media beside the code).
MEDIA_ROOT = Path(env_str("MBFLOW_MEDIA_ROOT", str(BASE_DIR / "media")))
# Node outputs over the payload limit (spec.payload_limit, default MBFLOW_PAYLOAD_LIMIT bytes) are
# kept in the "payloads" storage, not in the event row: files under MEDIA_ROOT/payloads, or any
# Django storage backend (MBFLOW_PAYLOAD_STORAGE, e.g. storages.backends.s3.S3Storage of
# django-storages, with MBFLOW_PAYLOAD_STORAGE_OPTIONS as a JSON object of its options).
MBFLOW_PAYLOAD_LIMIT = env_int("MBFLOW_PAYLOAD_LIMIT", 1024 * 1024, minimum=1)
_PAYLOAD_STORAGE = env_str("MBFLOW_PAYLOAD_STORAGE", "django.core.files.storage.FileSystemStorage")
_PAYLOAD_OPTIONS = json.loads(env_str("MBFLOW_PAYLOAD_STORAGE_OPTIONS", "{}")) or (
    {"location": str(MEDIA_ROOT / "payloads")} if _PAYLOAD_STORAGE.endswith("FileSystemStorage") else {})
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    "payloads": {"BACKEND": _PAYLOAD_STORAGE, "OPTIONS": _PAYLOAD_OPTIONS},
}

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# --- Logging ---------------------------------------------------------------------------------
LOG_LEVEL = env_choice("LOG_LEVEL", "info", {"debug", "info", "warning", "warn", "error"}).upper()
if LOG_LEVEL == "WARN":
    LOG_LEVEL = "WARNING"
LOG_FORMAT = env_choice("LOG_FORMAT", "text", {"json", "text"})
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "json": {"()": "mbflow_site.logging.JsonFormatter"},
        "text": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
    },
    "filters": {"redact": {"()": "mbflow_site.logging.RedactSecretsFilter"}},
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": LOG_FORMAT, "filters": ["redact"]}
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}
