from django.apps import AppConfig


class WorkflowsConfig(AppConfig):
    name = "workflows"
    verbose_name = "Workflows"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django.conf import settings
        from django.db.models.signals import post_delete, post_save

        from mbflow_site.postgres import use_c_timestamp_loader
        from workflows.auth import forget_cached_keys_on_change
        from workflows.models import ApiKey, Tenant
        from workflows.spec.expressions import Limits, configure_limits

        configure_limits(Limits(cpu_seconds=settings.MBFLOW_EXPRESSION_CPU_MS / 1000,
                                max_size=settings.MBFLOW_EXPRESSION_MAX_SIZE,
                                max_total=10 * settings.MBFLOW_EXPRESSION_MAX_SIZE))

        for model in (ApiKey, Tenant):  # a cached caller holds both
            post_save.connect(forget_cached_keys_on_change, sender=model)
            post_delete.connect(forget_cached_keys_on_change, sender=model)
        use_c_timestamp_loader()
