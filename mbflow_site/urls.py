from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from mbflow_site import health, metrics
from workflows.api import schema_extensions  # noqa: F401  (registers the OpenAPI auth schemes)

urlpatterns = [
    path("health", health.health),
    path("ready", health.ready),
    path("metrics", metrics.metrics_view),
    path("admin/", admin.site.urls),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="swagger-ui"),
    path("api/v1/", include("workflows.api.urls")),
    path("api/v1/", include("executions.api.urls")),
    path("api/v1/", include("triggers.api.urls")),
    path("api/v1/", include("monitoring.api.urls")),
    path("hooks/", include("triggers.api.hook_urls")),
    path("", include("designer.urls")),
]

handler400 = "mbflow_site.errors.handler400"
handler403 = "mbflow_site.errors.handler403"
handler404 = "mbflow_site.errors.handler404"
handler500 = "mbflow_site.errors.handler500"
