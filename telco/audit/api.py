"""`GET /api/v1/audit`: the audit trail, queryable.

    ?model=billing.CustomerBill (or customerBill)  &objectId=12 (needs model)
    &user=<username>  &since=<ISO 8601 instant>  &offset=&limit= (X-Total-Count)

Admins read every model; finance reads the money models (accounts, prices, bills, payments,
revenue-assurance cases), and only those when no model is named. Newest first.
"""

from django.contrib.auth import get_user_model
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.exceptions import PermissionDenied
from rest_framework.response import Response
from rest_framework.views import APIView

from telco.api.pagination import TMFPagination
from telco.api.views import select_fields
from telco.audit import selectors
from telco.ids import BIGINT_MAX
from telco.roles import ADMIN, FINANCE, HasRole, has_role

KNOWN_PARAMETERS = {"model", "objectId", "user", "since", "offset", "limit", "fields"}


class AuditQuerySerializer(serializers.Serializer):
    model = serializers.CharField(required=False, max_length=80)
    objectId = serializers.IntegerField(required=False, min_value=1, max_value=BIGINT_MAX)
    user = serializers.CharField(required=False, max_length=150)
    since = serializers.DateTimeField(required=False)

    def validate_model(self, value):
        event_model = selectors.event_model_named(value)
        if event_model is None:
            known = ", ".join(sorted(selectors.event_models()))
            raise serializers.ValidationError(f"'{value}' is not audited; audited: {known}.")
        return event_model

    def validate(self, attrs):
        if "objectId" in attrs and "model" not in attrs:
            raise serializers.ValidationError({"objectId": "Name the model too (model=...)."})
        return attrs


class ChangeSerializer(serializers.Serializer):
    field = serializers.CharField()
    before = serializers.JSONField()
    after = serializers.JSONField()


class AuditEventSerializer(serializers.Serializer):
    id = serializers.CharField()
    model = serializers.CharField()
    objectId = serializers.CharField(source="object_id")
    action = serializers.CharField(help_text="insert, update or delete")
    at = serializers.DateTimeField()
    user = serializers.CharField(help_text="Username; empty when no user made it (a task).")
    source = serializers.CharField(help_text="api, admin, page, task, command or database")
    context = serializers.JSONField(help_text="url, method, task or command, user id")
    changes = ChangeSerializer(many=True, help_text="Each changed field: before and after.")
    values = serializers.JSONField(help_text="The recorded fields after the change.")


class AuditEventsView(APIView):
    """Who changed what, when and from where (admins; finance for the money models)."""

    permission_classes = [HasRole]
    read_roles = (FINANCE,)
    pagination_class = TMFPagination

    @extend_schema(
        parameters=[
            OpenApiParameter("model", str, description="Tracked model, e.g. billing.CustomerBill"),
            OpenApiParameter("objectId", int, description="The object's id (with model)"),
            OpenApiParameter("user", str, description="Username of who made the change"),
            OpenApiParameter("since", str, description="ISO 8601 instant, inclusive"),
            OpenApiParameter("offset", int),
            OpenApiParameter("limit", int),
            OpenApiParameter("fields", str, description="Comma-separated attributes to return"),
        ],
        responses=AuditEventSerializer(many=True),
    )
    def get(self, request):
        unknown = sorted(set(request.query_params) - KNOWN_PARAMETERS)
        if unknown:
            raise serializers.ValidationError({name: "Unknown filter." for name in unknown})
        query = AuditQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        wanted = query.validated_data
        everything = selectors.event_models()
        if has_role(request.user, ADMIN):
            allowed = everything
        else:
            allowed = {k: v for k, v in everything.items() if k in selectors.MONEY_MODELS}
        if "model" in wanted:
            label = wanted["model"].pgh_tracked_model._meta.label_lower
            if label not in allowed:
                raise PermissionDenied(f"Your role does not allow reading the audit of {label}.")
            chosen = [wanted["model"]]
        else:
            chosen = list(allowed.values())
        if not selectors.recorded():  # SQLite (the embedded demo) records no trail
            return Response([], headers={"X-Total-Count": "0", "X-Result-Count": "0"})
        user_id = None
        if "user" in wanted:
            user_id = (
                get_user_model()
                .objects.filter(username=wanted["user"])
                .values_list("pk", flat=True)
                .first()
            ) or 0
        rows = selectors.events(
            event_model_list=chosen,
            object_ids=[wanted["objectId"]] if "objectId" in wanted else None,
            user_id=user_id,
            since=wanted.get("since"),
        )
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(rows, request, view=self)
        data = AuditEventSerializer(selectors.as_audit_events(page), many=True).data
        fields = [name.strip() for name in request.query_params.get("fields", "").split(",")]
        if any(fields):
            data = [select_fields(item, [name for name in fields if name]) for item in data]
        return paginator.get_paginated_response(data)
