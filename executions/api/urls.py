from django.urls import re_path

from executions.api import (
    views,
    views_breakers,
    views_expressions,
    views_functions,
    views_payloads,
    views_secrets,
)
from executions.live import sse

S = "/?$"
EXECUTION = r"^executions/(?P<execution_id>[0-9a-fA-F-]{32,36})"

urlpatterns = [
    re_path(r"^executions" + S, views.ExecutionListView.as_view()),
    re_path(r"^executions/adhoc" + S, views.AdhocView.as_view()),
    re_path(EXECUTION + S, views.ExecutionDetailView.as_view()),
    re_path(EXECUTION + "/results" + S, views.ResultsView.as_view()),
    re_path(EXECUTION + "/events" + S, views.EventsView.as_view()),
    re_path(EXECUTION + "/cancel" + S, views.CancelView.as_view()),
    re_path(EXECUTION + "/rerun" + S, views.RerunView.as_view()),
    re_path(EXECUTION + "/replay" + S, views.ReplayView.as_view()),
    re_path(EXECUTION + "/pause" + S, views.PauseView.as_view()),
    re_path(EXECUTION + "/resume" + S, views.ResumeView.as_view()),
    re_path(EXECUTION + "/retry" + S, views.RetryView.as_view()),
    re_path(EXECUTION + "/signals" + S, views.SignalView.as_view()),
    re_path(EXECUTION + "/stream" + S, sse.ExecutionStreamView.as_view()),
    re_path(EXECUTION + r"/steps/(?P<node_id>[A-Za-z_][A-Za-z0-9_-]{0,63})/output" + S,
            views_payloads.StepOutputView.as_view()),
    re_path(r"^workflows/(?P<ref>[^/]+)/execute" + S, views.WorkflowExecuteView.as_view()),
    re_path(r"^function-tasks/poll" + S, views_functions.FunctionPollView.as_view()),
    re_path(r"^function-tasks/(?P<task_id>[^/]+)/complete" + S, views_functions.FunctionCompleteView.as_view()),
    re_path(r"^secrets" + S, views_secrets.SecretListView.as_view()),
    re_path(r"^secrets/(?P<name>[A-Za-z0-9_]+)" + S, views_secrets.SecretDetailView.as_view()),
    re_path(r"^expressions/evaluate" + S, views_expressions.EvaluateView.as_view()),
    re_path(r"^expressions/secrets" + S, views_expressions.SecretNamesView.as_view()),
    re_path(r"^circuit-breakers" + S, views_breakers.BreakerListView.as_view()),
    re_path(r"^circuit-breakers/(?P<key>[A-Za-z0-9_.:-]{1,200})/reset" + S, views_breakers.BreakerResetView.as_view()),
]
