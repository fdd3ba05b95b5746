from django.apps import AppConfig


class WorkflowsConfig(AppConfig):
    name = "workflows"
    verbose_name = "Workflows"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django.db.models.signals import post_delete, post_save

        from mbflow_site.postgres import use_c_timestamp_loader
        from workflows.api import schema_extensions  # noqa: F401  (registers the OpenAPI auth schemes)
        from workflows.auth import forget_cached_keys_on_change
        from workflows.models import ApiKey, Tenant

        for model in (ApiKey, Tenant):  # a cached caller holds both
            post_save.connect(forget_cached_keys_on_change, sender=model)
            post_delete.connect(forget_cached_keys_on_change, sender=model)
        use_c_timestamp_loader()
