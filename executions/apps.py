from django.apps import AppConfig

LEASE_SWEEP_SECONDS = 30.0


class ExecutionsConfig(AppConfig):
    name = "executions"
    verbose_name = "Executions"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Celery beat re-dispatches nodes whose worker vanished (the embedded dispatcher runs
        # the same sweep on its own timer).
        from mbflow_site.celery import app

        app.conf.beat_schedule.setdefault("mbflow-sweep-leases", {
            "task": "mbflow.sweep_leases",
            "schedule": LEASE_SWEEP_SECONDS,
            "options": {"queue": "mbflow.light"},
        })
