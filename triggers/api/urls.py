"""The trigger API under /api/v1/: a workflow's triggers, the tenant's triggers, events, and
outbound webhooks with their deliveries."""

from __future__ import annotations

from django.urls import re_path

from triggers.api import views, views_webhooks

S = "/?$"
TRIGGER = r"^triggers/(?P<trigger_id>[0-9a-fA-F-]{32,36})"
WEBHOOK = r"^webhooks/(?P<webhook_id>[0-9a-fA-F-]{32,36})"
DELIVERY = r"^webhooks/deliveries/(?P<delivery_id>[0-9a-fA-F-]{32,36})"

urlpatterns = [
    re_path(r"^workflows/(?P<ref>[^/]+)/triggers" + S, views.WorkflowTriggersView.as_view()),
    re_path(r"^triggers" + S, views.TriggerListView.as_view()),
    re_path(TRIGGER + S, views.TriggerDetailView.as_view()),
    re_path(TRIGGER + "/enable" + S, views.TriggerEnableView.as_view()),
    re_path(TRIGGER + "/disable" + S, views.TriggerDisableView.as_view()),
    re_path(TRIGGER + "/regenerate" + S, views.TriggerTokenView.as_view()),
    re_path(TRIGGER + "/secret" + S, views.TriggerSecretView.as_view()),
    re_path(r"^events" + S, views.EventsView.as_view()),
    re_path(r"^webhooks" + S, views_webhooks.WebhookListView.as_view()),
    re_path(r"^webhooks/deliveries" + S, views_webhooks.DeliveryListView.as_view()),
    re_path(DELIVERY + S, views_webhooks.DeliveryDetailView.as_view()),
    re_path(DELIVERY + "/redeliver" + S, views_webhooks.RedeliverView.as_view()),
    re_path(WEBHOOK + S, views_webhooks.WebhookDetailView.as_view()),
    re_path(WEBHOOK + "/deliveries" + S, views_webhooks.WebhookDeliveryListView.as_view()),
]
