from django.apps import AppConfig


class MonitoringConfig(AppConfig):
    name = "monitoring"
    verbose_name = "Monitoring"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from functools import partial

        from celery.signals import worker_ready, worker_shutdown
        from django.conf import settings
        from django.db.backends.signals import connection_created
        from prometheus_client import REGISTRY

        from executions.engine.ports import add_event_listener, add_journal_writer
        from executions.executors.http import wire_trace_headers
        from executions.services.retention import on_prune
        from mbflow_site.lifespan import server_started, server_stopping
        from monitoring import prometheus
        from monitoring.aggregates import register_sqlite_functions
        from monitoring.services import business, rollups
        from monitoring.services.alerts.evaluation import evaluate_due
        from monitoring.services.system import start_reporting, stop_reporting
        from monitoring.tracing import provider, spans
        from triggers.services.schedules import ticked

        # SQLite has no percentile or interval functions: each of its connections gets ours.
        connection_created.connect(register_sqlite_functions, dispatch_uid="monitoring.sqlite_functions")
        # /metrics serves what this app counts, beside the HTTP figures of mbflow_site.metrics.
        prometheus.register(REGISTRY)
        # Each server and worker process writes its snapshot (pool, streams) for the scrapes.
        server_started.connect(partial(start_reporting, "web"), weak=False, dispatch_uid="monitoring.report_web")
        server_stopping.connect(stop_reporting, dispatch_uid="monitoring.stop_web")
        worker_ready.connect(partial(start_reporting, "worker"), weak=False, dispatch_uid="monitoring.report_worker")
        worker_shutdown.connect(stop_reporting, dispatch_uid="monitoring.stop_worker")
        # Finished executions feed their workflow's business metrics; alert rules are evaluated
        # on the schedule tick (Celery beat's task, or the embedded server's timer).
        add_event_listener(business.on_execution_events)
        ticked.connect(evaluate_due, dispatch_uid="monitoring.evaluate_alerts")
        # Long metrics windows read hourly and daily rollups: each step that changes an execution
        # marks its hour stale (in the step's transaction), and the tick rolls it up again.
        add_journal_writer(rollups.dirty_mark)
        ticked.connect(rollups.roll_up, dispatch_uid="monitoring.roll_up_metrics")
        # Executions retention deletes stay counted: their hours are rolled up (if need be) and
        # their figures kept before their rows go.
        on_prune(rollups.keep_pruned)
        # Tracing, when an OTLP endpoint is set: spans from the engine's events, a traceparent on
        # the http and llm nodes' calls; flushed when the process stops.
        provider.when_started(start=lambda: (add_event_listener(spans.on_execution_events),
                                             wire_trace_headers(spans.outgoing_headers)),
                              stop=lambda: wire_trace_headers(None))
        if settings.MBFLOW_TRACING:
            provider.start_tracing()
        server_stopping.connect(provider.stop_tracing, dispatch_uid="monitoring.stop_tracing")
        worker_shutdown.connect(provider.stop_tracing, dispatch_uid="monitoring.stop_tracing_worker")
