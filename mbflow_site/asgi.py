"""HTTP and WebSocket entry point (uvicorn or daphne)."""

import os

import django
from asgiref.sync import sync_to_async
from django.core.handlers.asgi import ASGIHandler

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mbflow_site.settings")
django.setup(set_prefix=False)


class SyncChainASGIHandler(ASGIHandler):
    """Django's ASGI handler with the middleware chain built for synchronous code.

    Every view and middleware of the site is synchronous. Built for async (Django's default
    under ASGI), the chain crosses between the event loop and the request's thread at each
    boundary: into the sync middleware, back out to the async base handler, in again for the
    view. Built for sync and entered once, a request costs one crossing, as under a threaded
    WSGI server. Each request still gets its own thread (``ThreadSensitiveContext`` per request).
    """

    def load_middleware(self, is_async: bool = False) -> None:
        super().load_middleware(is_async=False)
        self._middleware_chain = sync_to_async(self._middleware_chain, thread_sensitive=True)


django_asgi_app = SyncChainASGIHandler()

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402

from mbflow_site.routing import websocket_urlpatterns  # noqa: E402

application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        # Sessions for the browser; consumers also accept an API key in the handshake.
        "websocket": AuthMiddlewareStack(URLRouter(websocket_urlpatterns)),
    }
)
