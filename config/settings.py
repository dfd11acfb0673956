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
    "core",
    "upstream",
    "simulator",
    "accounts",
    "qrlogin",
    "actions",
    "webhooks",
    "demo",
]

MIDDLEWARE = [
    "core.middleware.RequestIdMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "csp.middleware.CSPMiddleware",
    # axes last, so it sees the authenticated request.
    "axes.middleware.AxesMiddleware",
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
# One engine: PostgreSQL. Without DATABASE_URL, the embedded server under var/ (started
# here on first use, so every process and manage.py command finds it).
DATABASES = {
    "default": env.db_url("DATABASE_URL")
    if env.str("DATABASE_URL", default="")
    else embedded_db.ensure_running(VAR_DIR)
}
DATABASES["default"].setdefault("OPTIONS", {})
DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DATABASES["default"]["OPTIONS"].setdefault("connect_timeout", 5)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache (nonces, circuit breaker, rate limits, heartbeats) -----------------
CACHES = {"default": env.cache_url("CACHE_URL", default=f"filecache://{VAR_DIR / 'cache'}")}
CACHES["default"]["KEY_PREFIX"] = env.str("CACHE_KEY_PREFIX", default="sb")

# --- Auth -----------------------------------------------------------------------
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

# django-axes: lock a username+IP pair after 10 failures within an hour.
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=10)
AXES_COOLOFF_TIME = 1  # hours
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_IPWARE_META_PRECEDENCE_ORDER = ["REMOTE_ADDR"]

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
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
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
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_AGE = env.int("SESSION_COOKIE_AGE", default=12 * 3600)
CSRF_COOKIE_HTTPONLY = False  # htmx reads the token from the body's hx-headers, not the cookie
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=PRODUCTION)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=PRODUCTION)
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=PRODUCTION)
# Probes and scrapers on the private network may speak plain HTTP.
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^metrics$"]
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

# Content Security Policy: no inline script or style, no eval. The base layout and
# every page keep to that, so this header holds everywhere.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "connect-src": [SELF],
        "font-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
        "report-uri": "/csp-report/",
    }
}

# Live updates: changes within this window go to a page in one write (core/live_views.py).
LIVE_COALESCE_SECONDS = env.float("LIVE_COALESCE_SECONDS", default=0.2)

# --- DRF ------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "core.tokens.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "core.api.Pagination",
    "PAGE_SIZE": 50,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
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
        "PortStatusEnum": "qrlogin.models.PortStatus",
        "ScanTaskStatusEnum": "qrlogin.models.ScanTaskStatus",
        "AllocationRoleEnum": "qrlogin.models.AllocationRole",
        "PcTypeEnum": "qrlogin.models.PcType",
        "RegistrationStateEnum": "accounts.models.Registration.State",
        "QrSessionStateEnum": "qrlogin.models.QrSession.State",
        "WebhookEventStateEnum": "webhooks.models.WebhookEvent.State",
        "WebhookKindEnum": "webhooks.models.WebhookKind",
        "StatusEventOriginEnum": "accounts.models.StatusEvent.Origin",
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
UPSTREAM_TENANT_ID = env.int("UPSTREAM_TENANT_ID", default=500766)
UPSTREAM_TIMEZONE = env.str("UPSTREAM_TIMEZONE", default="Asia/Shanghai")
UPSTREAM_SIGNER = env.str("UPSTREAM_SIGNER", default="upstream.signing.HmacSigner")
UPSTREAM_CONNECT_TIMEOUT = env.float("UPSTREAM_CONNECT_TIMEOUT", default=3.0)
UPSTREAM_READ_TIMEOUT = env.float("UPSTREAM_READ_TIMEOUT", default=10.0)
UPSTREAM_BREAKER_THRESHOLD = env.int("UPSTREAM_BREAKER_THRESHOLD", default=5)
UPSTREAM_BREAKER_COOLDOWN = env.float("UPSTREAM_BREAKER_COOLDOWN", default=30.0)
# Bulk jobs retry transient vendor failures ("system busy", unknown 5xx codes, HTTP 5xx,
# nothing sent) with backoff, for at most this long (inside the task's time limit).
UPSTREAM_TRANSIENT_RETRY_SECONDS = env.float("UPSTREAM_TRANSIENT_RETRY_SECONDS", default=300.0)
UPSTREAM_TRANSIENT_BACKOFF_SECONDS = env.float("UPSTREAM_TRANSIENT_BACKOFF_SECONDS", default=2.0)
WEBHOOK_SECRETS = env.list("WEBHOOK_SECRETS", default=["demo-secret"])
WEBHOOK_MAX_SKEW = 300
WEBHOOK_NONCE_TTL = 600
WEBHOOK_MAX_BYTES = 1024 * 1024
# Webhook authentication (DESIGN.md section 3): a comma list of checks that must all pass:
# hmac (the signing scheme above, WEBHOOK_SECRETS), api-key (X-Api-Key in WEBHOOK_API_KEYS),
# ip (the client address, read through TRUSTED_PROXY_NETS, in WEBHOOK_ALLOWED_NETS).
WEBHOOK_AUTH = env.list("WEBHOOK_AUTH", default=["hmac"])
WEBHOOK_API_KEYS = env.list("WEBHOOK_API_KEYS", default=[])
WEBHOOK_ALLOWED_NETS = env.list("WEBHOOK_ALLOWED_NETS", default=[])
# X-Forwarded-For is read only when the direct peer is one of these (the reverse proxy).
TRUSTED_PROXY_NETS = env.list("TRUSTED_PROXY_NETS", default=[])


def _check_webhook_auth() -> None:
    from webhooks.authconfig import parse_checks, parse_nets

    try:
        checks = parse_checks(WEBHOOK_AUTH)
        parse_nets(WEBHOOK_ALLOWED_NETS, "WEBHOOK_ALLOWED_NETS")
        parse_nets(TRUSTED_PROXY_NETS, "TRUSTED_PROXY_NETS")
    except ValueError as exc:
        raise ImproperlyConfigured(str(exc)) from None
    if PRODUCTION and not checks:
        raise ImproperlyConfigured("Production needs WEBHOOK_AUTH (hmac, api-key, ip).")
    if "api-key" in checks and not any(WEBHOOK_API_KEYS):
        raise ImproperlyConfigured("WEBHOOK_AUTH has api-key: set WEBHOOK_API_KEYS.")
    if "ip" in checks and not any(WEBHOOK_ALLOWED_NETS):
        raise ImproperlyConfigured("WEBHOOK_AUTH has ip: set WEBHOOK_ALLOWED_NETS.")


_check_webhook_auth()

# Open-chat lanes: the vendor's spacing rule (seconds between two actions of a pair).
ACTION_LANE_INTERVAL = env.float("ACTION_LANE_INTERVAL", default=10.0)

# --- Metrics --------------------------------------------------------------------
METRICS_TOKEN = env.str("METRICS_TOKEN", default="")
# Without a token, /metrics answers only these networks (the scraper's).
METRICS_ALLOWED_NETS = env.list("METRICS_ALLOWED_NETS", default=["127.0.0.0/8", "::1/128"])

# --- Logging --------------------------------------------------------------------
LOG_LEVEL = env.str("LOG_LEVEL", default="INFO")
LOG_JSON = env.bool("LOG_JSON", default=not DEBUG)
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
            "format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s %(task_id)s] %(message)s"
        },
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "filters": ["context", "redact"],
            "formatter": "json" if LOG_JSON else "plain",
        }
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        "axes": {"level": "WARNING"},
    },
}
