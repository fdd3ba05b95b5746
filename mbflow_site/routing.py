"""WebSocket routes; each app contributes its own list."""

from executions.routing import websocket_urlpatterns

__all__ = ["websocket_urlpatterns"]
