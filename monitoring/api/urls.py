from django.urls import re_path

from monitoring.api import views, views_alerts, views_business

S = "/?$"

urlpatterns = [
    re_path(r"^workflows/(?P<ref>[^/]+)/metrics" + S, views.WorkflowMetricsView.as_view()),
    re_path(r"^workflows/(?P<ref>[^/]+)/business-metrics" + S, views_business.WorkflowBusinessMetricsView.as_view()),
    re_path(r"^metrics/summary" + S, views.SummaryView.as_view()),
    re_path(r"^metrics/nodes" + S, views.NodesView.as_view()),
    re_path(r"^metrics/business" + S, views_business.BusinessMetricsView.as_view()),
    re_path(r"^executions/(?P<execution_id>[^/]+)/trace" + S, views_business.ExecutionTraceView.as_view()),
    re_path(r"^alerts/rules" + S, views_alerts.AlertRuleListView.as_view()),
    re_path(r"^alerts/rules/(?P<rule_id>[^/]+)" + S, views_alerts.AlertRuleDetailView.as_view()),
    re_path(r"^alerts/rules/(?P<rule_id>[^/]+)/check" + S, views_alerts.AlertRuleCheckView.as_view()),
    re_path(r"^alerts/firings" + S, views_alerts.AlertFiringListView.as_view()),
    re_path(r"^alerts/firings/(?P<firing_id>[^/]+)" + S, views_alerts.AlertFiringDetailView.as_view()),
]
