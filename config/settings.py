"""The one settings module. Every deployment difference comes from the environment.

Defaults are for `make demo` (embedded: a PostgreSQL server shipped as a wheel, a filesystem
broker and a file cache, all under var/); `make test` and production set DATABASE_URL /
CELERY_BROKER_URL / CACHE_URL.
"""

from __future__ import annotations

from pathlib import Path

import environ
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

from core import embedded_db

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = embedded_db.var_dir()

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DEBUG = env.bool("DEBUG", default=False)
SECRET_KEY = env.str("SECRET_KEY", default="insecure-demo-key-change-me-" + "x" * 30)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_htmx",
    "template_partials",
    "axes",
    "csp",
    "django_prometheus",
    "core",
    "upstream",
    "simulator",
    "accounts",
    "ports",
    "qrlogin",
    "actions",
    "webhooks",
    "notify",
    "console",
    "demo",
]

MIDDLEWARE = [
    # Outermost: every request's count and latency (django-prometheus, core/metrics.py).
    "django_prometheus.middleware.PrometheusBeforeMiddleware",
    # First: X-Forwarded-* count only from TRUSTED_PROXY_NETS (core/net.py).
    "core.middleware.TrustedProxyMiddleware",
    "core.middleware.RequestIdMiddleware",
    "core.middleware.PermissionsPolicyMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "core.middleware.IdleTimeoutMiddleware",
    "core.middleware.TimeZoneMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # django-csp's, with the header built once (core/csp_header.py).
    "core.csp_header.CSPMiddleware",
    # axes last, so it sees the authenticated request.
    "axes.middleware.AxesMiddleware",
    "django_prometheus.middleware.PrometheusAfterMiddleware",
]

# The vendor's callbacks are machines' signed POSTs, with no session, cookie, language or
# page: they pass only these (config/callbacks.py).
CALLBACK_MIDDLEWARE = [
    "django_prometheus.middleware.PrometheusBeforeMiddleware",
    "core.middleware.TrustedProxyMiddleware",
    "core.middleware.RequestIdMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "django_prometheus.middleware.PrometheusAfterMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "core.context_processors.navigation",
            ],
            "builtins": ["template_partials.templatetags.partials"],
        },
    }
]

# --- Database -----------------------------------------------------------------
VAR_DIR.mkdir(parents=True, exist_ok=True)
# One engine: PostgreSQL. Without DATABASE_URL, the embedded server under var/, which the
# demo runner and the test runner start (importing the settings never starts a server).
DATABASES = {
    "default": env.db_url("DATABASE_URL")
    if env.str("DATABASE_URL", default="")
    else embedded_db.database_settings(VAR_DIR)
}
DATABASES["default"].setdefault("OPTIONS", {})
# Django's PostgreSQL backend with query counts and latency for /metrics (django-prometheus).
DATABASES["default"]["ENGINE"] = "django_prometheus.db.backends.postgresql"
DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
# A connection pool per process (0: none). For the web workers (config/asgi.py): their
# WEB_THREADS request threads and the live streams' sign-in share it, so a burst (500 live
# pages reconnecting at once) waits for one of DB_POOL_MAX_SIZE connections instead of
# exhausting max_connections. A pool replaces persistent connections.
DB_POOL_MAX_SIZE = env.int("DB_POOL_MAX_SIZE", default=0)
if DB_POOL_MAX_SIZE > 0:
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"]["OPTIONS"]["pool"] = {
        "min_size": 1,
        "max_size": DB_POOL_MAX_SIZE,
        "timeout": env.float("DB_POOL_TIMEOUT", default=10.0),
    }
DATABASES["default"]["OPTIONS"].setdefault("connect_timeout", 5)
# Threads per web worker process for ordinary (non-stream) requests (config/asgi.py).
WEB_THREADS = env.int("WEB_THREADS", default=8)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache (nonces, circuit breaker, rate limits, heartbeats) -----------------
CACHES = {"default": env.cache_url("CACHE_URL", default=f"filecache://{VAR_DIR / 'cache'}")}
CACHES["default"]["KEY_PREFIX"] = env.str("CACHE_KEY_PREFIX", default="sb")
if CACHES["default"]["BACKEND"] in (
    "django.core.cache.backends.redis.RedisCache",
    "django_redis.cache.RedisCache",  # what django-environ names once django-redis is installed
):
    # django-redis: one connection pool per server in each process, shared by every
    # request's backend (Django's own client built a pool per request context). A burst
    # (500 live pages signing in at once after a restart) waits for one of
    # REDIS_POOL_MAX_SIZE connections instead of failing with "Too many connections".
    CACHES["default"]["BACKEND"] = "django_redis.cache.RedisCache"
    CACHES["default"]["OPTIONS"] = {
        "CLIENT_CLASS": "django_redis.client.DefaultClient",
        "CONNECTION_POOL_CLASS": "redis.BlockingConnectionPool",
        "CONNECTION_POOL_KWARGS": {
            "max_connections": env.int("REDIS_POOL_MAX_SIZE", default=50),
            "timeout": env.float("REDIS_POOL_TIMEOUT", default=10.0),
        },
        # A dead or hung Redis costs a page (and a probe's thread) seconds, not forever:
        # the cache's readers fall back to the database (core/cache.py).
        "SOCKET_CONNECT_TIMEOUT": env.float("REDIS_CONNECT_TIMEOUT", default=1.0),
        "SOCKET_TIMEOUT": env.float("REDIS_SOCKET_TIMEOUT", default=5.0),
        **CACHES["default"].get("OPTIONS", {}),
    }

# --- Auth -----------------------------------------------------------------------
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 12},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

# django-axes: lock a username+IP pair after 10 failures within an hour. The cool-off is
# fixed, counted from the lock: failures during the lockout are not recorded, so they do
# not restart it (core/lockout.py says when to try again). A success resets the counter.
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=10)
AXES_COOLOFF_TIME = 1  # hours
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
AXES_LOCKOUT_CALLABLE = "core.lockout.lockout_response"
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_HTTP_RESPONSE_CODE = 429  # Too Many Requests, with Retry-After (core/lockout.py)
# The client address through TRUSTED_PROXY_NETS (behind nginx, REMOTE_ADDR is the proxy).
AXES_CLIENT_IP_CALLABLE = "core.net.client_address"

# --- i18n -----------------------------------------------------------------------
LANGUAGE_CODE = "en"
LANGUAGES = [("en", _("English")), ("zh-hans", _("Simplified Chinese"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = env.str("TIME_ZONE", default="UTC")
USE_I18N = True
USE_TZ = True

# --- Static -----------------------------------------------------------------------
STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = BASE_DIR / "staticfiles"
# Outside production, WhiteNoise serves straight from static/ (no collectstatic), also with
# DEBUG off (the demo runs with DEBUG off to show the real error pages).
WHITENOISE_USE_FINDERS = env.str("SWITCHBOARD_ENV", default="development") != "production"
# Hashed names (a new name for every changed file, cached for a year by nginx and browsers)
# and compressed copies, written by collectstatic (core/static_collect.py).
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}

# --- Secrets at rest --------------------------------------------------------------
# Comma list of Fernet keys: the first encrypts, all decrypt (rotation).
_DEMO_FIELD_KEY = "ZGVtby1rZXktZG8tbm90LXVzZS1pbi1wcm9kdWN0aW8="
FIELD_ENCRYPTION_KEYS = env.list("FIELD_ENCRYPTION_KEYS", default=[_DEMO_FIELD_KEY])


def FIELD_ENCRYPTION_KEYS_DEFAULT_IN_USE() -> bool:
    return _DEMO_FIELD_KEY in FIELD_ENCRYPTION_KEYS


# --- Security -------------------------------------------------------------------
# SWITCHBOARD_ENV=production turns on every secure default (and refuses to start with
# DEBUG or the demo SECRET_KEY); each can still be set one by one from the environment.
PRODUCTION = env.str("SWITCHBOARD_ENV", default="development") == "production"
if PRODUCTION and (DEBUG or SECRET_KEY.startswith("insecure-demo-key")):
    raise ImproperlyConfigured("Production needs DEBUG=false and a real SECRET_KEY.")
if PRODUCTION and FIELD_ENCRYPTION_KEYS_DEFAULT_IN_USE():
    raise ImproperlyConfigured("Production needs its own FIELD_ENCRYPTION_KEYS.")
SESSION_COOKIE_HTTPONLY = True
# Sessions read from the cache, written through to the database: a page view reads Redis,
# not PostgreSQL (bench/pages.py); a cache flush signs nobody out, and a Redis outage falls
# back to the database (core/sessions.py).
SESSION_ENGINE = "core.sessions"
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_AGE = env.int("SESSION_COOKIE_AGE", default=12 * 3600)  # absolute
# Signed out after this many seconds without a request (core.middleware.IdleTimeoutMiddleware).
SESSION_IDLE_TIMEOUT = env.int("SESSION_IDLE_TIMEOUT", default=30 * 60)
# API tokens expire after this many days (0: never); a password change revokes them.
API_TOKEN_MAX_AGE_DAYS = env.int("API_TOKEN_MAX_AGE_DAYS", default=0)
# Browser features no page uses.
PERMISSIONS_POLICY = (
    "accelerometer=(), camera=(), geolocation=(), gyroscope=(), magnetometer=(), "
    "microphone=(), payment=(), usb=(), interest-cohort=()"
)
CSRF_COOKIE_HTTPONLY = False  # htmx reads the token from the body's hx-headers, not the cookie
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=PRODUCTION)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=PRODUCTION)
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=PRODUCTION)
# Probes and scrapers on the private network may speak plain HTTP.
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^livez$", r"^readyz$", r"^metrics$"]
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000 if PRODUCTION else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=PRODUCTION)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=PRODUCTION)
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
DATA_UPLOAD_MAX_MEMORY_SIZE = 1024 * 1024  # webhooks: 1 MiB, checked again in the receiver
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024
IMPORT_MAX_BYTES = env.int("IMPORT_MAX_BYTES", default=10 * 1024 * 1024)
# Avatar URLs are fetched to check them; private networks are refused unless listed here.
AVATAR_FETCH_ALLOWED_NETS = env.list("AVATAR_FETCH_ALLOWED_NETS", default=[])
# Outgoing deliveries (event subscriptions, alert channels, avatar fetches) refuse
# loopback, private and link-local addresses at connect time unless listed here
# (core.outbound; docs/design.md section 3). AVATAR_FETCH_ALLOWED_NETS is an older alias.
OUTBOUND_ALLOWED_NETS = env.list("OUTBOUND_ALLOWED_NETS", default=[])
# Outgoing events and alerts (notify app).
EVENT_RETRY_HOURS = env.float("EVENT_RETRY_HOURS", default=24.0)
EVENT_DISABLE_AFTER_DAYS = env.float("EVENT_DISABLE_AFTER_DAYS", default=3.0)
EVENT_DELIVERY_TIMEOUT = env.float("EVENT_DELIVERY_TIMEOUT", default=10.0)
EVENT_DELIVERY_THREADS = env.int("EVENT_DELIVERY_THREADS", default=8)
ALERT_GROUP_SECONDS = env.float("ALERT_GROUP_SECONDS", default=30.0)
# Absolute links in alert messages ("" sends paths only).
SITE_URL = env.str("SITE_URL", default="")

# Content Security Policy: no inline script or style, no eval. The base layout and
# every page keep to that, so this header holds everywhere.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        # WhatsApp's profile pictures: the vendor's info/profile avatar (account page).
        "img-src": [SELF, "data:", "https://pps.whatsapp.net"],
        "connect-src": [SELF],
        "font-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
        "report-uri": "/csp-report/",
    }
}

# CSP reports (/csp-report/): per client per minute, rows kept at most, days kept.
CSP_REPORT_RATE = env.int("CSP_REPORT_RATE", default=20)
CSP_REPORT_MAX_ROWS = env.int("CSP_REPORT_MAX_ROWS", default=1000)
CSP_REPORT_RETENTION_DAYS = env.int("CSP_REPORT_RETENTION_DAYS", default=30)

# Live updates: changes within this window go to a page in one write (core/live_views.py).
LIVE_COALESCE_SECONDS = env.float("LIVE_COALESCE_SECONDS", default=0.2)
# Events every page of a kind hears ("fleet": tiles; "lanes", "inbox": lists) at most once
# per this many seconds per page; row events ("account-<number>") are not slowed.
LIVE_BROAD_SECONDS = env.float("LIVE_BROAD_SECONDS", default=1.0)

# Rendered fragments (fleet rows, core/fragments.py) are kept this long after their last
# render; keyed on their exact inputs, so this bounds memory, not staleness.
FRAGMENT_CACHE_SECONDS = env.int("FRAGMENT_CACHE_SECONDS", default=3600)

# --- DRF ------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "core.tokens.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "core.api.Pagination",
    "PAGE_SIZE": 50,
    "DEFAULT_SCHEMA_CLASS": "core.api_schema.AutoSchema",
    "DEFAULT_FILTER_BACKENDS": [],
    "EXCEPTION_HANDLER": "core.api.exception_handler",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Switchboard API",
    "DESCRIPTION": "Fleet console for WhatsApp customer-service accounts.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    # The outgoing events, from notify/payloads.py (notify/event_schema.py), under
    # x-webhooks in this OpenAPI 3.0 document.
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "notify.event_schema.as_extension",
    ],
    "WEBHOOKS": [
        f"notify.event_schema.{name}"
        for name in (
            "account_status_changed",
            "account_banned",
            "qr_session_finished",
            "scan_task_finished",
            "action_finished",
            "registration_finished",
            "job_finished",
            "quota_exceeded",
        )
    ],
    # Several code tables share field names ("status"): name each enum after its table.
    "ENUM_NAME_OVERRIDES": {
        "AccountStatusEnum": "accounts.choices.AccountStatus",
        "OnlineStatusEnum": "accounts.choices.OnlineStatus",
        "PresenceEnum": "accounts.choices.Presence",
        "DetailStatusEnum": "accounts.choices.DetailStatus",
        "AccountTypeEnum": "accounts.choices.AccountType",
        "PlatformEnum": "accounts.choices.Platform",
        "SourceEnum": "accounts.choices.Source",
        "VerifyTypeEnum": "accounts.choices.VerifyType",
        "PortStatusEnum": "ports.models.PortStatus",
        "ScanTaskStatusEnum": "qrlogin.models.ScanTaskStatus",
        "AllocationRoleEnum": "qrlogin.models.AllocationRole",
        "PcTypeEnum": "qrlogin.models.PcType",
        "RegistrationStateEnum": "accounts.models.Registration.State",
        "QrSessionStateEnum": "qrlogin.models.QrSession.State",
        "WebhookEventStateEnum": "webhooks.models.WebhookEvent.State",
        "WebhookKindEnum": "webhooks.models.WebhookKind",
        "ContactLookupKindEnum": "accounts.models.ContactLookup.Kind",
        "StatusEventOriginEnum": "accounts.models.StatusEvent.Origin",
        "EventTypeEnum": "notify.models.EventType",
        "AlertRuleKeyEnum": "notify.models.RuleKey",
        "AlertChannelLanguageEnum": "notify.models.AlertChannel.Language",
        "EventDeliveryStateEnum": "notify.models.Delivery.State",
    },
}

# --- Celery -----------------------------------------------------------------------
_fs_broker = VAR_DIR / "broker"
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="filesystem://")
CELERY_BROKER_TRANSPORT_OPTIONS: dict[str, object] = {}
if CELERY_BROKER_URL.startswith("filesystem"):
    for sub in ("in", "processed", "control"):
        (_fs_broker / sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_fs_broker / "in"),
        "data_folder_out": str(_fs_broker / "in"),
        "processed_folder": str(_fs_broker / "processed"),
        # Exchange bindings too, or kombu writes them to ./control in the working directory.
        "control_folder": str(_fs_broker / "control"),
        "store_processed": False,
    }
else:
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
CELERY_RESULT_BACKEND = env.str("CELERY_RESULT_BACKEND", default="") or None
CELERY_TASK_DEFAULT_QUEUE = "fast"
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TIMEZONE = "UTC"
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
# Beat entries live next to the tasks they run; config/celery.py gathers them.

# --- Upstream (the vendor) ------------------------------------------------------
UPSTREAM_BASE_URL = env.str("UPSTREAM_BASE_URL", default="http://127.0.0.1:8001")
UPSTREAM_API_KEY = env.str("UPSTREAM_API_KEY", default="demo-key")
UPSTREAM_API_SECRET = env.str("UPSTREAM_API_SECRET", default="demo-secret")
# The seed's example tenant (500766) is the demo's; production has no default (core/checks.py).
UPSTREAM_TENANT_ID = env.int("UPSTREAM_TENANT_ID", default=0 if PRODUCTION else 500766)
UPSTREAM_TIMEZONE = env.str("UPSTREAM_TIMEZONE", default="Asia/Shanghai")
UPSTREAM_SIGNER = env.str("UPSTREAM_SIGNER", default="upstream.signing.HmacSigner")
# How our calls authenticate (docs/vendor.md, "Authentication"): none, headers (static
# UPSTREAM_AUTH_HEADERS "name=value;name=value", a value may be {UPSTREAM_API_KEY},
# {UPSTREAM_API_SECRET} or {UPSTREAM_TENANT_ID}), or hmac (UPSTREAM_HMAC_*, defaults: the
# scheme of upstream/signing.py).
UPSTREAM_AUTH = env.str("UPSTREAM_AUTH", default="hmac")
UPSTREAM_AUTH_HEADERS = env.str("UPSTREAM_AUTH_HEADERS", default="")
UPSTREAM_HMAC_KEY_HEADER = env.str("UPSTREAM_HMAC_KEY_HEADER", default="X-Api-Key")
UPSTREAM_HMAC_TIMESTAMP_HEADER = env.str("UPSTREAM_HMAC_TIMESTAMP_HEADER", default="X-Timestamp")
UPSTREAM_HMAC_NONCE_HEADER = env.str("UPSTREAM_HMAC_NONCE_HEADER", default="X-Nonce")
UPSTREAM_HMAC_SIGNATURE_HEADER = env.str("UPSTREAM_HMAC_SIGNATURE_HEADER", default="X-Signature")
# {timestamp}, {nonce}, {key} and {body} (the raw bytes sent).
UPSTREAM_HMAC_CANONICAL = env.str("UPSTREAM_HMAC_CANONICAL", default="{timestamp}.{nonce}.{body}")
UPSTREAM_HMAC_DIGEST = env.str("UPSTREAM_HMAC_DIGEST", default="sha256")  # sha256, sha512, sha1
UPSTREAM_HMAC_TIMESTAMP_UNIT = env.str("UPSTREAM_HMAC_TIMESTAMP_UNIT", default="s")  # s or ms
UPSTREAM_CONNECT_TIMEOUT = env.float("UPSTREAM_CONNECT_TIMEOUT", default=3.0)
UPSTREAM_READ_TIMEOUT = env.float("UPSTREAM_READ_TIMEOUT", default=10.0)
UPSTREAM_BREAKER_THRESHOLD = env.int("UPSTREAM_BREAKER_THRESHOLD", default=5)
UPSTREAM_BREAKER_COOLDOWN = env.float("UPSTREAM_BREAKER_COOLDOWN", default=30.0)
# Bulk jobs retry transient vendor failures ("system busy", unknown 5xx codes, HTTP 5xx,
# nothing sent) with backoff, for at most this long (inside the task's time limit).
UPSTREAM_TRANSIENT_RETRY_SECONDS = env.float("UPSTREAM_TRANSIENT_RETRY_SECONDS", default=300.0)
UPSTREAM_TRANSIENT_BACKOFF_SECONDS = env.float("UPSTREAM_TRANSIENT_BACKOFF_SECONDS", default=2.0)
# Which id the port operations send (docs/vendor.md, "Behaviour seams"): auto, pregenerate
# or port-list.
UPSTREAM_PORT_ID = env.str("UPSTREAM_PORT_ID", default="auto")
WEBHOOK_SECRETS = env.list("WEBHOOK_SECRETS", default=["demo-secret"])
WEBHOOK_MAX_SKEW = 300
WEBHOOK_NONCE_TTL = 600
WEBHOOK_MAX_BYTES = 1024 * 1024
# Webhook authentication (docs/webhooks.md): a comma list of checks that must all pass:
# path-token (the receivers answer under /hooks/<WEBHOOK_PATH_TOKEN>/; the production
# default), hmac (the signing scheme above, WEBHOOK_SECRETS), api-key (X-Api-Key in
# WEBHOOK_API_KEYS), ip (the client address, read through TRUSTED_PROXY_NETS, in
# WEBHOOK_ALLOWED_NETS).
WEBHOOK_AUTH = env.list("WEBHOOK_AUTH", default=["path-token"] if PRODUCTION else ["hmac"])
WEBHOOK_PATH_TOKEN = env.str("WEBHOOK_PATH_TOKEN", default="")
# The site's absolute address as the vendor reaches it: the callback URLs to register
# (vendor_check --callbacks) are built from it.
PUBLIC_BASE_URL = env.str("PUBLIC_BASE_URL", default="http://127.0.0.1:8000")
# Refused deliveries kept in quarantine (docs/webhooks.md): body bytes kept per delivery,
# deliveries kept, days kept.
WEBHOOK_QUARANTINE_MAX_BYTES = env.int("WEBHOOK_QUARANTINE_MAX_BYTES", default=128 * 1024)
WEBHOOK_QUARANTINE_KEEP = env.int("WEBHOOK_QUARANTINE_KEEP", default=1000)
WEBHOOK_QUARANTINE_DAYS = env.int("WEBHOOK_QUARANTINE_DAYS", default=14)
WEBHOOK_API_KEYS = env.list("WEBHOOK_API_KEYS", default=[])
WEBHOOK_ALLOWED_NETS = env.list("WEBHOOK_ALLOWED_NETS", default=[])
# X-Forwarded-For is read only when the direct peer is one of these (the reverse proxy).
TRUSTED_PROXY_NETS = env.list("TRUSTED_PROXY_NETS", default=[])


def _check_webhook_auth() -> None:
    from core.net import parse_nets
    from webhooks.authconfig import parse_checks

    try:
        checks = parse_checks(WEBHOOK_AUTH)
        parse_nets(WEBHOOK_ALLOWED_NETS, "WEBHOOK_ALLOWED_NETS")
        parse_nets(TRUSTED_PROXY_NETS, "TRUSTED_PROXY_NETS")
    except ValueError as exc:
        raise ImproperlyConfigured(str(exc)) from None
    if PRODUCTION and not checks:
        raise ImproperlyConfigured("Production needs WEBHOOK_AUTH (path-token, hmac, api-key, ip).")
    if "api-key" in checks and not any(WEBHOOK_API_KEYS):
        raise ImproperlyConfigured("WEBHOOK_AUTH has api-key: set WEBHOOK_API_KEYS.")
    if "ip" in checks and not any(WEBHOOK_ALLOWED_NETS):
        raise ImproperlyConfigured("WEBHOOK_AUTH has ip: set WEBHOOK_ALLOWED_NETS.")


_check_webhook_auth()

# Abuse of vendor calls: open QR/pair sessions per agent (each locks a cloud port for 10
# minutes), and vendor-calling pages per user per minute.
QR_SESSIONS_MAX_OPEN = env.int("QR_SESSIONS_MAX_OPEN", default=3)
VENDOR_VIEWS_PER_MINUTE = env.int("VENDOR_VIEWS_PER_MINUTE", default=12)

# --- Lists (docs/accounts.md) ---------------------------------------------------------
# Up to this many matching rows a list shows its exact count; above it, PostgreSQL's
# row estimate ("1–50 of about 100,000"), so a page never counts a big table.
LIST_EXACT_COUNT_LIMIT = env.int("LIST_EXACT_COUNT_LIMIT", default=10_000)
# How long a list's estimated count ("about 100,000") is reused (core/listing.py).
LIST_ESTIMATE_SECONDS = env.int("LIST_ESTIMATE_SECONDS", default=60)

# --- Open-chat actions (seconds unless named otherwise; docs/actions.md) ------------
# The vendor's spacing rule: seconds between two actions of one pair.
ACTION_LANE_INTERVAL = env.float("ACTION_LANE_INTERVAL", default=10.0)
ACTION_BATCH_SIZE = env.int("ACTION_BATCH_SIZE", default=100)  # actions per batchAdd
ACTION_CLAIM_LIMIT = env.int("ACTION_CLAIM_LIMIT", default=2000)  # lanes per pass
ACTION_POLL_INTERVAL = env.float("ACTION_POLL_INTERVAL", default=2.0)
ACTION_FIRST_POLL_DELAY = env.float("ACTION_FIRST_POLL_DELAY", default=1.0)
ACTION_POLL_BATCH_SIZE = env.int("ACTION_POLL_BATCH_SIZE", default=100)  # ids per callbackResult
# The vendor fails an action after 1 minute without a login: 3 minutes leaves room.
ACTION_RESULT_DEADLINE = env.float("ACTION_RESULT_DEADLINE", default=180.0)
# Longer than the longest batchAdd call: a `sending` action older than this lost its worker.
# Unset: max(60, connect + read timeout + 30), following the upstream timeouts.
ACTION_SENDING_DEADLINE: float | None = env.float("ACTION_SENDING_DEADLINE", default=None)
ACTION_RETRY_DELAY = env.float("ACTION_RETRY_DELAY", default=5.0)  # after a call never sent
ACTION_AMBIGUOUS_HOLD = env.float("ACTION_AMBIGUOUS_HOLD", default=30.0)  # lane after a doubt
ACTION_DISPATCH_HOLD = env.float("ACTION_DISPATCH_HOLD", default=3.0)
ACTION_DISPATCH_BUDGET = env.float("ACTION_DISPATCH_BUDGET", default=30.0)
ACTION_WAKE_CHECK = env.float("ACTION_WAKE_CHECK", default=0.05)
ACTION_CLAIM_LEAD = env.float("ACTION_CLAIM_LEAD", default=0.05)
ACTION_SEND_CONCURRENCY = env.int("ACTION_SEND_CONCURRENCY", default=4)

# --- QR login (seconds; docs/qrlogin.md) -----------------------------------------------
QRLOGIN_LOCK_SECONDS = env.float("QRLOGIN_LOCK_SECONDS", default=600.0)  # seed: 10 minutes
QRLOGIN_QR_REFRESH_SECONDS = env.float("QRLOGIN_QR_REFRESH_SECONDS", default=15.0)
# Unset: the refresh interval + 5 s.
QRLOGIN_QR_MAX_AGE_SECONDS: float | None = env.float("QRLOGIN_QR_MAX_AGE_SECONDS", default=None)
QRLOGIN_STATUS_POLL_SECONDS = env.float("QRLOGIN_STATUS_POLL_SECONDS", default=0.5)
QRLOGIN_LOCK_WARNING_SECONDS = env.float("QRLOGIN_LOCK_WARNING_SECONDS", default=180.0)
QRLOGIN_PAIR_TARGETS_MAX_AGE = env.float("QRLOGIN_PAIR_TARGETS_MAX_AGE", default=3600.0)
QRLOGIN_QUOTA_MAX_AGE = env.float("QRLOGIN_QUOTA_MAX_AGE", default=60.0)
QRLOGIN_RESULT_POLL_SECONDS = env.float("QRLOGIN_RESULT_POLL_SECONDS", default=10.0)
QRLOGIN_RESULT_POLL_MAX_SECONDS = env.float("QRLOGIN_RESULT_POLL_MAX_SECONDS", default=60.0)
QRLOGIN_LATE_RESULT_SECONDS = env.float("QRLOGIN_LATE_RESULT_SECONDS", default=600.0)
QRLOGIN_SCAN_TASK_POLL_SECONDS = env.float("QRLOGIN_SCAN_TASK_POLL_SECONDS", default=30.0)
QRLOGIN_SCAN_TASK_WATCH_SECONDS = env.float("QRLOGIN_SCAN_TASK_WATCH_SECONDS", default=1800.0)
QRLOGIN_API_START_RATE = env.str("QRLOGIN_API_START_RATE", default="20/min")

# Contact look-ups: at most one per account per this many seconds (vendor risk control).
CONTACT_LOOKUP_INTERVAL = env.int("CONTACT_LOOKUP_INTERVAL", default=60)

# The health page and /healthz's details turn "degraded" when the oldest webhook event not
# yet applied is older than this (seconds); the home page colours the lag against it.
WEBHOOK_LAG_DEGRADED_SECONDS = env.float("WEBHOOK_LAG_DEGRADED_SECONDS", default=120.0)

# --- Metrics (per instance; core/metrics.py) ---------------------------------------
# Set for processes with several workers (gunicorn's web workers, config/gunicorn.py; a
# prefork Celery worker): they share their values through files in this directory.
#   PROMETHEUS_MULTIPROC_DIR=/run/switchboard/metrics  (read by prometheus_client itself)
# A Celery worker serves its own /metrics on this port (0: none; the web tier at /metrics).
CELERY_METRICS_PORT = env.int("CELERY_METRICS_PORT", default=0)
CELERY_METRICS_ADDR = env.str("CELERY_METRICS_ADDR", default="127.0.0.1")
PROMETHEUS_EXPORT_MIGRATIONS = False  # would query the database at every start
METRICS_TOKEN = env.str("METRICS_TOKEN", default="")  # production requires it (core/checks.py)
# Without a token (development), /metrics answers only these networks: the client address
# as core.net reads it (through TRUSTED_PROXY_NETS), never the proxy's own address.
METRICS_ALLOWED_NETS = env.list("METRICS_ALLOWED_NETS", default=["127.0.0.0/8", "::1/128"])

# --- Error reporting (optional; core/error_reporting.py) ------------------------------
SENTRY_DSN = env.str("SENTRY_DSN", default="")
if SENTRY_DSN:
    from core.error_reporting import init_error_reporting

    init_error_reporting(
        dsn=SENTRY_DSN,
        environment=env.str(
            "SENTRY_ENVIRONMENT", default=env.str("SWITCHBOARD_ENV", default="development")
        ),
        traces_sample_rate=env.float("SENTRY_TRACES_SAMPLE_RATE", default=0.0),
    )

# --- Logging --------------------------------------------------------------------
LOG_LEVEL = env.str("LOG_LEVEL", default="INFO")
LOG_JSON = env.bool("LOG_JSON", default=not DEBUG)
# One access line per request (core.middleware.RequestIdMiddleware); the demo turns it off.
LOG_ACCESS = env.bool("LOG_ACCESS", default=True)
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        "redact": {"()": "core.logging.RedactingFilter"},
        "context": {"()": "core.logging.ContextFilter"},
    },
    "formatters": {
        "json": {"()": "core.logging.JsonFormatter"},
        "plain": {
            "format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s %(task_id)s %(client)s] "
            "%(message)s"
        },
    },
    "handlers": {
        "console": {
            # stdout: where container runtimes and systemd's journal expect a service's logs.
            "class": "logging.StreamHandler",
            "stream": "ext://sys.stdout",
            "filters": ["context", "redact"],
            "formatter": "json" if LOG_JSON else "plain",
        }
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        "switchboard.access": {"level": "INFO" if LOG_ACCESS else "WARNING"},
        "axes": {"level": "WARNING"},
        # Alert channel URLs (Apprise) carry tokens, and Apprise logs whole URLs even at
        # ERROR ("Unsupported URL: ..."): it is silenced; notify reports failures in its
        # own words (AlertChannel.last_error). urllib3 logs request paths at DEBUG.
        "apprise": {"level": "CRITICAL", "propagate": False},
        "urllib3": {"level": "WARNING"},
        # Access logs carry request paths, and a webhook's path carries WEBHOOK_PATH_TOKEN:
        # they go through the redacting handler like every other line. uvicorn's own line
        # repeats the one RequestIdMiddleware writes for every request Django serves (that
        # one has the request id and the duration): a second JSON line per request and
        # per webhook, so it is kept for warnings only.
        "uvicorn.access": {"handlers": ["console"], "propagate": False, "level": "WARNING"},
        "gunicorn.access": {"handlers": ["console"], "propagate": False},
    },
}

# History (core/partitions.py, core/history.py): the tables that grow with time are
# partitioned by month (UTC); each keeps this many calendar months, the current one
# included (0: forever), and older months are archived then dropped by the beat.
STATUS_HISTORY_MONTHS = env.int("STATUS_HISTORY_MONTHS", default=13)
WEBHOOK_INBOX_MONTHS = env.int("WEBHOOK_INBOX_MONTHS", default=3)
AUDIT_LOG_MONTHS = env.int("AUDIT_LOG_MONTHS", default=25)
EVENT_DELIVERY_MONTHS = env.int("EVENT_DELIVERY_MONTHS", default=3)
ALERT_HISTORY_MONTHS = env.int("ALERT_HISTORY_MONTHS", default=13)
HISTORY_MONTHS_AHEAD = env.int("HISTORY_MONTHS_AHEAD", default=2)
# Where a month is written before it is dropped (empty: dropped without an archive).
HISTORY_ARCHIVE_DIR = env.str("HISTORY_ARCHIVE_DIR", default=str(VAR_DIR / "history-archive"))
# The longest the retention job waits for (so holds up others behind) a table's lock.
HISTORY_LOCK_TIMEOUT_MS = env.int("HISTORY_LOCK_TIMEOUT_MS", default=100)

# --- Identity: second factor, single sign-on, sessions (identity app, docs/identity.md) ---
INSTALLED_APPS += [
    "allauth",
    "allauth.account",
    "allauth.mfa",
    "allauth.socialaccount",
    "allauth.socialaccount.providers.openid_connect",
    "allauth.usersessions",
    "identity",
]
_AUTH_MW = MIDDLEWARE.index("django.contrib.auth.middleware.AuthenticationMiddleware")
MIDDLEWARE[_AUTH_MW + 1 : _AUTH_MW + 1] = [
    "allauth.account.middleware.AccountMiddleware",
    "allauth.usersessions.middleware.UserSessionsMiddleware",
]
_MESSAGES_MW = MIDDLEWARE.index("django.contrib.messages.middleware.MessageMiddleware")
MIDDLEWARE.insert(_MESSAGES_MW + 1, "identity.middleware.SecondFactorEnrolmentMiddleware")
AUTHENTICATION_BACKENDS += ["allauth.account.auth_backends.AuthenticationBackend"]
ACCOUNT_ADAPTER = "identity.adapters.AccountAdapter"
SOCIALACCOUNT_ADAPTER = "identity.adapters.SocialAccountAdapter"
ACCOUNT_LOGIN_METHODS = {"username"}
ACCOUNT_SIGNUP_FIELDS = ["username*", "email", "password1*", "password2*"]
ACCOUNT_EMAIL_VERIFICATION = "none"
ACCOUNT_LOGOUT_REDIRECT_URL = "login"
# Roles whose people must have a second factor: enrolment is forced at their next sign-in.
MFA_REQUIRED_ROLES = env.list("MFA_REQUIRED_ROLES", default=["admin", "supervisor"])
MFA_ADAPTER = "identity.adapters.MfaAdapter"
MFA_FORMS = {"authenticate": "identity.forms.SecondFactorForm"}
MFA_TOTP_TOLERANCE = 1  # one period either side: a phone's clock a little off still works
MFA_SUPPORTED_TYPES = ["totp", "webauthn", "recovery_codes"]
MFA_TOTP_ISSUER = env.str("MFA_TOTP_ISSUER", default="Switchboard")
MFA_RECOVERY_CODE_COUNT = 10
# WebAuthn needs HTTPS except on localhost; production always has HTTPS.
MFA_WEBAUTHN_ALLOW_INSECURE_ORIGIN = env.bool(
    "MFA_WEBAUTHN_ALLOW_INSECURE_ORIGIN", default=not PRODUCTION
)
# Sessions are listed (Security page) from sign-in on; no write per request.
USERSESSIONS_TRACK_ACTIVITY = False
# Single sign-on with the company's OpenID Connect provider (off by default).
OIDC_ENABLED = env.bool("OIDC_ENABLED", default=False)
OIDC_PROVIDER_ID = env.str("OIDC_PROVIDER_ID", default="sso")
OIDC_PROVIDER_NAME = env.str("OIDC_PROVIDER_NAME", default="company sign-in")
OIDC_SERVER_URL = env.str("OIDC_SERVER_URL", default="")  # the issuer (discovery below it)
OIDC_CLIENT_ID = env.str("OIDC_CLIENT_ID", default="")
OIDC_CLIENT_SECRET = env.str("OIDC_CLIENT_SECRET", default="")
OIDC_SCOPES = env.list("OIDC_SCOPES", default=["openid", "profile", "email"])
OIDC_GROUPS_CLAIM = env.str("OIDC_GROUPS_CLAIM", default="groups")
# The provider's group names that give each role (highest role wins; none: no role).
OIDC_ROLE_GROUPS = {
    "admin": env.list("OIDC_ADMIN_GROUPS", default=[]),
    "supervisor": env.list("OIDC_SUPERVISOR_GROUPS", default=[]),
    "agent": env.list("OIDC_AGENT_GROUPS", default=[]),
}
# With single sign-on on, who may still use the password form (break-glass).
OIDC_PASSWORD_SIGNIN_ROLES = env.list("OIDC_PASSWORD_SIGNIN_ROLES", default=["admin"])
# The provider enforces its own second factor, so its sessions are not asked to enrol here.
OIDC_SATISFIES_MFA = env.bool("OIDC_SATISFIES_MFA", default=True)
SOCIALACCOUNT_AUTO_SIGNUP = True
SOCIALACCOUNT_EMAIL_AUTHENTICATION = False
SOCIALACCOUNT_STORE_TOKENS = False
SOCIALACCOUNT_LOGIN_ON_GET = False
# Password reset by e-mail (Django's views); the demo prints the mail on the console.
EMAIL_BACKEND = env.str("EMAIL_BACKEND", default="django.core.mail.backends.console.EmailBackend")
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="switchboard@localhost")
EMAIL_HOST = env.str("EMAIL_HOST", default="localhost")
EMAIL_PORT = env.int("EMAIL_PORT", default=25)
EMAIL_HOST_USER = env.str("EMAIL_HOST_USER", default="")
EMAIL_HOST_PASSWORD = env.str("EMAIL_HOST_PASSWORD", default="")
EMAIL_USE_TLS = env.bool("EMAIL_USE_TLS", default=False)
PASSWORD_RESET_TIMEOUT = env.int("PASSWORD_RESET_TIMEOUT", default=3600)
