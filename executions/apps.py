from django.apps import AppConfig


class ExecutionsConfig(AppConfig):
    name = "executions"
    verbose_name = "Executions"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # The engine's ports, plugged in once the app registry is ready: where work goes after a
        # step commits, and who hears of its events.
        from executions.dispatch import default_dispatcher
        from executions.engine import ports
        from executions.live.publisher import publish_events

        ports.wire(dispatcher_factory=default_dispatcher, event_sink=publish_events)
