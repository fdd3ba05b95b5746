"""The trigger API under /api/v1/: a workflow's triggers, the tenant's triggers, events."""

from __future__ import annotations

from django.urls import re_path

from triggers.api import views

S = "/?$"
TRIGGER = r"^triggers/(?P<trigger_id>[0-9a-fA-F-]{32,36})"

urlpatterns = [
    re_path(r"^workflows/(?P<ref>[^/]+)/triggers" + S, views.WorkflowTriggersView.as_view()),
    re_path(r"^triggers" + S, views.TriggerListView.as_view()),
    re_path(TRIGGER + S, views.TriggerDetailView.as_view()),
    re_path(TRIGGER + "/enable" + S, views.TriggerEnableView.as_view()),
    re_path(TRIGGER + "/disable" + S, views.TriggerDisableView.as_view()),
    re_path(TRIGGER + "/regenerate" + S, views.TriggerTokenView.as_view()),
    re_path(TRIGGER + "/secret" + S, views.TriggerSecretView.as_view()),
    re_path(r"^events" + S, views.EventsView.as_view()),
]
