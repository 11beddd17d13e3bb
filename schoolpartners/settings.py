"""One settings module, configured only from environment variables.

DATABASE_URL   sqlite:///path (default: db.sqlite3 at the repo root) or postgres://user@host:port/name
SECRET_KEY     the signing key; unset: read from SECRET_KEY_FILE (default .secret_key at the repo root, git-ignored,
               mode 600), generated there once (schoolpartners/secretkey.py). The test suite gets a random per-run
               key (schoolpartners/testing.py, a pytest plugin).
DEBUG          "1" to enable Django debug mode (default off, also under `make run`)
ALLOWED_HOSTS  comma-separated (default: 127.0.0.1,localhost)
HTTPS, SECURE_*, SESSION_COOKIE_SECURE, CSRF_COOKIE_SECURE   production behind a TLS proxy (docs/deploy.md)
AXES_FAILURE_LIMIT, AXES_COOLOFF_MINUTES, AXES_LOCKOUT_PARAMETERS, LOGIN_THROTTLE   sign-in lockout and throttle
LOGIN_USERNAME_SOFT_LIMIT, LOGIN_USERNAME_WINDOW, LOGIN_USERNAME_MAX_DELAY   soft per-username delay
TRUSTED_PROXY_COUNT   reverse proxies in front that append to X-Forwarded-For (default 0: the TCP peer is the client)
EXPENSIVE_THROTTLE    expensive anonymous downloads per client address (default "30/min")
EXPORT_ROW_BUDGET, EXPORT_CACHE_DIR, EXPORT_BUILD_THROTTLE   large downloads as files built once per data version
PERMISSIONS_POLICY    the Permissions-Policy header (default: every powerful feature off)
MAP_TILE_URL   Leaflet tile URL template; empty disables tiles (the map still shows the location)
MAP_TILE_ATTRIBUTION  attribution HTML for the tile server
CONTACT_EMAIL  the address the contact, privacy and accessibility pages give (empty: they say none is set)
SCHOOLPARTNERS_DATA   folder of the data pack to import from (default: ../shared/data if present, else the bundle)
GRANT_PER_CHAIN, GRANT_PER_SMALL_SCHOOL, GRANT_PER_MEDIUM_SCHOOL   chain grant amounts in pounds (25000, 5000, 2000)
API_WRITE_THROTTLE    API writes per signed-in user, e.g. "300/min" (s, min, hour, day; empty: no limit)
SUPPORT_IMPORT_MAX_BYTES   largest support import file in bytes (default 5 MB; larger answer 413 before parsing)
SUPPORT_IMPORT_MAX_ROWS    most data rows in one support import (default 50000; more answer 422)
SUPPORT_IMPORT_JOB_BYTES, SUPPORT_IMPORT_JOB_ROWS   imports above either run as a background job (1 MB, 500)
EMAIL_HOST, EMAIL_PORT, EMAIL_HOST_USER, EMAIL_HOST_PASSWORD, EMAIL_USE_TLS, EMAIL_USE_SSL, DEFAULT_FROM_EMAIL
               notification emails over SMTP when EMAIL_HOST is set; otherwise EMAIL_FILE_PATH (a folder) writes
               them to files, else they are printed on the console. EMAIL_BACKEND overrides the choice.
SITE_URL       the address people use to reach the site, for the links in emails (default http://127.0.0.1:8000)
REDIS_URL      redis://host:6379/0: the shared cache (pages, sessions, throttles); unset: per-process LocMem
CACHE_KEY_PREFIX, SESSION_ENGINE, PAGE_MAX_AGE   cache key prefix (sp), session engine, public max-age (60 s)
JOB_MAX_ATTEMPTS, JOB_RETRY_BACKOFF_SECONDS, JOB_LEASE_SECONDS   background-job retries and lease (ADR 0009)
"""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from schoolpartners.secretkey import SecretKeyError, secret_key

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


DEBUG = env_bool("DEBUG", False)  # off unless a developer sets DEBUG=1 (issue 18)
# SECRET_KEY from the environment, else from SECRET_KEY_FILE (default .secret_key, git-ignored, mode 600), generated
# there once by the first process that needs it (schoolpartners/secretkey.py).
try:
    SECRET_KEY, SECRET_KEY_PATH = secret_key(os.environ, BASE_DIR / ".secret_key")
except (OSError, SecretKeyError) as exc:
    raise ImproperlyConfigured(
        f"No usable secret key: {exc}. Set SECRET_KEY (a long random value, the same on every server) or "
        "SECRET_KEY_FILE (docs/deploy.md)."
    ) from exc
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

# Production behind a TLS-terminating proxy (docs/deploy.md). HTTPS=1 turns on the secure defaults below;
# each can still be set on its own. SECURE_PROXY_SSL_HEADER names the header the proxy sets to "https"
# (e.g. X-Forwarded-Proto); set it only when the proxy always sets (overwrites) that header.
HTTPS = env_bool("HTTPS", False)
_proxy_header = os.environ.get("SECURE_PROXY_SSL_HEADER", "").strip()
if _proxy_header:
    SECURE_PROXY_SSL_HEADER = ("HTTP_" + _proxy_header.upper().replace("-", "_"), "https")
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", HTTPS)
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$"]  # probes speak plain HTTP to the workers
SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", HTTPS)
CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", HTTPS)
SECURE_HSTS_SECONDS = int(os.environ.get("SECURE_HSTS_SECONDS", "31536000" if HTTPS else "0"))
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", HTTPS)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", HTTPS)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SESSION_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "csp",
    "axes",
    "schoolpartners",  # the kernel: base templates, static files, the `sp` template library
    "audit",
    "accounts",
    "notifications",
    "jobs",  # kernel: the progress record of background jobs (schoolpartners/jobs.py, ADR 0009)
    "django_tasks",
    "django_tasks_db",
    "schools",
    "partnerships",
    "similarity",
    "support.apps.SupportConfig",
    "evaluation.apps.EvaluationConfig",
    "brokerage.apps.BrokerageConfig",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "schoolpartners.clientaddr.ClientAddressMiddleware",  # one client address (TRUSTED_PROXY_COUNT), for the audit
    # before anything reads the body (CSRF reads POST): refuse an oversized request with 413 unparsed
    "schoolpartners.uploads.RequestSizeLimitMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "schoolpartners.middleware.CSPMiddleware",  # django-csp, + the map tile origin
    "schoolpartners.middleware.ResponseHeadersMiddleware",  # Permissions-Policy; Cache-Control when signed in
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "schoolpartners.params.RejectNul",  # NUL in the query or form: 400; bad JSON values on /api/: 422
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "accounts.throttle.LoginThrottleMiddleware",  # cheap per-address limit before any password is hashed
    "axes.middleware.AxesMiddleware",
    "schoolpartners.middleware.DatabaseUnavailableMiddleware",  # 503 when the database cannot be reached
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
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # An unreachable server fails fast (then pages answer 503) instead of holding a worker.
    DATABASES["default"].setdefault("OPTIONS", {})["connect_timeout"] = int(
        os.environ.get("DATABASE_CONNECT_TIMEOUT", "5")
    )
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
AUTHENTICATION_BACKENDS = [
    "accounts.backends.LockoutBackend",  # django-axes: refuses locked-out usernames before hashing
    "django.contrib.auth.backends.ModelBackend",
]
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "/home/"  # what awaits each signed-in role (accounts.views.home)
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

# The cache (issue 13): Redis shared by every app server when REDIS_URL is set (redis://host:6379/0), else
# per-process LocMem (`make run`). The whole-page cache, throttles and cached sessions use it.
REDIS_URL = os.environ.get("REDIS_URL", "").strip()
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": os.environ.get("CACHE_KEY_PREFIX", "sp"),
            "TIMEOUT": 600,
        }
    }
else:
    CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "schoolpartners"}
    }
# Sessions: read from the cache, written through to the database (survive a cache flush). With LocMem (one
# process's memory) a sign-out in one gunicorn worker could not evict the others' copies, so without a shared
# cache sessions stay on the database alone. SESSION_ENGINE overrides.
SESSION_ENGINE = os.environ.get(
    "SESSION_ENGINE",
    "django.contrib.sessions.backends.cached_db" if REDIS_URL else "django.contrib.sessions.backends.db",
)
# HTTP caching of anonymous public pages (schoolpartners/pagecache.py): Cache-Control max-age in seconds.
PAGE_MAX_AGE = int(os.environ.get("PAGE_MAX_AGE", "60"))

CONTACT_EMAIL = os.environ.get("CONTACT_EMAIL", "").strip()
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

# Uploads (schoolpartners/uploads.py, support/importer.py): refused with 413 before parsing when larger.
SUPPORT_IMPORT_MAX_BYTES = int(os.environ.get("SUPPORT_IMPORT_MAX_BYTES", str(5 * 1024 * 1024)))
SUPPORT_IMPORT_MAX_ROWS = int(os.environ.get("SUPPORT_IMPORT_MAX_ROWS", "50000"))
SUPPORT_IMPORT_MAX_UNZIPPED_BYTES = int(
    os.environ.get("SUPPORT_IMPORT_MAX_UNZIPPED_BYTES", str(64 * 1024**2))
)
SUPPORT_IMPORT_MAX_ZIP_RATIO = int(os.environ.get("SUPPORT_IMPORT_MAX_ZIP_RATIO", "200"))
# Bounded decompression of every .xz/.gz input (schoolpartners/decompress.py): at most DECOMPRESS_MAX_BYTES unpacked,
# and at most DECOMPRESS_MAX_RATIO times the compressed bytes read so far (past the first MB), checked while streaming.
DECOMPRESS_MAX_BYTES = int(os.environ.get("DECOMPRESS_MAX_BYTES", str(256 * 1024**2)))
DECOMPRESS_MAX_RATIO = int(os.environ.get("DECOMPRESS_MAX_RATIO", "100"))
SUPPORT_IMPORT_JOB_BYTES = int(os.environ.get("SUPPORT_IMPORT_JOB_BYTES", str(1024 * 1024)))
SUPPORT_IMPORT_JOB_ROWS = int(os.environ.get("SUPPORT_IMPORT_JOB_ROWS", "500"))  # ~6 ms a row: ~3 s at most
# A whole request body: the largest upload plus room for the multipart envelope and form fields.
MAX_REQUEST_BYTES = int(os.environ.get("MAX_REQUEST_BYTES", str(SUPPORT_IMPORT_MAX_BYTES + 64 * 1024)))
DATA_UPLOAD_MAX_MEMORY_SIZE = 2_621_440  # non-file fields (Django's default, stated)
FILE_UPLOAD_MAX_MEMORY_SIZE = 1024 * 1024  # larger uploads stream to a temporary file, not memory

# Background jobs (ADR 0009): django-tasks with its database backend; `schoolpartners db_worker` runs them.
TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default"]}}
JOB_MAX_ATTEMPTS = int(os.environ.get("JOB_MAX_ATTEMPTS", "3"))  # a failing job runs at most this often
JOB_RETRY_BACKOFF_SECONDS = float(os.environ.get("JOB_RETRY_BACKOFF_SECONDS", "10"))  # doubled per attempt
# The staff recompute page (/jobs/recompute/): key -> (button label, the task that runs it). Dotted paths, like
# MIDDLEWARE, so the kernel's page names no domain module.
STAFF_RECOMPUTES = {
    "similarity": ("Recompute similarity", "similarity.tasks.recompute_job"),
    "trusts": ("Recompute trusts", "partnerships.tasks.recompute_trusts_job"),
    "evaluation": ("Recompute evaluation", "evaluation.tasks.run_job"),
    "brokerage": ("Brokerage derive", "brokerage.tasks.derive_job"),
}
JOB_LEASE_SECONDS = float(os.environ.get("JOB_LEASE_SECONDS", "60"))  # no heartbeat for this long: stale

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

# Content-Security-Policy (django-csp 4): only our own origin; no inline script (behaviour lives in static JS
# files), no inline style; images also from the map tile server (MAP_TILE_URL's origin, added per response by
# schoolpartners.middleware.CSPMiddleware). Served on every response.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}
PERMISSIONS_POLICY = os.environ.get(
    "PERMISSIONS_POLICY",
    "accelerometer=(), camera=(), geolocation=(), gyroscope=(), magnetometer=(), microphone=(), payment=(), "
    "usb=(), interest-cohort=()",
)

# Sign-in lockout (django-axes, database handler): AXES_FAILURE_LIMIT failed sign-ins for the same username
# from the same address lock that pair for AXES_COOLOFF_MINUTES; a success resets the count.
# AXES_LOCKOUT_PARAMETERS: "username+ip_address" (default: the pair), "username",
# "ip_address" (comma-separated alternatives: locked when any one is; "+" combines parameters).
AXES_ENABLED = env_bool("AXES_ENABLED", True)
AXES_FAILURE_LIMIT = int(os.environ.get("AXES_FAILURE_LIMIT", "5"))
AXES_COOLOFF_TIME = timedelta(minutes=int(os.environ.get("AXES_COOLOFF_MINUTES", "15")))
AXES_LOCKOUT_PARAMETERS: list[str | list[str]] = [
    (part.split("+") if "+" in part else part)
    for part in (
        p.strip() for p in os.environ.get("AXES_LOCKOUT_PARAMETERS", "username+ip_address").split(",")
    )
    if part
]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "accounts.views.locked_out"  # 429, GOV.UK page naming the cool-off
AXES_HANDLER = "axes.handlers.database.AxesDatabaseHandler"
AXES_VERBOSE = False
# One client address for axes, the throttles and the audit log (schoolpartners/clientaddr.py): the TCP peer, or
# behind TRUSTED_PROXY_COUNT reverse proxies the address the outermost one appended to X-Forwarded-For.
TRUSTED_PROXY_COUNT = int(os.environ.get("TRUSTED_PROXY_COUNT", "0"))
AXES_CLIENT_IP_CALLABLE = "schoolpartners.clientaddr.client_address"
# Sign-in attempts (POST) per client address, checked before the form hashes a password (429 beyond).
LOGIN_THROTTLE = os.environ.get("LOGIN_THROTTLE", "20/min")
# Soft per-username delay (accounts/throttle.py): after LOGIN_USERNAME_SOFT_LIMIT failures for one username within
# LOGIN_USERNAME_WINDOW seconds (any addresses), each further attempt waits 1, 2, 4 ... up to
# LOGIN_USERNAME_MAX_DELAY seconds after the last failure; a browser that signed in as that user before is exempt.
LOGIN_USERNAME_SOFT_LIMIT = int(os.environ.get("LOGIN_USERNAME_SOFT_LIMIT", "10"))
LOGIN_USERNAME_WINDOW = int(os.environ.get("LOGIN_USERNAME_WINDOW", "900"))
LOGIN_USERNAME_MAX_DELAY = int(os.environ.get("LOGIN_USERNAME_MAX_DELAY", "30"))
# Expensive anonymous answers (whole-register downloads, schoolpartners/ratelimit.py): per client address.
EXPENSIVE_THROTTLE = os.environ.get("EXPENSIVE_THROTTLE", "30/min")
# Large downloads (schoolpartners/exportcache.py): up to EXPORT_ROW_BUDGET rows in the request; larger ones are files
# in EXPORT_CACHE_DIR built once per data version by the job worker (at most EXPORT_BUILD_THROTTLE new builds).
EXPORT_ROW_BUDGET = int(os.environ.get("EXPORT_ROW_BUDGET", "2000"))
EXPORT_CACHE_DIR = Path(os.environ.get("EXPORT_CACHE_DIR", str(BASE_DIR / ".cache" / "exports")))
EXPORT_BUILD_THROTTLE = os.environ.get("EXPORT_BUILD_THROTTLE", "20/10min")

# Notification emails (notifications.email): SMTP when EMAIL_HOST is set, files in EMAIL_FILE_PATH, else console.
EMAIL_HOST = os.environ.get("EMAIL_HOST", "")
EMAIL_PORT = int(os.environ.get("EMAIL_PORT", "25"))
EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
EMAIL_USE_SSL = env_bool("EMAIL_USE_SSL", False)
EMAIL_TIMEOUT = int(os.environ.get("EMAIL_TIMEOUT", "10"))
EMAIL_FILE_PATH = os.environ.get("EMAIL_FILE_PATH", "")
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "School Partners <noreply@schoolpartners.invalid>")
EMAIL_BACKEND = os.environ.get(
    "EMAIL_BACKEND",
    "django.core.mail.backends.smtp.EmailBackend"
    if EMAIL_HOST
    else "django.core.mail.backends.filebased.EmailBackend"
    if EMAIL_FILE_PATH
    else "django.core.mail.backends.console.EmailBackend",
)
SITE_URL = os.environ.get("SITE_URL", "http://127.0.0.1:8000").rstrip("/")
