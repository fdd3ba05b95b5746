"""HTTP and WebSocket entry point (uvicorn or daphne)."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mbflow_site.settings")
django_asgi_app = get_asgi_application()

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
