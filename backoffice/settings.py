"""One settings module, driven by environment variables (see CONTRACT.md and the README).

With no variables set it runs on embedded defaults: SQLite, kombu's filesystem broker, a file
mail backend and a file SMS backend under var/. Production sets DATABASE_URL, CELERY_BROKER_URL,
SECRET_KEY, ALLOWED_HOSTS, DEBUG=off, FIELD_ENCRYPTION_KEYS, EMAIL_URL and SMS_BACKEND.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import environ
from csp.constants import NONCE, NONE, SELF, UNSAFE_INLINE
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(environ.Env().str("VAR_DIR", default=str(BASE_DIR / "var")))

env = environ.Env()

# Development-only defaults, committed here and so public. With DEBUG off, `check --deploy`
# fails while any of them is in use (backoffice/checks.py), so production must set its own.
_DEV_SECRET_KEY = "django-insecure-dev-only-key-change-me-0123456789abcdefghijklmnopqrstuvwxyz"
_DEV_FIELD_KEY = "m1uQjW0R1nq8YvD6t8l4YpQ1lHq5c0G6b6C7uKXh3xY="
_DEV_BLIND_INDEX_KEY = "dev-blind-index-key-change-me"
DEVELOPMENT_KEYS = {
    "SECRET_KEY": _DEV_SECRET_KEY,
    "FIELD_ENCRYPTION_KEYS": _DEV_FIELD_KEY,
    "BLIND_INDEX_KEY": _DEV_BLIND_INDEX_KEY,
}

DEBUG = env.bool("DEBUG", default=True)
SECRET_KEY = env.str("SECRET_KEY", default=_DEV_SECRET_KEY)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

# Personal data at rest: Fernet keys, newest first (MultiFernet). The blind-index key is
# separate so that rotating encryption keys never invalidates the exact-match search index.
FIELD_ENCRYPTION_KEYS = env.list("FIELD_ENCRYPTION_KEYS", default=[_DEV_FIELD_KEY])
BLIND_INDEX_KEY = env.str("BLIND_INDEX_KEY", default=_DEV_BLIND_INDEX_KEY)

INSTALLED_APPS = [
    "backoffice.apps.BackofficeAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "django_otp.plugins.otp_email",
    "rest_framework",
    "knox",  # hashed, expiring API tokens (core/tokens.py)
    "drf_spectacular",
    "drf_spectacular_sidecar",  # Swagger UI assets served by the app itself (no CDN)
    "simple_history",
    "pgtrigger",  # append-only history, event and trail tables (core/append_only.py)
    "axes",
    "csp",  # Content-Security-Policy (django-csp): its system checks and the nonce
    "core",
    "backoffice",
    "notices",
    "accounts",
    "complaints",
    "closures",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # Content-Security-Policy, Permissions-Policy and `Cache-Control: no-store` on every page.
    "csp.middleware.CSPMiddleware",
    "backoffice.middleware.SecurityHeadersMiddleware",
    "backoffice.middleware.BodySizeLimitMiddleware",
    # The client's IP and a request id for every activity-trail row written by this request.
    "core.activity.ActivityContextMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "backoffice.middleware.LanguageFromQueryMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    # NUL bytes in the path (404) or query (400), before any view or filter reaches PostgreSQL.
    "backoffice.middleware.NulByteMiddleware",
    # A database outage answers 503 (the API's error body, else the 503 page), never a 500.
    "backoffice.middleware.DatabaseOutageMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    "axes.middleware.AxesMiddleware",
    # `Idempotency-Key` on API POSTs: the view and its stored answer in one transaction.
    "core.idempotency.IdempotencyMiddleware",
]

ROOT_URLCONF = "backoffice.urls"
# Django's form renderer with the common widgets drawn in Python, same markup (core/form_renderer.py).
FORM_RENDERER = "core.form_renderer.FastFormRenderer"
WSGI_APPLICATION = "backoffice.wsgi.application"
AUTH_USER_MODEL = "accounts.User"

# History keeps every reason whole (a text column, not simple-history's varchar(100)); reason
# fields are capped at core.audit.REASON_MAX_LENGTH characters with a field error beyond.
SIMPLE_HISTORY_HISTORY_CHANGE_REASON_USE_TEXT_FIELD = True

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "backoffice" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}
DATABASES["default"]["ATOMIC_REQUESTS"] = False
DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("CONN_MAX_AGE", default=60))
if "postgresql" in DATABASES["default"]["ENGINE"]:
    # django-pgtrigger's triggers first ask `_pgtrigger_should_ignore()`, which reads the
    # `pgtrigger.ignore` setting inside an EXCEPTION block when it is undefined: a subtransaction
    # per row, 0.5 ms each in a large transaction (the risk scan's trail rows: 30 s per 10k
    # proposals). Defined (empty) on every connection, the check takes microseconds.
    _options = DATABASES["default"].setdefault("OPTIONS", {})
    _options["options"] = (_options.get("options", "") + " -c pgtrigger.ignore={}").strip()
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # `make run`: web server, worker and beat share one file. WAL lets readers go on while one
    # writer writes; IMMEDIATE transactions take the write lock at BEGIN (no deadlock-by-upgrade,
    # which the busy timeout cannot wait out); the busy timeout makes a writer wait its turn.
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "timeout": 20,
            "transaction_mode": "IMMEDIATE",
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        }
    )
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    # Django's ModelBackend, reading a user's permissions and roles in one query per request.
    "core.permissions.PermissionBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    # Django's own, with a message its zh_Hans catalog translates (accounts/password_validation.py).
    {"NAME": "accounts.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", _("Simplified Chinese")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True
# zh-hans money with thousands separators (backoffice/formats/zh_Hans/formats.py).
FORMAT_MODULE_PATH = ["backoffice.formats"]
LANGUAGE_COOKIE_NAME = "django_language"
LANGUAGE_COOKIE_AGE = 60 * 60 * 24 * 365

STATIC_URL = "/static/"
STATIC_ROOT = Path(env.str("STATIC_ROOT", default=str(BASE_DIR / "staticfiles")))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}
# Uploads (appeal attachments) live outside the web root and are served only by views that
# check access first.
MEDIA_ROOT = Path(env.str("MEDIA_ROOT", default=str(VAR_DIR / "uploads")))
# No URL pattern serves this prefix: uploads are only read by views that check access first.
# (A string rather than None because Django's test live server wraps a media handler.)
MEDIA_URL = "/uploads-not-served/"
# Uploads hold personal data: readable by the app's user only (not the default 0644).
FILE_UPLOAD_PERMISSIONS = 0o600
FILE_UPLOAD_DIRECTORY_PERMISSIONS = 0o700
FILE_UPLOAD_MAX_MEMORY_SIZE = 2_621_440
DATA_UPLOAD_MAX_MEMORY_SIZE = 6 * 1024 * 1024
# Hard cap on any request body; larger ones answer 413 before Django reads them.
MAX_REQUEST_BODY_BYTES = env.int("MAX_REQUEST_BODY_BYTES", default=6 * 1024 * 1024)
# A portal form with a file may be larger: a too-large attachment (over 5 MB) then reaches the
# form and is refused there with a field error, keeping what the customer typed (issue 13 item
# 13). Beyond this the portal's 413 page answers before anything is read.
PORTAL_UPLOAD_MAX_BODY_BYTES = env.int("PORTAL_UPLOAD_MAX_BODY_BYTES", default=25 * 1024 * 1024)

LOGIN_URL = "portal:login"
# Sessions are read from the cache (Redis in production, CACHE_URL), written through to the
# database: one query less on every signed-in page, and a session outlives a cache flush.
SESSION_ENGINE = "core.sessions"  # cached_db; only keys of its own form (core/sessions.py)
SESSION_COOKIE_AGE = 60 * 60 * 8
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_HTTPONLY = False
# A portal form whose token expired keeps what was typed (backoffice.middleware.csrf_failure).
CSRF_FAILURE_VIEW = "backoffice.middleware.csrf_failure"

# --- Security (production: DEBUG off) -------------------------------------------------------
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
if not DEBUG:
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]

# Content-Security-Policy (django-csp), strict: scripts only from our own origin, never inline
# (the admin, the portal, the reports' inline SVG charts and the Swagger UI's split view need
# none). A `<style>` element needs the request's nonce (`nonce="{{ request.csp_nonce }}"`);
# style *attributes* stay allowed (`style-src-attr`): Django's admin and the Swagger UI set them,
# and they cannot run code. Appeal attachments are served with `sandbox` on top
# (closures/views.py).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [NONE],
        "script-src": [SELF],
        "style-src": [SELF, NONCE],
        "style-src-attr": [UNSAFE_INLINE],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "manifest-src": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
        "base-uri": [NONE],
        "object-src": [NONE],
    },
}
# Browser features no page of ours uses (backoffice.middleware.SecurityHeadersMiddleware).
PERMISSIONS_POLICY = (
    "accelerometer=(), camera=(), geolocation=(), gyroscope=(), magnetometer=(), "
    "microphone=(), payment=(), usb=()"
)
# Every answer under these prefixes may carry personal or account data: `Cache-Control: no-store`.
NO_STORE_PATH_PREFIXES = ("/admin/", "/portal/", "/api/")

# --- Lockout (django-axes) --------------------------------------------------------------------
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("AXES_COOLOFF_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_ENABLED = env.bool("AXES_ENABLED", default=True)
# Number of reverse proxies in front of the app; the client IP is read that many hops from the
# right of X-Forwarded-For (0: REMOTE_ADDR only).
TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=0)
AXES_CLIENT_IP_CALLABLE = "core.net.client_ip"
AXES_LOCKOUT_CALLABLE = "core.net.lockout_response"

# --- OTP ---------------------------------------------------------------------------------------
OTP_TOTP_ISSUER = env.str("OTP_TOTP_ISSUER", default="Credit Service Desk")
OTP_EMAIL_TOKEN_VALIDITY = 300
STEPUP_WINDOW = timedelta(minutes=15)

# --- API tokens (django-rest-knox: only a SHA-512 digest is stored) --------------------------
# A customer's token from POST /api/v1/auth/token/ lives API_TOKEN_TTL_HOURS; a service user's
# (manage.py create_service_user, which revokes the previous one) API_SERVICE_TOKEN_TTL_DAYS.
API_TOKEN_TTL = timedelta(hours=env.int("API_TOKEN_TTL_HOURS", default=12))
API_SERVICE_TOKEN_TTL = timedelta(days=env.int("API_SERVICE_TOKEN_TTL_DAYS", default=365))
REST_KNOX = {
    "TOKEN_TTL": API_TOKEN_TTL,
    "AUTH_HEADER_PREFIX": "Token",
    "AUTO_REFRESH": False,
    "TOKEN_LIMIT_PER_USER": None,
}

# --- Cache (rate limits, throttles) -----------------------------------------------------------
REDIS_CACHE_URL = env.str("CACHE_URL", default="")
if REDIS_CACHE_URL:
    CACHES = {"default": env.cache("CACHE_URL")}
else:
    # One process's memory: fine for `make run` (one process) and tests. Production (DEBUG
    # off) must set CACHE_URL (redis://...) so that throttles, rate limits and lockouts are
    # shared by every worker and node; `check --deploy` fails without it (backoffice.E004).
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# --- Rate limits on the portal's forms (django-ratelimit on the cache above; core/ratelimit.py) -
# Each form: (per customer, per client IP), "count/period" with period s, m, h or d ("5/10m":
# 5 in 10 minutes). Only POSTs count; over either one the form answers a 429 page that keeps
# what was typed. On the sign-in and password-reset pages the first one counts per username.
RATELIMIT_USE_CACHE = "default"
RATELIMIT_FAIL_OPEN = True  # the cache down: forms go through (logged) rather than all refused
PORTAL_RATE_LIMITS = {
    "complaint": ("5/10m", "20/10m"),
    "complaint_post": ("10/10m", "30/10m"),  # the case page: review, withdraw, reply
    "complaint_message": ("10/10m", "30/10m"),  # the conversation: a message or a file
    "closure_request": ("5/h", "20/h"),
    "closure_confirm": ("10/10m", "30/10m"),
    "closure_resend": ("3/10m", "15/10m"),
    "closure_withdraw": ("10/10m", "30/10m"),
    "appeal": ("5/h", "20/h"),
    "login": ("10/10m", "30/10m"),
    "password_change": ("5/10m", "20/10m"),
    "password_reset": ("5/10m", "20/10m"),
}
# The password-reset request answers no sooner than this, known identity or not (no enumeration).
PASSWORD_RESET_MIN_SECONDS = env.float("PASSWORD_RESET_MIN_SECONDS", default=0.5)
# A second POST of the same one-time form token waits this long for the first one's answer.
SUBMISSION_TOKEN_WAIT_SECONDS = 10
# An API POST repeating a running one's Idempotency-Key waits this long for its answer (then 409).
IDEMPOTENCY_WAIT_SECONDS = 10

# --- REST API --------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "core.tokens.TokenAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": [
        "rest_framework.parsers.JSONParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_SCHEMA_CLASS": "core.schema.AutoSchema",
    "EXCEPTION_HANDLER": "core.api.exception_handler",
    "DEFAULT_THROTTLE_CLASSES": [
        # DRF's anon/user throttles counted atomically on the shared cache (core/ratelimit.py).
        "core.ratelimit.SharedAnonRateThrottle",
        "core.ratelimit.SharedUserRateThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "anon": env.str("API_THROTTLE_ANON", default="60/min"),
        "user": env.str("API_THROTTLE_USER", default="600/min"),
    },
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.CursorPagination",
    "PAGE_SIZE": 25,
    "COERCE_DECIMAL_TO_STRING": True,
    "DATETIME_FORMAT": "iso-8601",
    "NUM_PROXIES": TRUSTED_PROXY_COUNT,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Credit service desk API",
    "DESCRIPTION": "Customer and risk-engine API of the credit-account service desk.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # Two choice sets share the field name "channel": name each enum after what it is.
    "ENUM_NAME_OVERRIDES": {
        "OtpChannelEnum": "closures.enums.OtpChannel",
        "NoticeChannelEnum": "notices.enums.Channel",
        "LoanChannelEnum": "accounts.enums.LoanChannel",
        "LoanKindEnum": "accounts.enums.LoanKind",
    },
    "COMPONENT_SPLIT_REQUEST": True,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "core.idempotency.schema_add_idempotency_key",  # the Idempotency-Key header on POSTs
    ],
}

# --- Celery -------------------------------------------------------------------------------------
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="filesystem://")
_fs_broker = VAR_DIR / "broker"
if CELERY_BROKER_URL.startswith("filesystem://"):
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_fs_broker / "out"),
        "data_folder_out": str(_fs_broker / "out"),
        "processed_folder": str(_fs_broker / "processed"),
        # Broadcast (pidbox) exchanges; kombu's default is ./control in the working directory.
        "control_folder": str(_fs_broker / "control"),
        "store_processed": False,
    }
else:
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = TIME_ZONE
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
# Beat schedule entries are added by the apps in backoffice/celery.py.

# --- Notices (outbox sent by Celery; notices/) ------------------------------------
# 8 tries, backoff from about a minute up to 12 hours (with jitter), then `failed` + staff alert.
NOTICES_MAX_ATTEMPTS = env.int("NOTICES_MAX_ATTEMPTS", default=8)
NOTICES_RETRY_BASE = timedelta(seconds=env.int("NOTICES_RETRY_BASE_SECONDS", default=60))
NOTICES_RETRY_MAX = timedelta(seconds=env.int("NOTICES_RETRY_MAX_SECONDS", default=12 * 3600))
# Retries sooner than this are requeued with a countdown; later ones wait in the database for
# the sweeper (a long countdown would outlive the broker's visibility timeout).
NOTICES_MAX_COUNTDOWN = timedelta(seconds=env.int("NOTICES_MAX_COUNTDOWN_SECONDS", default=300))
# The sweeper publishes pending rows due for longer than this: fresh ones were just published
# (too short re-publishes a queue backlog; too long delays recovery after a broker outage).
NOTICES_SWEEP_GRACE = timedelta(seconds=env.int("NOTICES_SWEEP_GRACE_SECONDS", default=300))
NOTICES_SWEEP_BATCH = env.int("NOTICES_SWEEP_BATCH", default=5000)
# Ids per `notices.send_batch` task (the outbox publishes and sends in batches).
NOTICES_SEND_BATCH = env.int("NOTICES_SEND_BATCH", default=50)
# SMTP connections per worker process, each on its own thread (notices/backends/smtp.py).
NOTICES_SMTP_CONNECTIONS = env.int("NOTICES_SMTP_CONNECTIONS", default=4)
# A row `sending` for longer than this lost its worker: marked failed (outcome unknown).
NOTICES_SENDING_LEASE = timedelta(seconds=env.int("NOTICES_SENDING_LEASE_SECONDS", default=900))

# --- Email and SMS ----------------------------------------------------------------------------
_email_url = env.str("EMAIL_URL", default="")
if _email_url:
    vars().update(env.email_url("EMAIL_URL"))
else:
    # Django's file backend, its files 0600 in a 0700 folder (core/storage.py).
    EMAIL_BACKEND = "core.storage.PrivateFileEmailBackend"
    EMAIL_FILE_PATH = str(VAR_DIR / "mail")
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=10)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="service-desk@example.com")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
SMS_BACKEND = env.str("SMS_BACKEND", default="notices.backends.sms.FileSmsBackend")
SMS_FILE_PATH = str(VAR_DIR / "sms")
SMS_GATEWAY_URL = env.str("SMS_GATEWAY_URL", default="")
SMS_GATEWAY_TOKEN = env.str("SMS_GATEWAY_TOKEN", default="")
SMS_GATEWAY_TIMEOUT = env.float("SMS_GATEWAY_TIMEOUT", default=5.0)

# --- Credit bureau (README "Credit bureau") ---------------------------------------------------
# Objection marks, their outcomes and corrections: one message per submission, sent by Celery.
CREDIT_BUREAU_BACKEND = env.str(
    "CREDIT_BUREAU_BACKEND", default="accounts.bureau.backends.FileBureauBackend"
)
CREDIT_BUREAU_FILE_PATH = env.str("CREDIT_BUREAU_FILE_PATH", default=str(VAR_DIR / "bureau"))
CREDIT_BUREAU_URL = env.str("CREDIT_BUREAU_URL", default="")
CREDIT_BUREAU_TOKEN = env.str("CREDIT_BUREAU_TOKEN", default="")
CREDIT_BUREAU_TIMEOUT = env.float("CREDIT_BUREAU_TIMEOUT", default=10.0)
CREDIT_BUREAU_MAX_ATTEMPTS = env.int("CREDIT_BUREAU_MAX_ATTEMPTS", default=8)
CREDIT_BUREAU_RETRY_BASE = timedelta(
    seconds=env.int("CREDIT_BUREAU_RETRY_BASE_SECONDS", default=60)
)
CREDIT_BUREAU_RETRY_MAX = timedelta(
    seconds=env.int("CREDIT_BUREAU_RETRY_MAX_SECONDS", default=6 * 3600)
)
# A submission `sending` for longer than this lost its worker: `unknown`, never resent blindly.
CREDIT_BUREAU_SENDING_LEASE = timedelta(
    seconds=env.int("CREDIT_BUREAU_SENDING_LEASE_SECONDS", default=900)
)
# The sweep publishes pending submissions due for longer than this (fresh ones were published
# on commit).
CREDIT_BUREAU_SWEEP_GRACE = timedelta(
    seconds=env.int("CREDIT_BUREAU_SWEEP_GRACE_SECONDS", default=120)
)
# Staff alerts and escalations go to this address when a role has no member with an email.
STAFF_ALERT_EMAIL = env.str("STAFF_ALERT_EMAIL", default="complaints-managers@example.com")
PORTAL_BASE_URL = env.str("PORTAL_BASE_URL", default="http://127.0.0.1:8000")

# --- Domain rules (PRODUCT.md), overridable -----------------------------------------------------
OVERDUE_CLOSURE_THRESHOLD = env.int("OVERDUE_CLOSURE_THRESHOLD", default=3)
# Repayment schedules (accounts/schedules.py): an installment unpaid this many days after its
# due date is overdue; installment loans default to this many monthly installments; a cash
# loan without a due date is due this many days after it was taken.
OVERDUE_GRACE_DAYS = env.int("OVERDUE_GRACE_DAYS", default=3)
INSTALLMENT_DEFAULT_MONTHS = env.int("INSTALLMENT_DEFAULT_MONTHS", default=3)
CASH_LOAN_TERM_DAYS = env.int("CASH_LOAN_TERM_DAYS", default=30)
CLOSURE_NOTICE_DAYS = {
    "overdue": env.int("CLOSURE_NOTICE_DAYS_OVERDUE", default=7),
    "policy_high_risk": env.int("CLOSURE_NOTICE_DAYS_POLICY", default=30),
    "product_change": env.int("CLOSURE_NOTICE_DAYS_PRODUCT_CHANGE", default=30),
    "suspected_fraud": 0,
    "security_risk": 0,
    "customer_request": 0,
}
CLOSURE_ALERT_PER_STAFF_PER_HOUR = env.int("CLOSURE_ALERT_PER_STAFF_PER_HOUR", default=20)
# The customer's closure codes (issue 14 item 6): validity, wrong tries per request (over every
# resend; then the request is cancelled), sends per request and per customer and local day.
CLOSURE_OTP_VALIDITY = env.int("CLOSURE_OTP_VALIDITY", default=300)
CLOSURE_OTP_MAX_ATTEMPTS = env.int("CLOSURE_OTP_MAX_ATTEMPTS", default=5)
CLOSURE_CODE_MAX_SENDS = env.int("CLOSURE_CODE_MAX_SENDS", default=5)
CLOSURE_CODE_MAX_SENDS_PER_DAY = env.int("CLOSURE_CODE_MAX_SENDS_PER_DAY", default=10)
DECISION_APPROVAL_THRESHOLD = Decimal(env.str("DECISION_APPROVAL_THRESHOLD", default="5000.00"))

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}

SILENCED_SYSTEM_CHECKS: list[str] = []
