"""ASGI entry point: HTTP through Django, websockets through Channels.

Websocket routes come from settings.WEBSOCKET_ROUTES (dotted paths), so this project package does
not import the apps above it; every route sits behind the explicit origin allow-list and the
session, and every route whose consumer needs a login (all but those that set
`uses_login = False`, such as the patient's wait screen) behind the auth middleware too.
"""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "waitingroom.settings")
django_asgi_app = get_asgi_application()

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.sessions import CookieMiddleware, SessionMiddleware  # noqa: E402
from django.conf import settings  # noqa: E402
from django.utils.module_loading import import_string  # noqa: E402

from waitingroom.realtime.gc_tuning import tune_for_many_sockets  # noqa: E402
from waitingroom.realtime.handshake import SettingsOriginValidator, with_login  # noqa: E402
from waitingroom.web.body_limit import BodySizeLimit  # noqa: E402
from waitingroom.web.headers import StaticSecurityHeaders  # noqa: E402
from waitingroom.web.static_files import StaticFilesHandler  # noqa: E402

websocket_urlpatterns = [
    with_login(route) for path in settings.WEBSOCKET_ROUTES for route in import_string(path)
]

# Static files bypass Django's middleware: the wrapper gives them the pages' security headers.
http_app = (
    StaticSecurityHeaders(StaticFilesHandler(django_asgi_app)) if settings.SERVE_STATIC else django_asgi_app
)

application = ProtocolTypeRouter(
    {
        # Upload URLs refuse a body over their limit before Django copies it (web/body_limit.py).
        "http": BodySizeLimit(http_app, limits=settings.REQUEST_BODY_LIMITS),
        "websocket": SettingsOriginValidator(
            # URLRouter's stub wants routes whose callback is typed as a consumer; path() (typed for
            # HTTP views) cannot say so: see visits/routing.py.
            CookieMiddleware(SessionMiddleware(URLRouter(websocket_urlpatterns)))  # type: ignore[arg-type]
        ),
    }
)

# Last, so that everything start-up created is frozen out of the collector's way.
if settings.GC_TUNING:
    tune_for_many_sockets(full_every=settings.GC_FULL_COLLECTION_SECONDS)
