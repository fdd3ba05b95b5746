from django.apps import AppConfig


class MonitoringConfig(AppConfig):
    name = "monitoring"
    verbose_name = "Monitoring"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # SQLite has no percentile or interval functions: each of its connections gets ours.
        from django.db.backends.signals import connection_created

        from monitoring.aggregates import register_sqlite_functions

        connection_created.connect(register_sqlite_functions, dispatch_uid="monitoring.sqlite_functions")
