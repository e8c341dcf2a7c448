"""
Settings for the SCR 2370 implementation tracker.

One module, configured from the environment. Every variable is listed in
``.env.example``. A malformed value stops start-up with ``ImproperlyConfigured``
naming the variable, rather than being silently replaced by a default.
"""

import os
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

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
        config = dj_database_url.parse(raw, conn_max_age=env_int("DJANGO_CONN_MAX_AGE", 60))
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
    "states",
    "measures",
    "implementation",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Pages carry a world map and large tables, and focal points often work on slow links.
    # Django pads compressed responses against BREACH-style length attacks.
    "django.middleware.gzip.GZipMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Stamps the logged-in user on every history row written during a request.
    "simple_history.middleware.HistoryRequestMiddleware",
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

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]

LOGIN_URL = "/accounts/login/"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/accounts/login/"

# History is append-only: the admin's "revert to this version" would rewrite a past state as if it were new.
SIMPLE_HISTORY_REVERT_DISABLED = True

# The API under /api/v1/ (implementation/api.py). Tokens are made in the admin, by administrators.
REST_FRAMEWORK = {
    # Token first: its scheme is the one a 401 names in WWW-Authenticate.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["implementation.api_defaults.HasTrackerRole"],
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_PAGINATION_CLASS": "implementation.api_defaults.PageNumberPagination",
    # No browsable API: its pages carry inline scripts, which the coming CSP forbids; /api/docs/ replaces it.
    "DEFAULT_RENDERER_CLASSES": [
        "rest_framework.renderers.JSONRenderer",
        "implementation.renderers.CSVRenderer",
    ],
    "DEFAULT_SCHEMA_CLASS": "implementation.api_schema.ApiSchema",
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
    "SERVE_PERMISSIONS": ["implementation.api_defaults.HasTrackerRole"],
    # Swagger UI from drf-spectacular-sidecar's static files: nothing is loaded from a CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
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
