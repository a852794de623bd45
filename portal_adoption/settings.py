"""Settings for Portal Adoption Manager.

One module, read from the environment only (see README, "Configuration").
Without DATABASE_URL the application uses a SQLite file under var/; without
REDIS_URL Celery tasks run in-process. Both are for a first run on a laptop;
production sets every variable.
"""

from datetime import timedelta
from pathlib import Path

from celery.schedules import crontab
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

from portal_adoption.env import (
    env_bool,
    env_country,
    env_database,
    env_int,
    env_list,
    env_redis_url,
    env_str,
    env_time_zone,
)

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = BASE_DIR / "var"

DEBUG = env_bool("DEBUG", default=False)
TESTING = env_bool("PAM_TESTING", default=False)

SECRET_KEY = env_str("SECRET_KEY")
if not SECRET_KEY:
    if not (DEBUG or TESTING):
        raise ImproperlyConfigured(
            "SECRET_KEY is not set. Set SECRET_KEY to a long random string "
            '(python -c "import secrets; print(secrets.token_urlsafe(50))"), '
            "or set DEBUG=true for local development."
        )
    SECRET_KEY = "insecure-development-key-never-use-in-production"

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost"] if DEBUG else [])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", default=[])

PRACTICE_TIME_ZONE = env_time_zone("PRACTICE_TIME_ZONE", default="America/New_York")
PRACTICE_COUNTRY = env_country("PRACTICE_COUNTRY", default="US")
PRACTICE_NAME = env_str("PRACTICE_NAME", default="Riverside Family Practice")
PRACTICE_PHONE = env_str("PRACTICE_PHONE", default="(555) 010-0100")

# The practice's patient portal (run by its vendor) and the mobile app.
PORTAL_LOGIN_URL = env_str("PORTAL_LOGIN_URL", default="https://portal.example.org/")
# Where a patient pays a statement online (the bill-pay reminders link to it).
PORTAL_PAYMENT_URL = env_str("PORTAL_PAYMENT_URL", default="https://portal.example.org/billing")
PORTAL_ACTIVATION_URL = env_str(
    "PORTAL_ACTIVATION_URL", default="https://portal.example.org/activate"
)
APP_STORE_URL = env_str("APP_STORE_URL", default="https://apps.apple.com/app/id0000000000")
PLAY_STORE_URL = env_str(
    "PLAY_STORE_URL", default="https://play.google.com/store/apps/details?id=org.example.portal"
)

INSTALLED_APPS = [
    "portal_adoption.apps.StaffAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "crispy_forms",
    "crispy_bootstrap5",
    "django_htmx",
    "axes",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "csp",
    "bootstrap",
    "portal_adoption",
    "patients",
    "enrollment",
    "messaging",
    "metrics",
    "program",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    # Before AuthenticationMiddleware: an idle session is ended before anyone reads it.
    "portal_adoption.middleware.IdleSignOutMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    # After authentication: a signed-in user's own language wins over the browser's.
    "portal_adoption.middleware.StaffLanguageMiddleware",
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    # Managers and administrators (and whoever chose it) finish the second step first.
    "portal_adoption.middleware.SecondFactorMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # AxesMiddleware must be last: it turns a lockout into the lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "portal_adoption.urls"
WSGI_APPLICATION = "portal_adoption.wsgi.application"

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
                "portal_adoption.context_processors.shell",
                "program.context_processors.plan_status",
            ],
        },
    },
]

VAR_DIR.mkdir(exist_ok=True)
DATABASES = {
    "default": env_database(
        "DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'portal_adoption.sqlite3'}"
    )
}
DATABASES["default"]["ATOMIC_REQUESTS"] = False
# Persistent connections (issue 15): opening a PostgreSQL connection per request
# cost half of a fast API call. A `?conn_max_age=` in DATABASE_URL wins; 0 closes
# each connection at the end of its request. The health check re-opens a
# connection the server dropped (restart, failover) before a request uses it.
DATABASES["default"].setdefault(
    "CONN_MAX_AGE", env_int("DATABASE_CONN_MAX_AGE", default=600, minimum=0)
)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
# 2: the nightly rollup of a month reads on a second connection beside its own
# (PostgreSQL; SQLite reads on one): the month's reports are independent reads,
# and a 2-core server answers them in about half the time
# (portal_adoption.db.second_connection). 1: everything on one, in turn.
ROLLUP_READ_CONNECTIONS = env_int("ROLLUP_READ_CONNECTIONS", default=2, minimum=1)
if DATABASES["default"]["ENGINE"].endswith("postgresql"):
    # No JIT compilation. The event log's size puts the reports' and rollups'
    # estimated costs over PostgreSQL's JIT threshold, and compiling each of
    # these sub-second queries cost more than it saved: 0.5 s of a 1.3 s report
    # at 10 million events, 0.1-0.4 s per rollup query. `?options=` in
    # DATABASE_URL wins.
    DATABASES["default"].setdefault("OPTIONS", {}).setdefault("options", "-c jit=off")
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    # A first run has one web process and in-process tasks; a busy timeout
    # keeps the dev server and the demo loader from failing on a locked file.
    DATABASES["default"].setdefault("OPTIONS", {})["timeout"] = 20
    # One writer at a time from the start of a transaction: the access log's
    # hash chain reads its head and appends after it (access_chain.py).
    DATABASES["default"]["OPTIONS"]["transaction_mode"] = "IMMEDIATE"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "portal_adoption.User"
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
# A refused CSRF token gets the 403 page and an access-log row, like any refusal.
CSRF_FAILURE_VIEW = "portal_adoption.views.csrf_failure"
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

# Idle sessions end after 15 minutes without real activity: IdleSignOutMiddleware
# stamps every request except background polls (portal_adoption/middleware.py),
# and the session is saved only when it changes, so polls never extend it.
SESSION_IDLE_MINUTES = env_int("SESSION_IDLE_MINUTES", default=15, minimum=1)
SESSION_COOKIE_AGE = SESSION_IDLE_MINUTES * 60
SESSION_SAVE_EVERY_REQUEST = False
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
# Flash messages live in the session (server side): the default cookie storage
# is signed, not encrypted, and a message may carry a new integration key.
MESSAGE_STORAGE = "django.contrib.messages.storage.session.SessionStorage"

# Two-step sign-in (portal_adoption/two_factor.py): the name authenticator apps show,
# and no secret keys or QR codes in django-otp's own admin pages.
OTP_TOTP_ISSUER = PRACTICE_NAME
OTP_ADMIN_HIDE_SENSITIVE_DATA = True
# A password-reset link works for an hour, not Django's three days.
PASSWORD_RESET_TIMEOUT = 60 * 60

# Refused sign-ins and API keys per client address and window (finding 12): past
# the limit the address gets 429 until the window ends (portal_adoption/throttling.py).
AUTH_FAILURE_LIMIT = env_int("AUTH_FAILURE_LIMIT", default=20, minimum=1)
AUTH_FAILURE_WINDOW_MINUTES = env_int("AUTH_FAILURE_WINDOW_MINUTES", default=10, minimum=1)

# Lockout after repeated failed logins (django-axes), per user name and address.
AXES_FAILURE_LIMIT = env_int("LOGIN_FAILURE_LIMIT", default=5, minimum=1)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("LOGIN_LOCKOUT_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_VERBOSE = False

# The reverse proxies in front of the application that append to the
# forwarded-for header: the client's address is the right-most hop none of
# them added (selectors.client_ip, used for the access log, the lockout and
# throttles). TRUST_X_FORWARDED_FOR=true, from earlier releases, means one.
TRUSTED_PROXY_COUNT = env_int(
    "TRUSTED_PROXY_COUNT",
    default=1 if env_bool("TRUST_X_FORWARDED_FOR", default=False) else 0,
)
AXES_CLIENT_IP_CALLABLE = "portal_adoption.selectors.client_ip"

SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", default=not DEBUG and not TESTING)
SESSION_COOKIE_SECURE = not DEBUG and not TESTING
CSRF_COOKIE_SECURE = not DEBUG and not TESTING
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", default=0 if DEBUG else 3600)
SECURE_HSTS_INCLUDE_SUBDOMAINS = SECURE_HSTS_SECONDS > 0
# Preloading is a commitment for the whole domain: each practice opts in.
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", default=False)
# W021 asks for SECURE_HSTS_PRELOAD. Preloading binds every subdomain of the
# practice's domain to HTTPS in browsers for months and is slow to undo, so it
# stays a choice each practice makes (SECURE_HSTS_PRELOAD=true); HSTS itself is
# on by default. Silenced so `check --deploy` is clean with the documented defaults.
SILENCED_SYSTEM_CHECKS = ["security.W021"]
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
if TRUSTED_PROXY_COUNT:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
X_FRAME_OPTIONS = "DENY"

# Strict Content-Security-Policy: no inline script or style anywhere.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "frame-ancestors": [NONE],
        "form-action": [SELF],
    }
}

# The staff interface's languages. A member of staff picks one on their account page
# (User.language, applied by StaffLanguageMiddleware); without a choice, the browser's
# language if it is one of these, else LANGUAGE_CODE. Patients read five languages
# (patients/languages.py); the catalogues are compiled by `make messages`.
LANGUAGE_CODE = "en"
LANGUAGES = [("en", _("English")), ("es", _("Spanish")), ("ja", _("Japanese"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
USE_I18N = True
USE_TZ = True
TIME_ZONE = PRACTICE_TIME_ZONE

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
STATIC_ROOT.mkdir(exist_ok=True)
STATICFILES_DIRS = [BASE_DIR / "static"]
# Uploaded import files wait here for their worker (web and workers must share
# it), by a random name, readable by this user only; each is deleted once run.
IMPORT_FILES_DIR = env_str("IMPORT_FILES_DIR", default=str(VAR_DIR / "imports"))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "imports": {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {
            "location": IMPORT_FILES_DIR,
            "file_permissions_mode": 0o600,
            "directory_permissions_mode": 0o700,
        },
    },
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG or TESTING
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}

REDIS_URL = env_redis_url("REDIS_URL")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": env_str("CACHE_KEY_PREFIX", default="pam"),
            # The cache is a speed-up (portal_adoption/cache.py): a Redis host that
            # does not answer must cost a page a second, not hang it.
            "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

NIGHTLY_HOUR = env_int("NIGHTLY_HOUR", default=2)

# Celery: with no REDIS_URL, tasks run in-process so a first run needs nothing else.
CELERY_BROKER_URL = REDIS_URL or "memory://"
CELERY_RESULT_BACKEND = None
CELERY_TASK_ALWAYS_EAGER = not REDIS_URL
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TIME_LIMIT = 30 * 60
CELERY_TASK_SOFT_TIME_LIMIT = 25 * 60
CELERY_TIMEZONE = PRACTICE_TIME_ZONE
# Tasks outside files named tasks.py.
CELERY_IMPORTS = ["metrics.report_tasks"]
CELERY_BEAT_SCHEDULE: dict = {
    # A claim lapses after 30 minutes untouched; the sweep makes that visible.
    "release-lapsed-claims": {
        "task": "messaging.tasks.release_lapsed_claims",
        "schedule": 300.0,
    },
    # The nightly job, in the practice's time zone (CELERY_TIMEZONE): figures first.
    "nightly-rollup": {
        "task": "metrics.tasks.nightly_rollup",
        "schedule": crontab(hour=NIGHTLY_HOUR, minute=0),
    },
    "nightly-outreach": {
        "task": "messaging.tasks.nightly_outreach",
        "schedule": crontab(hour=NIGHTLY_HOUR, minute=30),
    },
    # The monthly dashboard PDF to every manager on the 1st, after the rollup.
    "monthly-dashboard-email": {
        "task": "metrics.report_tasks.send_monthly_report",
        "schedule": crontab(minute=0, hour=7, day_of_month="1"),
    },
    # Results education and activity alerts by text: within minutes, not nightly.
    "frequent-outreach": {
        "task": "messaging.tasks.frequent_outreach",
        "schedule": 300.0,
    },
    # Texts held over quiet hours go at 08:00; lost enqueues are picked up.
    "dispatch-due-communications": {
        "task": "messaging.tasks.dispatch_due_communications",
        "schedule": crontab(minute="*/15"),
    },
    # An upload whose worker died (a deploy, out of memory) is failed, with the reason.
    "fail-stalled-imports": {
        "task": "patients.tasks.fail_stalled_imports",
        "schedule": 300.0,
    },
}

CRISPY_ALLOWED_TEMPLATE_PACKS = "bootstrap5"
CRISPY_TEMPLATE_PACK = "bootstrap5"

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "portal_adoption.authentication.IntegrationTokenAuthentication",
        "portal_adoption.authentication.VerifiedSessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    # One JSON parser for every view: it refuses deep nesting (portal_adoption/json_input.py).
    "DEFAULT_PARSER_CLASSES": ["portal_adoption.json_input.JSONParser"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "portal_adoption.api.exception_handler",
    "UNAUTHENTICATED_USER": None,
    # DRF's throttles find the client as selectors.client_ip does.
    "NUM_PROXIES": TRUSTED_PROXY_COUNT,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Portal Adoption Manager API",
    "DESCRIPTION": "The activity feed, the message queue and the dashboard figures.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    # Managers, administrators and integrations (READ_API_DOCS); 403 for everyone else.
    "SERVE_PERMISSIONS": ["portal_adoption.permissions.MayReadApiDocs"],
    "SWAGGER_UI_DIST": "SIDECAR",
    # No deep links: Swagger UI puts each one inside the operation's toggle button,
    # a link nested in a button that screen readers and keyboards cannot use (axe
    # nested-interactive, tests/browser).
    "SWAGGER_UI_SETTINGS": {"deepLinking": False, "persistAuthorization": False},
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

# The feed (activity-feed.md): records per bulk request, and the largest body
# accepted (FHIR Bundles from an EHR can be tens of megabytes).
FEED_MAX_RECORDS = env_int("FEED_MAX_RECORDS", default=5000, minimum=1)
FEED_MAX_REQUEST_MB = env_int("FEED_MAX_REQUEST_MB", default=64, minimum=1)
DATA_UPLOAD_MAX_MEMORY_SIZE = FEED_MAX_REQUEST_MB * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
# Files uploaded on the imports page are run by a worker; the largest accepted,
# and how long a running import may show no progress before it is failed.
IMPORT_UPLOAD_MAX_MB = env_int("IMPORT_UPLOAD_MAX_MB", default=100, minimum=1)
IMPORT_STALL_MINUTES = env_int("IMPORT_STALL_MINUTES", default=15, minimum=1)

# Email and text messages. The console and file backends print names, numbers
# and live survey links where logs go: development only (DEBUG), and a deploy
# check error elsewhere (messaging/checks.py). Outside DEBUG email goes by SMTP
# and texts by Twilio once it is configured; until then NoSmsBackend sends
# nothing and the communications log says "no SMS provider configured".
TWILIO_ACCOUNT_SID = env_str("TWILIO_ACCOUNT_SID")
SMS_BACKEND = env_str(
    "SMS_BACKEND",
    default="messaging.channels.ConsoleSmsBackend"
    if DEBUG
    else "messaging.channels.TwilioSmsBackend"
    if TWILIO_ACCOUNT_SID
    else "messaging.channels.NoSmsBackend",
)
TWILIO_AUTH_TOKEN = env_str("TWILIO_AUTH_TOKEN")
TWILIO_FROM_NUMBER = env_str("TWILIO_FROM_NUMBER")
TWILIO_API_BASE = env_str("TWILIO_API_BASE", default="https://api.twilio.com")
# The nightly workers: when they run (practice time), and the survey's sample size.
SURVEY_SAMPLE_SIZE = env_int("SURVEY_SAMPLE_SIZE", default=50, minimum=1)
# Tonight's preview on the managers' nightly page is counted at most once in this
# many minutes (messaging/outreach/preview.py); 0 counts it on every load.
OUTREACH_PREVIEW_MINUTES = env_int("OUTREACH_PREVIEW_MINUTES", default=10)
SITE_URL = env_str("SITE_URL", default="http://127.0.0.1:8000")

EMAIL_BACKEND = env_str(
    "EMAIL_BACKEND",
    default="django.core.mail.backends.console.EmailBackend"
    if DEBUG
    else "django.core.mail.backends.smtp.EmailBackend",
)
EMAIL_HOST = env_str("EMAIL_HOST", default="localhost")
EMAIL_PORT = env_int("EMAIL_PORT", default=25, minimum=1)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", default=False)
EMAIL_USE_SSL = env_bool("EMAIL_USE_SSL", default=False)
EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", default=30, minimum=1)
if EMAIL_USE_TLS and EMAIL_USE_SSL:
    raise ImproperlyConfigured("Set EMAIL_USE_TLS or EMAIL_USE_SSL to true, not both.")
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", default="portal@localhost")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "filters": {
        "refusal_without_traceback": {
            "()": "portal_adoption.logging_filters.RefusalWithoutTraceback"
        }
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", default="INFO")},
    "loggers": {
        # Request lines can carry search terms; keep Django's request logger at
        # WARNING so patient data never reaches the log through a URL.
        "django.request": {"level": "WARNING", "filters": ["refusal_without_traceback"]},
        "axes": {"level": "WARNING"},
        # matplotlib's PDF font subsetting logs every glyph at INFO.
        "fontTools": {"level": "WARNING"},
    },
}
