"""Settings, read from the environment through the typed helpers in waitingroom/env.py.

The defaults give a quick local start (DEBUG on, PostgreSQL and Redis on localhost). Production
sets DEBUG=0, SECRET_KEY, ALLOWED_HOSTS, CSRF_TRUSTED_ORIGINS and DATABASE_URL; README.md has the
full table.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured

from waitingroom.env import database_from_url, env_bool, env_int, env_list, env_str, websocket_sources
from waitingroom.realtime.layers import LAYERS, channel_layer

BASE_DIR = Path(__file__).resolve().parent.parent

DEBUG = env_bool("DEBUG", default=True)
# With DEBUG, Django's technical 404/403 pages instead of the product's (waitingroom/errors.py).
TECHNICAL_ERROR_PAGES = env_bool("TECHNICAL_ERROR_PAGES", default=False)
# A published payload that breaks the message contract (waitingroom/realtime/messages.py) raises
# in development and the tests; in production it is logged and the push dropped, since the change
# it announces is already committed.
REALTIME_STRICT_CONTRACT = env_bool("REALTIME_STRICT_CONTRACT", default=DEBUG)

SECRET_KEY = env_str("SECRET_KEY")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY is required when DEBUG is off")
    SECRET_KEY = "django-insecure-local-development-only-key-never-use-in-production-0123456789"

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost"] if DEBUG else [])
CSRF_TRUSTED_ORIGINS = env_list(
    "CSRF_TRUSTED_ORIGINS", ["http://127.0.0.1:8000", "http://localhost:8000"] if DEBUG else []
)
# Browsers send Origin on websocket handshakes; only these may open a socket. Never "*":
# Channels' AllowedHostsOriginValidator with ALLOWED_HOSTS=["*"] accepts any page on the web.
WEBSOCKET_ALLOWED_ORIGINS = env_list("WEBSOCKET_ALLOWED_ORIGINS", CSRF_TRUSTED_ORIGINS)
if "*" in WEBSOCKET_ALLOWED_ORIGINS:
    raise ImproperlyConfigured("WEBSOCKET_ALLOWED_ORIGINS must list origins explicitly, not '*'")

# No inline script, handler or style anywhere: page behaviour lives in static/ modules, and data
# reaches them through json_script blocks (type application/json, never executed) and data-
# attributes. connect-src names the sockets' ws:/wss: origins for browsers whose 'self' does not
# cover them. Static files get the same policy (waitingroom/web/headers.py).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "connect-src": [SELF, *websocket_sources(WEBSOCKET_ALLOWED_ORIGINS)],
        "object-src": [NONE],
        "frame-ancestors": [NONE],
        "form-action": [SELF],
        "base-uri": [NONE],
    }
}

# The address patients and Twilio reach the app at: SMS links and webhook signatures use it.
PUBLIC_BASE_URL = env_str("PUBLIC_BASE_URL", "http://127.0.0.1:8000").rstrip("/")

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "channels",
    "csp",  # its system checks refuse the pre-4.x CSP_* settings
    "waitingroom",
    "visits",
    "scheduling",
    "consultations",
    "axes",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "waitingroom.web.headers.PrivateResponses",
    # A request made while the database cannot be reached gets a 503 page, not a traceback.
    "waitingroom.db.unavailable.DatabaseUnavailableMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "waitingroom.middleware.IdleSessionRefresh",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # The admin in the clinic's time zone for its own staff (UTC across clinics).
    "waitingroom.admin_time.AdminClinicTime",
    # The product's 404 and 403 pages under DEBUG too (`make run`), unless TECHNICAL_ERROR_PAGES.
    "waitingroom.errors.ProductErrorPages",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last, as django-axes requires: it turns a locked-out sign-in into the lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "waitingroom.urls"
ASGI_APPLICATION = "waitingroom.asgi.application"

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
                "waitingroom.context_processors.staff_nav",
            ],
        },
    },
    # Fragments (fragments/): autoescaped, and fast enough for a board of 1,000 cards
    # (waitingroom/fragments.py).
    {
        "NAME": "fragments",
        "BACKEND": "django.template.backends.jinja2.Jinja2",
        "DIRS": [BASE_DIR / "fragments"],
        "APP_DIRS": False,
        "OPTIONS": {
            "environment": "waitingroom.fragments.environment",
            "context_processors": ["django.contrib.auth.context_processors.auth"],
        },
    },
]

# PostgreSQL, in development too: presence counting, the sweeps' SKIP LOCKED and ON CONFLICT writes
# are PostgreSQL SQL (`make run` creates the database on first use).
DATABASES = {
    "default": database_from_url(
        env_str("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/waitingroom"), base_dir=BASE_DIR
    )
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LOGIN_URL = "login"
# "home" sends each person to their own page by role (waitingroom/views.py: a scheduler to Requests).
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"
# A refused CSRF check gets the product's page saying to reload, not Django's bare one.
CSRF_FAILURE_VIEW = "waitingroom.errors.csrf_failure"

# Login throttling (django-axes) on /accounts/login/ and /admin/login/: AXES_FAILURE_LIMIT wrong
# passwords for one username from one client address lock that pair out for AXES_COOLOFF_TIME (a
# failure during the lockout starts it again); other users and other addresses are unaffected, so
# an attacker cannot lock a colleague out from elsewhere. A success resets the count.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = env_int("LOGIN_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("LOGIN_LOCKOUT_MINUTES", 15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_CLIENT_IP_CALLABLE = "waitingroom.clients.client_address"
AXES_LOCKOUT_CALLABLE = "waitingroom.views.login_locked_out"
AXES_VERBOSE = False  # no start-up banner in every manage.py command's output
# Its sign-in records are registered in waitingroom/admin.py, superusers only, like every admin
# there with declared roles.
AXES_ENABLE_ADMIN = False

# Staff sessions end after a shift of inactivity; every request pushes the expiry forward.
SESSION_COOKIE_AGE = env_int("SESSION_IDLE_SECONDS", 8 * 3600)
# How many proxies (load balancers) stand in front of the app and append to X-Forwarded-For. With
# 0 the client is REMOTE_ADDR; with N, the Nth address from the right (what the nearest trusted
# proxy saw). Login throttling and the per-client rate limits below depend on it.
TRUSTED_PROXIES = env_int("TRUSTED_PROXIES", 0)
# Public actions limited per client address (waitingroom/ratelimit.py): action -> (attempts, window
# in seconds). Every action here sends an SMS or an email except guest keys, where only wrong keys
# count (nine digits must not be walked through).
RATE_LIMITS: dict[str, tuple[int, int]] = {
    "guest-key": (5, 15 * 60),
    "phone-verification": (env_int("RATE_LIMIT_SMS_PER_HOUR", 5), 3600),
    "request-form": (env_int("RATE_LIMIT_EMAILS_PER_HOUR", 5), 3600),
    "requester-sign-in": (env_int("RATE_LIMIT_EMAILS_PER_HOUR", 5), 3600),
    "consultation-booking": (env_int("RATE_LIMIT_EMAILS_PER_HOUR", 5), 3600),
    # A client's messages and files in their consultation room: each one tells the clinic's
    # dashboards, so a script posting in a loop must stop long before it floods them.
    "consultation-client-post": (env_int("RATE_LIMIT_CLIENT_POSTS_PER_10_MIN", 60), 600),
    # Saving a card on a booking page (waitingroom/payments/public.py): each try makes a Stripe
    # Customer and SetupIntent, and card testers try many cards from one place.
    "card-setup": (env_int("RATE_LIMIT_CARD_SETUPS_PER_HOUR", 10), 3600),
    # Finishing one (reading the SetupIntent back from Stripe): a few per card saved, and each
    # read spends the platform's Stripe rate limit, which every clinic's charges share.
    "card-finish": (env_int("RATE_LIMIT_CARD_FINISHES_PER_HOUR", 30), 3600),
}
# The idle expiry moves on with use, at most once a minute (waitingroom/middleware.py).
SESSION_SAVE_EVERY_REQUEST = False
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"

LANGUAGE_CODE = "en-us"
TIME_ZONE = env_str("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = BASE_DIR / "staticfiles"
# daphne serves no static files itself; the ASGI app does (see asgi.py). A CDN or reverse proxy
# in front may take this over in production by setting SERVE_STATIC=0.
SERVE_STATIC = env_bool("SERVE_STATIC", default=True)
MEDIA_ROOT = Path(env_str("MEDIA_ROOT", str(BASE_DIR / "media")))

# --- Uploaded files (consultation attachments) ------------------------------------------------
# Stored through STORAGES["default"] (the file system under MEDIA_ROOT; S3 through django-storages
# in production: docs/security.md, "Consultation files") and never served by URL: only through the
# permission-checked views of consultations/uploads.py, so the storage must not be public.
STORAGES: dict[str, dict[str, Any]] = {
    "default": {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        # Clients' files are health data: readable by the app's user and group only.
        "OPTIONS": {"file_permissions_mode": 0o640, "directory_permissions_mode": 0o750},
    },
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
_MB = 1024 * 1024
# Per-kind limits of one attachment (consultations/files.py), decided from the file's content.
CONSULTATION_MAX_IMAGE_BYTES = env_int("CONSULTATION_MAX_IMAGE_MB", 20) * _MB
CONSULTATION_MAX_DOCUMENT_BYTES = env_int("CONSULTATION_MAX_DOCUMENT_MB", 20) * _MB
CONSULTATION_MAX_VIDEO_BYTES = env_int("CONSULTATION_MAX_VIDEO_MB", 200) * _MB
# Images are decoded to strip their metadata: 3-4 bytes a pixel in memory while that runs, so a
# ceiling on pixels (48 MP phone photos pass) instead of Pillow's own 89 MP warning.
CONSULTATION_MAX_IMAGE_PIXELS = env_int("CONSULTATION_MAX_IMAGE_PIXELS", 50_000_000)
# Request bodies refused with 413 before Django reads them (waitingroom/web/body_limit.py): the
# upload URLs, at their largest file plus room for the multipart framing and the form's fields.
_LARGEST_ATTACHMENT = max(
    CONSULTATION_MAX_IMAGE_BYTES, CONSULTATION_MAX_DOCUMENT_BYTES, CONSULTATION_MAX_VIDEO_BYTES
)
REQUEST_BODY_LIMITS: list[tuple[str, int, str]] = [
    (
        r"^/(consultations/\d+|consult/room/[^/]+)/files/$",
        _LARGEST_ATTACHMENT + _MB,
        f"This file is too large: files can be up to {_LARGEST_ATTACHMENT // _MB} MB.",
    ),
    # Stripe's events are a few kilobytes (waitingroom/payments/webhooks.py).
    (r"^/stripe/webhook/$", 512 * 1024, "Payload too large."),
]
# Under ASGI, Django copies every request body into a SpooledTemporaryFile of this size before
# the view runs; past it the body goes to a temporary file. 1 MiB (Django's default is 2.5) keeps
# forms in memory while a hundred uploads at once hold at most 100 MiB of RAM, the rest on disk.
# The attachment upload handler streams files to disk whatever their size.
FILE_UPLOAD_MAX_MEMORY_SIZE = _MB

# --- Redis: channel layer and Celery broker --------------------------------------------------
REDIS_URL = env_str("REDIS_URL", "redis://127.0.0.1:6379/0")
REDIS_MAX_CONNECTIONS = env_int("REDIS_MAX_CONNECTIONS", 200)

# Garbage-collector thresholds for a web process holding thousands of sockets
# (waitingroom/realtime/gc_tuning.py); the test suite keeps CPython's defaults.
GC_TUNING = env_bool("GC_TUNING", default=True)
# With GC_TUNING, a full collection this often (seconds; 0: never by the clock): the tuned thresholds
# make full collections rare, and the garbage cycles of requests and pushes pile up meanwhile.
GC_FULL_COLLECTION_SECONDS = env_int("GC_FULL_COLLECTION_SECONDS", 120)

# Which channels-redis layer carries pushes: "pubsub" (RedisPubSubChannelLayer) or "core"
# (RedisChannelLayer). Chosen by measurement (make bench; docs/performance.md has the figures):
# pubsub is the faster of the two from a staff action to every dashboard, and only pubsub keeps
# its sockets listening after Redis restarts (core's group memberships are Redis keys, lost with
# it: tests/visits/test_staff_socket.py).
CHANNEL_LAYER = env_str("CHANNEL_LAYER", "pubsub")
if CHANNEL_LAYER not in LAYERS:
    raise ImproperlyConfigured(f"CHANNEL_LAYER must be one of {LAYERS}, got {CHANNEL_LAYER!r}")
CHANNEL_LAYERS = {
    "default": channel_layer(
        CHANNEL_LAYER,
        redis_url=REDIS_URL,
        max_connections=REDIS_MAX_CONNECTIONS,
        prefix=env_str("CHANNEL_LAYER_PREFIX", "waitingroom"),
    )
}

# Seconds a process's presence lease lasts without renewal (renewed every third of it): the sockets
# of a process killed without closing them count as closed once it has expired (visits/leases.py).
PRESENCE_LEASE_SECONDS = env_int("PRESENCE_LEASE_SECONDS", 10)

CELERY_BROKER_URL = env_str("CELERY_BROKER_URL", REDIS_URL)
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", default=False)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True
# A task taken by a worker that dies is delivered again after this many seconds (kombu's default
# is an hour). It must exceed the longest task and any retry countdown (a task still held after
# it is delivered twice; every task here is safe to run twice) and a call to the SMS provider.
# kombu scans for such tasks every unacked_restore_interval x unacked_restore_throttle seconds
# (100 s by default), which would add more than the timeout itself: a tenth of it here.
BROKER_VISIBILITY_TIMEOUT = env_int("CELERY_VISIBILITY_TIMEOUT", 120)
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": BROKER_VISIBILITY_TIMEOUT,
    "unacked_restore_interval": max(1, BROKER_VISIBILITY_TIMEOUT // 10),
    "unacked_restore_throttle": 1,
}
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_IGNORE_RESULT = True
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TIMEZONE = "UTC"
# The opening hours' sweep (waitingroom/opening.py): every clinic's state by its hours is checked
# this often, and a change due within two of these is sent as a task for that instant (eta), well
# under the broker's visibility timeout, so a flip is on time and the sweep is the safety net.
HOURS_SWEEP_SECONDS = 30
# Beat only enqueues the due-time sweeps; they claim due rows with SKIP LOCKED and are safe to run
# twice, so no timer relies on a long Celery countdown (which the Redis broker may deliver twice).
CELERY_BEAT_SCHEDULE: dict[str, dict] = {
    "visits-sweep": {"task": "visits.tasks.sweep_due_visits", "schedule": 2.0, "options": {"expires": 10}},
    # A call guest's unused invitation expires within 10 s of its time (visits/call_guests.py).
    "call-guests-expiry": {
        "task": "visits.tasks.expire_call_guests",
        "schedule": 10.0,
        "options": {"expires": 10},
    },
    "requests-expiry": {
        "task": "scheduling.tasks.expire_requests",
        "schedule": 30.0,
        "options": {"expires": 60},
    },
    "meeting-statuses": {
        "task": "scheduling.tasks.refresh_meeting_statuses",
        "schedule": 30.0,
        "options": {"expires": 60},
    },
    "client-attempts-purge": {
        "task": "waitingroom.tasks.purge_client_attempts",
        "schedule": 3600.0,
        "options": {"expires": 600},
    },
    "access-trail-purge": {
        "task": "waitingroom.audit.tasks.purge_access_events",
        "schedule": 3600.0,
        "options": {"expires": 600},
    },
    "consultation-reminders": {
        "task": "consultations.tasks.send_reminders",
        "schedule": 30.0,
        "options": {"expires": 60},
    },
    "outbox-sms-sweep": {
        "task": "waitingroom.outbox.sms_sweep",
        "schedule": float(env_int("SMS_SWEEP_SECONDS", 15)),
        "options": {"expires": 30},
    },
    "voice-recordings-fetch": {
        "task": "waitingroom.voice.recordings_fetch",
        "schedule": 15.0,
        "options": {"expires": 30},
    },
    "voice-recordings-purge": {
        "task": "waitingroom.voice.recordings_purge",
        "schedule": 86400.0,
        "options": {"expires": 3600},
    },
    "payments-sends-sweep": {
        "task": "waitingroom.payments.sends_sweep",
        "schedule": 60.0,
        "options": {"expires": 60},
    },
    "opening-hours-sweep": {
        "task": "waitingroom.tasks.opening_hours_sweep",
        "schedule": float(HOURS_SWEEP_SECONDS),
        "options": {"expires": HOURS_SWEEP_SECONDS},
    },
    "voice-calls-sweep": {
        "task": "waitingroom.voice.calls_sweep",
        "schedule": 30.0,
        "options": {"expires": 30},
    },
}
# How long the access trail (waitingroom/audit/) keeps an entry: 6 years by default (HIPAA's
# documentation retention, 45 CFR 164.316(b)(2)).
AUDIT_RETENTION_DAYS = env_int("AUDIT_RETENTION_DAYS", 2192)

# --- WebRTC: ICE servers (see waitingroom/turn.py) --------------------------------------------
STUN_URLS = env_list("STUN_URLS")
TURN_URLS = env_list("TURN_URLS")
TURN_SECRET = env_str("TURN_SECRET")
TURN_CREDENTIAL_TTL = env_int("TURN_CREDENTIAL_TTL", 6 * 3600)

# --- Messaging backends --------------------------------------------------------------------
SMS_BACKEND = env_str(
    "SMS_BACKEND",
    "waitingroom.outbox.sms_backends.ConsoleSmsBackend"
    if DEBUG
    else "waitingroom.outbox.sms_backends.TwilioSmsBackend",
)
# The outbox's sweep (waitingroom/outbox/delivery.py): a message pending this long had its task
# lost and is enqueued again; one submitting this long (longer than a provider call may take) is
# checked with the provider; one not sent after SMS_GIVE_UP_SECONDS is "stuck", shown to staff.
SMS_QUEUED_STALE_SECONDS = env_int("SMS_QUEUED_STALE_SECONDS", 30)
SMS_SENDING_STALE_SECONDS = env_int("SMS_SENDING_STALE_SECONDS", 45)
SMS_GIVE_UP_SECONDS = env_int("SMS_GIVE_UP_SECONDS", 15 * 60)
TWILIO_ACCOUNT_SID = env_str("TWILIO_ACCOUNT_SID")
TWILIO_AUTH_TOKEN = env_str("TWILIO_AUTH_TOKEN")
TWILIO_FROM_NUMBER = env_str("TWILIO_FROM_NUMBER")
TWILIO_MESSAGING_SERVICE_SID = env_str("TWILIO_MESSAGING_SERVICE_SID")
# The phone bridge (waitingroom/voice/calling.py): Twilio Voice, or the console for development.
VOICE_BACKEND = env_str(
    "VOICE_BACKEND",
    "waitingroom.voice.calling.ConsoleVoiceBackend"
    if DEBUG
    else "waitingroom.voice.calling.TwilioVoiceBackend",
)

# --- Card payments (waitingroom/payments/) through Stripe's SDK and Stripe.js ---------------------
# With no STRIPE_SECRET_KEY in development (`make run`) and the tests, localstripe (PyPI: a fake but
# stateful Stripe server) runs beside the app at LOCALSTRIPE_URL (a Procfile process; a fixture in
# the tests) and both the SDK and the pages' Stripe.js point at it, so a newcomer books and pays
# with a test card and no Stripe account. In production without a key, paid services can't be
# booked (the page says so) and nothing is charged. docs/payments.md has the set-up.
STRIPE_SECRET_KEY = env_str("STRIPE_SECRET_KEY")
LOCALSTRIPE_URL = env_str("LOCALSTRIPE_URL", "http://127.0.0.1:8420").rstrip("/")
if STRIPE_SECRET_KEY:
    STRIPE_PUBLISHABLE_KEY = env_str("STRIPE_PUBLISHABLE_KEY")
    STRIPE_WEBHOOK_SECRET = env_str("STRIPE_WEBHOOK_SECRET")
    if not (STRIPE_PUBLISHABLE_KEY and STRIPE_WEBHOOK_SECRET):
        raise ImproperlyConfigured("STRIPE_SECRET_KEY needs STRIPE_PUBLISHABLE_KEY and STRIPE_WEBHOOK_SECRET")
    STRIPE_API_BASE = "https://api.stripe.com"
    STRIPE_JS_URL = "https://js.stripe.com/v3/"
    # What Stripe.js needs (its script, its card frames and 3-D Secure frames, its API).
    STRIPE_CSP = {
        "script-src": ["https://js.stripe.com"],
        "frame-src": ["https://js.stripe.com", "https://hooks.stripe.com"],
        "connect-src": ["https://api.stripe.com"],
    }
    PAYMENTS_ENABLED = True
else:
    STRIPE_SECRET_KEY = "sk_test_localstripe"
    STRIPE_PUBLISHABLE_KEY = "pk_test_localstripe"
    STRIPE_WEBHOOK_SECRET = "whsec_localstripe"
    STRIPE_API_BASE = LOCALSTRIPE_URL
    STRIPE_JS_URL = f"{LOCALSTRIPE_URL}/js.stripe.com/v3/"
    STRIPE_CSP = {"script-src": [LOCALSTRIPE_URL], "connect-src": [LOCALSTRIPE_URL]}
    PAYMENTS_ENABLED = DEBUG
# The platform's fee on each charge to a clinic's connected account, in basis points (250 = 2.5 %).
PAYMENTS_PLATFORM_FEE_BPS = env_int("PAYMENTS_PLATFORM_FEE_BPS", 0)
if not 0 <= PAYMENTS_PLATFORM_FEE_BPS < 10_000:
    raise ImproperlyConfigured("PAYMENTS_PLATFORM_FEE_BPS must be 0-9999 (basis points)")

EMAIL_BACKEND = env_str(
    "EMAIL_BACKEND",
    "django.core.mail.backends.console.EmailBackend"
    if DEBUG
    else "django.core.mail.backends.smtp.EmailBackend",
)
EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 587)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", default=True)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "Waiting Room <no-reply@waitingroom.local>")

# --- Production hardening (manage.py check --deploy passes with DEBUG off) -------------------
if not DEBUG:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", default=True)
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SECURE_CONTENT_TYPE_NOSNIFF = True
    SECURE_REFERRER_POLICY = "same-origin"
    X_FRAME_OPTIONS = "DENY"

LOGGING: dict[str, Any] = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "filters": {"redact_tokens": {"()": "waitingroom.logging.RedactVisitTokens"}},
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": "plain", "filters": ["redact_tokens"]}
    },
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {
        # Request lines would carry patients' visit tokens in their paths: keep them out of logs.
        "django.channels.server": {"level": "WARNING"},
        "daphne.server": {"level": "WARNING"},
    },
}

# Each app's websocket routes, joined in asgi.py.
WEBSOCKET_ROUTES = [
    "visits.routing.websocket_urlpatterns",
    "scheduling.routing.websocket_urlpatterns",
    "consultations.routing.websocket_urlpatterns",
]
# Each app's part of the demo data, called by `manage.py seed_demo` with the demo clinic.
DEMO_SEEDERS = ["visits.demo.seed", "scheduling.demo.seed", "consultations.demo.seed"]
# Ninety days of history for /reports/ (visits with their events and recall SMS, meetings completed
# and missed, consultations and their payments), after the seeders above.
DEMO_SEEDERS += [
    "visits.demo_history.seed",
    "scheduling.demo_history.seed",
    "consultations.demo_history.seed",
]
# Extra panels on the staff dashboard, from apps above visits: callables (request, clinic) -> HTML.
DASHBOARD_PANELS = [
    "scheduling.requests.dispatch.render_panel",
    "consultations.staff.render_upcoming_panel",
]
# What a patient who finds the waiting room full may do instead (visits/patient.py full_page), from
# apps above visits: callables (clinic) -> (label, url) or None.
ROOM_FULL_OFFERS = [
    "scheduling.requests.public.room_full_offer",
    "consultations.public.room_full_offer",
]
# What else holds a provider's time besides meetings (scheduling/availability.py Busy): callables
# (*, provider_ids, start, end) -> Busy items, from apps above scheduling.
BUSY_TIME_SOURCES = ["consultations.selectors.busy_times"]
# Extra sections of the requester's page (scheduling/requests/public.py), from apps above
# scheduling: callables (request, requester) -> HTML.
REQUESTER_PAGE_SECTIONS = ["consultations.public.requester_section"]
# The apps a phone call can belong to (waitingroom/voice/): the subject's kind -> a callable
# (call, *, what) told of every change of the call, inside the transaction that made it.
VOICE_SUBJECTS = {
    "consultation": "consultations.calls.call_changed",
    "visit": "visits.phone.call_changed",  # Switch to phone on a waiting-room card
}
# The clinic's voice number, for apps below the one that keeps it (visits' Switch to phone): a
# callable(clinic_id) -> E.164 number, "" when the clinic has none.
VOICE_CLINIC_NUMBER = "consultations.calls.clinic_voice_number"
# Recordings (waitingroom/voice/recordings.py): Twilio's copy is deleted once ours is stored; how
# many days a clinic keeps them is its own setting, read through a callable(clinic_id) -> days or
# None (keep), since the bridge can't import the app that holds it.
VOICE_DELETE_FROM_TWILIO = env_bool("VOICE_DELETE_FROM_TWILIO", default=True)
VOICE_RECORDING_RETENTION = "consultations.recordings.retention_days"
# Who answers a call to a clinic's voice number (waitingroom/voice/services.py inbound): callables
# (*, to_number, from_number, now) -> InboundRoute | None, asked in order; the first that knows
# the number decides (a return call from an expected client, or the clinic's message).
VOICE_INBOUND: list[str] = ["consultations.calls.return_route"]
# The apps a card and its payments can belong to (waitingroom/payments/): the subject's kind -> a
# callable (payment, *, what) told of every change of a payment, inside the transaction that made it.
PAYMENT_SUBJECTS = {
    "consultation": "consultations.payments.payment_changed",
    "meeting": "scheduling.meetings.payments.payment_changed",
    "request": "scheduling.meetings.payments.payment_changed",
}
# The sections of /reports/ (waitingroom/reports/), each app's own: callables
# (*, clinic, start, end) -> list of waitingroom.reports.charts.Chart, shown in this order.
REPORT_SECTIONS = [
    "visits.reports.sections",
    "scheduling.meetings.reports.sections",
    "consultations.reports.sections",
    "waitingroom.reports.payments.sections",
]
# A call guest's invitation link (visits/call_guests.py): unused after this many minutes, it expires.
CALL_GUEST_INVITE_MINUTES = env_int("CALL_GUEST_INVITE_MINUTES", 30)
