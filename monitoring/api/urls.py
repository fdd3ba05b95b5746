from django.urls import re_path

from monitoring.api import views

S = "/?$"

urlpatterns = [
    re_path(r"^workflows/(?P<ref>[^/]+)/metrics" + S, views.WorkflowMetricsView.as_view()),
    re_path(r"^metrics/summary" + S, views.SummaryView.as_view()),
    re_path(r"^metrics/nodes" + S, views.NodesView.as_view()),
]
