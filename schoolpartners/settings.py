"""One settings module, configured only from environment variables.

DATABASE_URL   sqlite:///path (default: db.sqlite3 at the repo root) or postgres://user@host:port/name
SECRET_KEY     required when DEBUG is off in production; a fixed development key is used otherwise
DEBUG          "1" to enable Django debug mode (default off)
ALLOWED_HOSTS  comma-separated (default: 127.0.0.1,localhost)
MAP_TILE_URL   Leaflet tile URL template; empty disables tiles (the map still shows the location)
MAP_TILE_ATTRIBUTION  attribution HTML for the tile server
SCHOOLPARTNERS_DATA   folder of the data pack to import from (default: ../shared/data if present, else the bundle)
GRANT_PER_CHAIN, GRANT_PER_SMALL_SCHOOL, GRANT_PER_MEDIUM_SCHOOL   chain grant amounts in pounds (25000, 5000, 2000)
API_WRITE_THROTTLE    API writes per signed-in user, e.g. "300/min" (s, min, hour, day; empty: no limit)
"""

from __future__ import annotations

import os
from pathlib import Path

import dj_database_url

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


DEBUG = env_bool("DEBUG", False)
SECRET_KEY = os.environ.get("SECRET_KEY", "dev-only-insecure-key-change-me-in-production-0123456789")
ALLOWED_HOSTS = [
    h.strip()
    for h in os.environ.get("ALLOWED_HOSTS", "127.0.0.1,localhost,testserver").split(",")
    if h.strip()
]
CSRF_TRUSTED_ORIGINS = [
    o.strip()
    for o in os.environ.get("CSRF_TRUSTED_ORIGINS", "http://127.0.0.1:8000,http://localhost:8000").split(",")
    if o.strip()
]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "schoolpartners",  # the kernel: base templates, static files, the `sp` template library
    "audit",
    "accounts",
    "notifications",
    "schools",
    "partnerships",
    "similarity",
    "support.apps.SupportConfig",
    "evaluation.apps.EvaluationConfig",
    "brokerage.apps.BrokerageConfig",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "schoolpartners.params.RejectNul",  # NUL in the query or form: 400; bad JSON values on /api/: 422
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "schoolpartners.urls"
WSGI_APPLICATION = "schoolpartners.wsgi.application"

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
                "schoolpartners.context_processors.site",
            ],
        },
    }
]

DATABASE_URL = os.environ.get("DATABASE_URL", f"sqlite:///{BASE_DIR / 'db.sqlite3'}")
DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=60)}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets the web workers read while an import writes; a busy timeout avoids "database is locked".
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 30,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA cache_size=-64000; "
        "PRAGMA mmap_size=268435456;",
        "transaction_mode": "IMMEDIATE",
    }
    DATABASES["default"]["CONN_MAX_AGE"] = 0 if env_bool("SQLITE_NO_PERSIST") else 600
    DATABASES["default"]["TEST"] = (
        {"NAME": os.environ.get("SQLITE_TEST_NAME", "")} if os.environ.get("SQLITE_TEST_NAME") else {}
    )

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/"

LANGUAGE_CODE = "en-gb"
TIME_ZONE = "Europe/London"
USE_I18N = False
USE_TZ = True
USE_THOUSAND_SEPARATOR = False

STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True

CACHES = {
    "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "schoolpartners"}
}

MAP_TILE_URL = os.environ.get("MAP_TILE_URL", "https://tile.openstreetmap.org/{z}/{x}/{y}.png")
MAP_TILE_ATTRIBUTION = os.environ.get(
    "MAP_TILE_ATTRIBUTION",
    '&copy; <a href="https://www.openstreetmap.org/copyright">OpenStreetMap</a> contributors',
)

# Grants for primary schools forming or joining a chain (partnerships.queries.grant_for): pounds.
GRANT_PER_CHAIN = int(os.environ.get("GRANT_PER_CHAIN", "25000"))
GRANT_PER_SMALL_SCHOOL = int(os.environ.get("GRANT_PER_SMALL_SCHOOL", "5000"))  # fewer than 100 pupils
GRANT_PER_MEDIUM_SCHOOL = int(os.environ.get("GRANT_PER_MEDIUM_SCHOOL", "2000"))  # 100-210 pupils

# API writes per user (schoolpartners.apikit.WriteThrottle; more answer 429 with Retry-After). Generous by default.
API_WRITE_THROTTLE = os.environ.get("API_WRITE_THROTTLE", "300/min")

_shared = BASE_DIR.parent / "shared" / "data"
SCHOOLPARTNERS_DATA = Path(os.environ.get("SCHOOLPARTNERS_DATA", str(_shared)))
BUNDLE_DIR = BASE_DIR / "data" / "bundle"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "WARNING")},
}

# Brokerage: how many schools a supporter may support at once, per designation ("" = a school), and which
# latest Ofsted judgements make a school eligible to offer support. Override with env, e.g.
# BROKERAGE_CAPACITY="=2,nle=4,lle=3,sle=2" and BROKERAGE_ELIGIBLE_RATINGS="Good,Outstanding".
BROKERAGE_CAPACITY = {
    k.strip(): int(v)
    for k, v in (
        item.split("=", 1)
        for item in os.environ.get("BROKERAGE_CAPACITY", "=2,nle=4,lle=3,sle=2").split(",")
        if "=" in item
    )
}
BROKERAGE_ELIGIBLE_RATINGS = tuple(
    r.strip()
    for r in os.environ.get("BROKERAGE_ELIGIBLE_RATINGS", "Good,Outstanding").split(",")
    if r.strip()
)
