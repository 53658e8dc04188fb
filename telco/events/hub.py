"""`POST /tmf-api/<api>/v4/hub` and `DELETE /tmf-api/<api>/v4/hub/{id}` for every TMF API.

Whoever may read one of the API's resources may register a listener (admins always). The 201
answer carries the listener's `secret` once: every event posted to it is signed with it.
"""

from django.http import Http404
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.permissions import BasePermission
from rest_framework.response import Response
from rest_framework.views import APIView

from telco.events import services
from telco.events.delivery import is_enabled
from telco.events.registry import TmfApi, tmf_apis
from telco.roles import has_role


class HubInput(serializers.Serializer):
    callback = serializers.CharField(max_length=500, help_text="http(s) URL of the listener.")
    query = serializers.CharField(
        max_length=500,
        required=False,
        allow_blank=True,
        help_text="eventType=A[,B], state=s or event.<resource>.state=s, joined with &.",
    )


class HubAnswer(serializers.Serializer):
    id = serializers.CharField()
    callback = serializers.CharField()
    query = serializers.CharField()
    secret = serializers.CharField(help_text="Key of the X-Hub-Signature-256 HMAC; shown once.")


def the_api(name: str) -> TmfApi:
    api = tmf_apis().get(name)
    if api is None:
        raise Http404
    return api


class MayListen(BasePermission):
    message = "Your role may not read this API, so it may not listen to it."

    def has_permission(self, request, view):
        if not request.user or not request.user.is_authenticated:
            return False
        return has_role(request.user, *the_api(view.kwargs["api"]).read_roles)


def answer(listener, *, with_secret: bool) -> dict:
    body = {"id": str(listener.pk), "callback": listener.callback, "query": listener.query}
    if with_secret:
        body["secret"] = listener.secret
    return body


class HubView(APIView):
    """Register a listener of this API's events (TMF688 hub)."""

    permission_classes = [MayListen]

    @extend_schema(request=HubInput, responses={201: HubAnswer}, operation_id="hub_create")
    def post(self, request, api):
        tmf_api = the_api(api)
        data = HubInput(data=request.data)
        data.is_valid(raise_exception=True)
        listener = services.listener_register(
            api=tmf_api,
            callback=data.validated_data["callback"],
            query=data.validated_data.get("query", ""),
            owner=request.user,
        )
        headers = {"Location": request.build_absolute_uri(f"{tmf_api.base_path}hub/{listener.pk}")}
        if not is_enabled():
            # Embedded demo (SQLite): the listener is kept, but no trigger publishes events.
            headers["Warning"] = '199 - "events are published on PostgreSQL only"'
        return Response(
            answer(listener, with_secret=True), status=status.HTTP_201_CREATED, headers=headers
        )


class HubDetailView(APIView):
    """Remove a listener."""

    permission_classes = [MayListen]

    @extend_schema(responses={204: None}, operation_id="hub_delete")
    def delete(self, request, api, pk):
        services.listener_delete(api=the_api(api), listener_id=_as_id(pk))
        return Response(status=status.HTTP_204_NO_CONTENT)


def _as_id(raw: str) -> int:
    if not raw.isdigit() or len(raw) > 18:
        raise Http404
    return int(raw)
