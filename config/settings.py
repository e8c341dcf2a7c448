"""
Settings for the SCR 2370 implementation tracker.

One module, configured from the environment. Every variable is listed in
``.env.example``. A malformed value stops start-up with ``ImproperlyConfigured``
naming the variable, rather than being silently replaced by a default.
"""

import datetime as dt
import os
import re
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from redis.connection import parse_url as parse_redis_url

from config import logs

BASE_DIR = Path(__file__).resolve().parent.parent

# Used only while DEBUG is on; start-up refuses it otherwise (see below).
DEVELOPMENT_SECRET_KEY = "development-only-insecure-key-do-not-use-in-production"

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def env_bool(name, default):
    """Read a boolean variable; anything but a clear yes/no is refused."""
    raw = os.environ.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name} must be one of true/false, yes/no, on/off or 1/0; got {raw!r}.")


def env_list(name, default):
    """Read a comma-separated list; empty items (``a,,b``) are refused as typos."""
    raw = os.environ.get(name)
    if raw is None:
        return list(default)
    items = [item.strip() for item in raw.split(",")]
    if not raw.strip() or any(not item for item in items):
        raise ImproperlyConfigured(f"{name} must be a comma-separated list with no empty items; got {raw!r}.")
    return items


def env_database(name, default):
    """Read a database URL; an unknown scheme or a URL without a name is refused."""
    raw = os.environ.get(name) or default
    try:
        config = dj_database_url.parse(
            raw,
            conn_max_age=env_int("DJANGO_CONN_MAX_AGE", 60),
            # Checked before reuse, so that a restarted database costs at most one failed request per worker.
            conn_health_checks=True,
        )
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name} is not a usable database URL ({exc}); got {raw!r}.") from exc
    if not config.get("NAME"):
        raise ImproperlyConfigured(f"{name} must name a database, e.g. postgres://user:pass@host:5432/tracker.")
    return config


def env_int(name, default):
    """Read a whole number."""
    raw = os.environ.get(name)
    if raw is None:
        return default
    try:
        return int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a whole number; got {raw!r}.") from None


def env_cache(name):
    """
    Read the cache's URL: unset, each process's own memory; ``redis://``, ``rediss://`` (TLS) or
    ``unix://`` (a socket path), a Redis that every process shares. Any other URL is refused.
    """
    raw = os.environ.get(name, "").strip()
    if not raw:
        return {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
    scheme = raw.partition("://")[0]
    if scheme not in ("redis", "rediss", "unix"):
        raise ImproperlyConfigured(
            f"{name} must be a Redis URL (redis://, rediss:// or unix://), e.g. redis://cache.internal:6379/0, "
            f"or unset for each process's own memory; got {raw!r}."
        )
    try:
        parse_redis_url(raw)
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name} is not a usable Redis URL ({exc}); got {raw!r}.") from exc
    return {
        "BACKEND": "config.cache.RedisCache",
        "LOCATION": raw,
        # A Redis on the same network answers in a millisecond: one that takes longer is treated as down, and
        # the request goes on uncached (config/cache.py) rather than waiting for it.
        "OPTIONS": {"socket_connect_timeout": 0.25, "socket_timeout": 0.5},
    }


RATE = re.compile(r"[1-9][0-9]*/(second|minute|hour|day)")


def env_rate(name, default):
    """Read a rate such as ``600/minute``: a number of requests per second, minute, hour or day."""
    raw = os.environ.get(name, default).strip()
    if not RATE.fullmatch(raw):
        raise ImproperlyConfigured(
            f"{name} must be a number of requests per second, minute, hour or day, e.g. 600/minute; got {raw!r}."
        )
    return raw


DEBUG = env_bool("DJANGO_DEBUG", False)
SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", DEVELOPMENT_SECRET_KEY)
if not SECRET_KEY.strip():
    raise ImproperlyConfigured("DJANGO_SECRET_KEY is set but empty; unset it or give it a long random value.")
if not DEBUG and SECRET_KEY == DEVELOPMENT_SECRET_KEY:
    raise ImproperlyConfigured(
        "DJANGO_SECRET_KEY is unset while DJANGO_DEBUG is off. Set a long random DJANGO_SECRET_KEY "
        "(python -c 'import secrets; print(secrets.token_urlsafe(50))'), or set DJANGO_DEBUG=true "
        "for local development."
    )
ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]"])

INSTALLED_APPS = [
    # Before the admin, so that the admin's forms show a tab per language of a translated field.
    "modeltranslation",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_filters",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "simple_history",
    "axes",
    "django_ratelimit",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_structlog",
    "django_tasks_db",
    "core",
    "states",
    "measures",
    "accounts",
    "implementation",
    "devtools",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Static files from each app server, cached for ever (their names carry a hash): no file server needed.
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    # Large pages and slow links; Django pads compressed responses against BREACH-style length attacks.
    "django.middleware.gzip.GZipMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    # The reader's choice (a cookie, set from their preference at sign-in), else Accept-Language, else English.
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    # One log line per request, with a request id that every other line of the request carries.
    "django_structlog.middlewares.RequestMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "accounts.middleware.RequireTwoFactorMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Stamps the logged-in user on every history row written during a request.
    "simple_history.middleware.HistoryRequestMiddleware",
    # Last, as django-axes requires: it turns a lockout into its page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "config.urls"

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
                "implementation.context_processors.navigation",
            ],
        },
    },
]

WSGI_APPLICATION = "config.wsgi.application"

# With DATABASE_URL unset, a SQLite file for a first run; PostgreSQL everywhere else.
DATABASES = {"default": env_database("DATABASE_URL", f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# The cache: Redis in production, shared by every process (docs/operations.md, "The shared cache"); unset, each
# process's own memory, so that `make run` needs nothing. The prefix lets one Redis serve several sites.
CACHES = {
    "default": {
        **env_cache("DJANGO_CACHE_URL"),
        "KEY_PREFIX": os.environ.get("DJANGO_CACHE_KEY_PREFIX", "tracker"),
    }
}
CACHE_IS_SHARED = CACHES["default"]["BACKEND"] != "django.core.cache.backends.locmem.LocMemCache"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 12}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en"
# The languages of the focal points: the four in which the guidelines' workshops worked.
LANGUAGES = [
    ("en", "English"),
    ("fr", "Français"),
    ("es", "Español"),
    ("ar", "العربية"),
]
LOCALE_PATHS = [BASE_DIR / "locale"]
# Outlives the session, so that the sign-in page a week later is in the reader's language.
LANGUAGE_COOKIE_AGE = 365 * 24 * 60 * 60
LANGUAGE_COOKIE_SAMESITE = "Lax"
# Texts stored in every language fall back to English until translated.
MODELTRANSLATION_DEFAULT_LANGUAGE = "en"
MODELTRANSLATION_FALLBACK_LANGUAGES = ("en",)
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    # Without DEBUG, a page naming a static file that collectstatic has not seen fails loudly.
    "staticfiles": {
        "BACKEND": os.environ.get(
            "DJANGO_STATICFILES_STORAGE", "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}

# Background work (implementation/tasks.py: checking and applying uploads) is queued in the database, so any app
# server may queue it and any worker, `manage.py db_worker`, runs it (docs/operations.md).
TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default"]}}

# How long the cache keeps a dashboard's entry (implementation/caching.py). An entry is never stale, since its key
# changes with every write; the timeout only frees the room of pages nobody asks for again. Default: a day.
DASHBOARD_CACHE_SECONDS = env_int("DJANGO_DASHBOARD_CACHE_SECONDS", 86_400)

LOGIN_URL = "/accounts/login/"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/accounts/login/"

# History is append-only: the admin's "revert to this version" would rewrite a past state as if it were new.
SIMPLE_HISTORY_REVERT_DISABLED = True

# The API under /api/v1/ (implementation/api/). Tokens are made in the admin, by administrators.
REST_FRAMEWORK = {
    # Token first: its scheme is the one a 401 names in WWW-Authenticate.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "implementation.api.defaults.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["implementation.api.defaults.HasTrackerRole"],
    "DEFAULT_FILTER_BACKENDS": ["implementation.api.defaults.FilterBackend"],
    # Bodies bounded in size and nesting; Django's multipart parser bounds its fields itself.
    "DEFAULT_PARSER_CLASSES": [
        "implementation.api.errors.JSONParser",
        "implementation.api.errors.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_CONTENT_NEGOTIATION_CLASS": "implementation.api.errors.ContentNegotiation",
    "EXCEPTION_HANDLER": "implementation.api.errors.exception_handler",
    "DEFAULT_PAGINATION_CLASS": "implementation.api.defaults.PageNumberPagination",
    # No browsable API: its pages carry inline scripts, which the coming CSP forbids; /api/docs/ replaces it.
    "DEFAULT_RENDERER_CLASSES": [
        "rest_framework.renderers.JSONRenderer",
        "implementation.api.renderers.CSVRenderer",
    ],
    "DEFAULT_SCHEMA_CLASS": "implementation.api.schema.ApiSchema",
    # Requests per token (each account has one) or signed-in user, counted in the cache; past the rate, a 429 with
    # Retry-After. Every endpoint needs a role, so an anonymous request is refused before it is counted.
    "DEFAULT_THROTTLE_CLASSES": [
        "rest_framework.throttling.UserRateThrottle",
        "rest_framework.throttling.AnonRateThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "user": env_rate("DJANGO_API_RATE", "600/minute"),
        "anon": env_rate("DJANGO_API_ANONYMOUS_RATE", "60/minute"),
    },
    # An anonymous client is its address: the proxy's last X-Forwarded-For entry behind one, as for django-axes.
    "NUM_PROXIES": 1 if env_bool("DJANGO_BEHIND_PROXY", False) else 0,
}

SPECTACULAR_SETTINGS = {
    "TITLE": "SCR 2370 implementation tracker API",
    "DESCRIPTION": (
        "Read access to the States, regions, catalogue, ratings, rating history, assessments and "
        "recommendations a user may see, and submissions by focal points. Every list takes "
        "?format=csv (or Accept: text/csv) for a spreadsheet of the page."
    ),
    "VERSION": "1",
    "SCHEMA_PATH_PREFIX": "/api/v1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["implementation.api.defaults.HasTrackerRole"],
    # Swagger UI from drf-spectacular-sidecar's static files: nothing is loaded from a CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # Swagger UI writes these links inside a button, where keyboard and screen-reader users lose them.
    "SWAGGER_UI_SETTINGS": {"deepLinking": False},
    "COMPONENT_SPLIT_REQUEST": True,
    # Several models have a "kind" and a "status"; each choice set gets its own name.
    "ENUM_NAME_OVERRIDES": {
        "RatingStatusEnum": "implementation.models.Rating.Status",
        "RatingKindEnum": "implementation.models.Rating.Kind",
        "AssessmentKindEnum": "implementation.models.Assessment.Kind",
        "AssessmentStatusEnum": "implementation.models.Assessment.Status",
        "RecommendationStatusEnum": "implementation.models.Recommendation.Status",
        "RegionKindEnum": "states.models.Region.Kind",
    },
}

# Sign-in: django-axes locks an account after repeated failures; TOTP is offered to all.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = env_int("DJANGO_LOGIN_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = dt.timedelta(minutes=env_int("DJANGO_LOGIN_LOCKOUT_MINUTES", 30))
# "username" locks the account from any address. No rule for an address alone: one person behind a ministry's
# proxy could lock out everyone behind it. The pair only keeps the address in what axes reports (check axes.W006);
# password spraying is for a rate limit at the proxy (docs/operations.md).
AXES_LOCKOUT_PARAMETERS = ["username", ["username", "ip_address"]]
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_RESET_ON_SUCCESS = True
# Behind a proxy (see DJANGO_BEHIND_PROXY), the client address is the last entry of X-Forwarded-For, the one the
# proxy adds (nginx's $proxy_add_x_forwarded_for); entries before it are the client's own, and may be forged.
if env_bool("DJANGO_BEHIND_PROXY", False):
    AXES_IPWARE_META_PRECEDENCE_ORDER = ("HTTP_X_FORWARDED_FOR", "REMOTE_ADDR")
    AXES_IPWARE_PROXY_ORDER = "right-most"
# Sign-in POSTs per client address (the one axes reads), counted in the cache by django-ratelimit: one address
# trying one password on many accounts is refused with a 429 before axes would count anything.
LOGIN_RATE = env_rate("DJANGO_LOGIN_RATE", "20/minute")
# A cache that cannot be reached leaves the address limit off rather than refusing every sign-in; the accounts'
# lockout, kept in the database, still holds.
RATELIMIT_FAIL_OPEN = True
# django-ratelimit lists the cache backends it knows: Django's own Redis backend counts atomically (INCRBY) but is
# not on its list (W001). Local memory is refused (E003) because each process counts alone; it is the development
# default, and `check --deploy` warns about it instead (core.checks).
SILENCED_SYSTEM_CHECKS = ["django_ratelimit.W001"] + ([] if CACHE_IS_SHARED else ["django_ratelimit.E003"])
# With this on, analysts and administrators must confirm a TOTP code before anything else.
REQUIRE_TWO_FACTOR_FOR_ANALYSTS = env_bool("DJANGO_REQUIRE_2FA_FOR_ANALYSTS", False)
OTP_TOTP_ISSUER = "SCR 2370 tracker"

# Sessions live in the database, so any app server can serve any request.
SESSION_COOKIE_AGE = env_int("DJANGO_SESSION_HOURS", 8) * 3600
SESSION_EXPIRE_AT_BROWSER_CLOSE = True

# DJANGO_HTTPS (default: on unless DEBUG): secure cookies, HSTS, HTTP redirected. DJANGO_BEHIND_PROXY trusts
# X-Forwarded-Proto: set it only when a proxy that sets that header is the sole way in.
HTTPS = env_bool("DJANGO_HTTPS", not DEBUG)
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = LANGUAGE_COOKIE_SECURE = HTTPS
SECURE_SSL_REDIRECT = HTTPS
SECURE_HSTS_SECONDS = env_int("DJANGO_HSTS_SECONDS", 31_536_000) if HTTPS else 0
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("DJANGO_HSTS_INCLUDE_SUBDOMAINS", True)
SECURE_HSTS_PRELOAD = env_bool("DJANGO_HSTS_PRELOAD", True)
BEHIND_PROXY = env_bool("DJANGO_BEHIND_PROXY", False)
if BEHIND_PROXY:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    USE_X_FORWARDED_HOST = True
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS", [])
# The load balancer's health probe comes over plain HTTP.
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
X_FRAME_OPTIONS = "DENY"

# Content Security Policy: everything from this site, nothing inline, not even a style attribute.
SECURE_CSP = {
    "default-src": ["'self'"],
    "script-src": ["'self'"],
    "style-src": ["'self'"],
    "img-src": ["'self'", "data:"],
    "font-src": ["'self'"],
    "connect-src": ["'self'"],
    "object-src": ["'none'"],
    "base-uri": ["'none'"],
    "form-action": ["'self'"],
    "frame-ancestors": ["'none'"],
}

# Logs: one JSON object per line on standard error, each with the request id (the proxy's X-Request-ID, trusted
# only behind a proxy, or made up). DJANGO_LOG_FORMAT=console prints them for people.
DJANGO_STRUCTLOG_TRUST_UPSTREAM_REQUEST_ID = BEHIND_PROXY
LOG_LEVEL = os.environ.get("DJANGO_LOG_LEVEL", "INFO").upper()
# Readable lines while developing (make run), JSON everywhere else.
LOG_FORMAT = os.environ.get("DJANGO_LOG_FORMAT", "console" if DEBUG else "json")
if LOG_FORMAT not in logs.RENDERERS:
    raise ImproperlyConfigured(f"DJANGO_LOG_FORMAT must be one of {', '.join(logs.RENDERERS)}; got {LOG_FORMAT!r}.")
if LOG_LEVEL not in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"):
    raise ImproperlyConfigured(f"DJANGO_LOG_LEVEL must be DEBUG, INFO, WARNING, ERROR or CRITICAL; got {LOG_LEVEL!r}.")
logs.configure()
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"structured": {"()": "config.logs.formatter", "renderer": LOG_FORMAT}},
    "handlers": {"stderr": {"class": "logging.StreamHandler", "formatter": "structured"}},
    "root": {"handlers": ["stderr"], "level": LOG_LEVEL},
    "loggers": {
        # Each request is logged once, by django-structlog; Django's own lines would repeat it.
        "django.request": {"level": "ERROR"},
        "django.server": {"level": "WARNING"},
        # django-axes says "AXES: BEGIN version ..." at every start; its lockouts are audited below.
        "axes": {"level": "WARNING"},
        # Sign-ins and refusals (accounts/audit.py) are kept whatever the general level.
        "tracker.audit": {"level": "INFO"},
    },
}
