"""HTTP and WebSocket entry point (uvicorn or daphne)."""

import os

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mbflow_site.settings")
django.setup(set_prefix=False)

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402

from mbflow_site.http_handler import ThreadedASGIHandler  # noqa: E402
from mbflow_site.routing import websocket_urlpatterns  # noqa: E402

application = ProtocolTypeRouter(
    {
        "http": ThreadedASGIHandler(),
        # Sessions for the browser; consumers also accept an API key in the handshake.
        "websocket": AuthMiddlewareStack(URLRouter(websocket_urlpatterns)),
    }
)
