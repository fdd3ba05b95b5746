from typing import Any

from django.urls import re_path

from executions.live.consumers import ExecutionEventsConsumer

websocket_urlpatterns: list[Any] = [
    re_path(r"^ws/executions/?$", ExecutionEventsConsumer.as_asgi()),
    re_path(r"^ws/executions/(?P<execution_id>[0-9a-fA-F-]{32,36})/?$", ExecutionEventsConsumer.as_asgi()),
]
