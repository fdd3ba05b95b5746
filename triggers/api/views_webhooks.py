"""The outbound webhook API: subscriptions (admins change them; editors read them) and their
deliveries (editors read them and redeliver by hand). Thin views over triggers.services."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response

from mbflow_site.bodies import json_object, read_body
from triggers.api.webhook_shapes import (
    DeliveryDetailSerializer,
    DeliverySerializer,
    SubscriptionCreatedSerializer,
    SubscriptionSerializer,
    delivery_data,
    subscription_data,
)
from triggers.services.deliveries import deliveries_of, do_redeliver, get_delivery
from triggers.services.subscriptions import (
    SubscriptionChange,
    SubscriptionIn,
    do_change_subscription,
    do_create_subscription,
    do_delete_subscription,
    get_subscription,
    subscriptions_of,
)
from workflows.api.base import TenantView
from workflows.models import Role


class _WebhookView(TenantView):
    read_role = Role.EDITOR
    write_role = Role.ADMIN


class WebhookListView(_WebhookView):
    @extend_schema(responses=SubscriptionSerializer(many=True))
    def get(self, request: Request) -> Response:
        return self.paginate(request, subscriptions_of(self.caller().tenant), subscription_data)

    @extend_schema(request=SubscriptionIn, responses={201: SubscriptionCreatedSerializer})
    def post(self, request: Request) -> Response:
        subscription, secret = do_create_subscription(self.caller().tenant, read_body(SubscriptionIn, request.data))
        return Response({**subscription_data(subscription), "secret": secret}, status=status.HTTP_201_CREATED)


class WebhookDetailView(_WebhookView):
    @extend_schema(responses=SubscriptionSerializer)
    def get(self, request: Request, webhook_id: str) -> Response:
        return Response(subscription_data(get_subscription(self.caller().tenant, webhook_id)))

    @extend_schema(request=SubscriptionChange, responses=SubscriptionSerializer)
    def patch(self, request: Request, webhook_id: str) -> Response:
        subscription = get_subscription(self.caller().tenant, webhook_id)
        given = json_object(request.data)
        changes = read_body(SubscriptionChange, given)
        return Response(subscription_data(do_change_subscription(subscription, changes, set(given))))

    @extend_schema(responses={204: None})
    def delete(self, request: Request, webhook_id: str) -> Response:
        do_delete_subscription(get_subscription(self.caller().tenant, webhook_id))
        return Response(status=status.HTTP_204_NO_CONTENT)


FILTERS = [
    OpenApiParameter("status", str, description="pending, succeeded, failed (comma-separated)."),
    OpenApiParameter("event", str, description="Event names, comma-separated."),
    OpenApiParameter("execution", str, description="An execution's id."),
]


class DeliveryListView(_WebhookView):
    """The tenant's deliveries, newest first (``/webhooks/{id}/deliveries``: one webhook's)."""

    @extend_schema(parameters=[OpenApiParameter("webhook", str, description="A webhook's id."), *FILTERS],
                   responses=DeliverySerializer(many=True))
    def get(self, request: Request, webhook_id: str | None = None) -> Response:
        tenant = self.caller().tenant
        params = request.query_params
        if webhook_id is not None:
            get_subscription(tenant, webhook_id)
        deliveries = deliveries_of(tenant, subscription=webhook_id or params.get("webhook"),
                                   status=params.get("status"), event=params.get("event"),
                                   execution=params.get("execution"))
        return self.paginate(request, deliveries, delivery_data)


class WebhookDeliveryListView(DeliveryListView):
    """One webhook's deliveries (its own operation in the schema)."""

    @extend_schema(parameters=FILTERS, responses=DeliverySerializer(many=True),
                   operation_id="api_v1_webhook_deliveries_list")
    def get(self, request: Request, webhook_id: str | None = None) -> Response:
        return super().get(request, webhook_id)


class DeliveryDetailView(_WebhookView):
    @extend_schema(responses=DeliveryDetailSerializer)
    def get(self, request: Request, delivery_id: str) -> Response:
        return Response(delivery_data(get_delivery(self.caller().tenant, delivery_id), body=True))


class RedeliverView(_WebhookView):
    write_role = Role.EDITOR

    @extend_schema(request=None, responses={202: DeliveryDetailSerializer})
    def post(self, request: Request, delivery_id: str) -> Response:
        again = do_redeliver(get_delivery(self.caller().tenant, delivery_id))
        return Response(delivery_data(get_delivery(self.caller().tenant, again.pk), body=True),
                        status=status.HTTP_202_ACCEPTED)
