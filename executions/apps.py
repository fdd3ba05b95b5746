from django.apps import AppConfig
from django.conf import settings


class ExecutionsConfig(AppConfig):
    name = "executions"
    verbose_name = "Executions"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # The engine's ports, plugged in once the app registry is ready: where work goes after a
        # step commits, who hears of its events, and where circuit breakers are kept (Redis, so
        # that every process shares them; the embedded mode's one process keeps them in memory).
        from executions.dispatch import default_dispatcher
        from executions.engine import ports
        from executions.engine.breakers import MemoryBreakerStore
        from executions.live.publisher import publish_events
        from executions.services import payloads  # noqa: F401 (registers its retention cleaner)
        from executions.stores.breakers import RedisBreakerStore

        breakers = (RedisBreakerStore(settings.REDIS_URL, prefix=f"{settings.MBFLOW_QUEUE_PREFIX}:breakers")
                    if settings.REDIS_URL else MemoryBreakerStore())
        ports.wire(dispatcher_factory=default_dispatcher, event_sink=publish_events, breaker_store=breakers)
