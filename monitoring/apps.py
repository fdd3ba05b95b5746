from django.apps import AppConfig


class MonitoringConfig(AppConfig):
    name = "monitoring"
    verbose_name = "Monitoring"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from functools import partial

        from celery.signals import worker_ready, worker_shutdown
        from django.db.backends.signals import connection_created
        from prometheus_client import REGISTRY

        from mbflow_site.lifespan import server_started, server_stopping
        from monitoring import prometheus
        from monitoring.aggregates import register_sqlite_functions
        from monitoring.services.system import start_reporting, stop_reporting

        # SQLite has no percentile or interval functions: each of its connections gets ours.
        connection_created.connect(register_sqlite_functions, dispatch_uid="monitoring.sqlite_functions")
        # /metrics serves what this app counts, beside the HTTP figures of mbflow_site.metrics.
        prometheus.register(REGISTRY)
        # Each server and worker process writes its snapshot (pool, streams) for the scrapes.
        server_started.connect(partial(start_reporting, "web"), weak=False, dispatch_uid="monitoring.report_web")
        server_stopping.connect(stop_reporting, dispatch_uid="monitoring.stop_web")
        worker_ready.connect(partial(start_reporting, "worker"), weak=False, dispatch_uid="monitoring.report_worker")
        worker_shutdown.connect(stop_reporting, dispatch_uid="monitoring.stop_worker")
