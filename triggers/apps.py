from django.apps import AppConfig


class TriggersConfig(AppConfig):
    name = "triggers"
    verbose_name = "Triggers"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # A saved version's triggers become rows once it commits; a server process started
        # with the embedded schedule runs the tick on a timer (triggers.ticker). The engine's
        # committed events reach the outbound webhooks through its listener port.
        from django.db.models.signals import post_save

        from executions.engine.ports import add_event_listener
        from mbflow_site.lifespan import server_started, server_stopping
        from triggers.logs import redact_access_log
        from triggers.outbound import on_execution_events, send, start_sweeping
        from triggers.services.deliveries import wire_sender
        from triggers.services.sync import sync_after_save
        from triggers.ticker import start_ticker, stop_ticker
        from workflows.models import Workflow

        post_save.connect(sync_after_save, sender=Workflow, dispatch_uid="triggers.sync_after_save")
        server_started.connect(start_ticker, dispatch_uid="triggers.start_ticker")
        server_started.connect(start_sweeping, dispatch_uid="triggers.start_sweeping")
        server_stopping.connect(stop_ticker, dispatch_uid="triggers.stop_ticker")
        add_event_listener(on_execution_events)
        wire_sender(send)
        redact_access_log()  # a webhook's URL holds its credential
