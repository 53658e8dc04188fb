"""The base of every TM Forum resource endpoint (see shared/tmf/CONFORMANCE.md)."""

from django.db import transaction
from django.http import Http404
from rest_framework import mixins, status, viewsets
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response
from rest_framework.routers import SimpleRouter

from telco.api import idempotency
from telco.api.filters import parse_pk


class TMFRouter(SimpleRouter):
    """Routes that answer with and without a trailing slash, never by redirect."""

    def __init__(self):
        super().__init__()
        # Set after __init__: DRF turns any truthy `trailing_slash` argument into "/".
        self.trailing_slash = "/?"


def select_fields(body: dict, fields: list[str]) -> dict:
    """`?fields=a,b`: only id, href and the named first-level attributes."""
    keep = {"id", "href", *fields}
    return {key: value for key, value in body.items() if key in keep}


class TMFViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Read side of a TMF resource: bare-array lists with counts, `?fields=`, attribute filters.

    Subclasses set `queryset` (via a selector), `serializer_class`, `filter_attributes`,
    `read_roles` and `write_roles`. Writes are opted into with `TMFCreateMixin`,
    `TMFPatchMixin` and `TMFDeleteMixin`.
    """

    lookup_value_regex = "[^/]+"
    filter_attributes: dict[str, str] = {}
    read_roles: tuple[str, ...] = ()
    write_roles: tuple[str, ...] = ()

    def requested_fields(self) -> list[str]:
        raw = self.request.query_params.get("fields", "")
        return [name.strip() for name in raw.split(",") if name.strip()]

    def finalize_response(self, request, response, *args, **kwargs):
        fields = self.requested_fields() if request.method == "GET" else []
        if fields and response.status_code == 200 and response.data is not None:
            if isinstance(response.data, list):
                response.data = [select_fields(item, fields) for item in response.data]
            elif isinstance(response.data, dict):
                response.data = select_fields(response.data, fields)
        return super().finalize_response(request, response, *args, **kwargs)

    def get_object(self):
        # An id no row can have ("²", beyond bigint, a NUL byte) is simply unknown: 404, not
        # the 500 the database would answer.
        raw = self.kwargs.get(self.lookup_url_kwarg or self.lookup_field, "")
        if parse_pk(self.get_queryset().model, raw) is None:
            raise Http404
        return super().get_object()


class TMFCreateMixin:
    """`POST`: 201 with the created resource and `Location` equal to its href.

    The view implements `perform_tmf_create(serializer) -> instance`, which calls one service.
    A service that recognises a repeat (same correlator, same active alarm) returns the stored
    row and the view sets `self.created = False`: the answer is then 200, with nothing new.
    A repeated `Idempotency-Key` from the same user on the same path replays the first answer,
    even when the twins arrive at once (see telco.api.idempotency).
    """

    created = True

    def create(self, request, *args, **kwargs):
        key = idempotency.request_key(request)
        if not key or not request.user.is_authenticated:
            return self._create(request)
        fingerprint = idempotency.request_fingerprint(request.data)
        # `/payment` and `/payment/` are one resource, so one key.
        path = request.path.rstrip("/")
        claimed, is_mine = idempotency.claim(
            user=request.user, path=path, key=key, fingerprint=fingerprint
        )
        if not is_mine:
            return idempotency.replay(claimed)
        try:
            # The work and its stored answer commit together: never one without the other.
            with transaction.atomic():
                response = self._create(request)
                idempotency.complete(claimed, response)
        except BaseException:
            idempotency.release(claimed)
            raise
        return response

    def _create(self, request):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        instance = self.perform_tmf_create(serializer)
        instance = self.get_queryset().get(pk=instance.pk)
        body = self.get_serializer(instance).data
        location = body.get("href", "")
        answer = status.HTTP_201_CREATED if self.created else status.HTTP_200_OK
        return Response(body, status=answer, headers={"Location": location})

    def perform_tmf_create(self, serializer):
        raise NotImplementedError


class TMFPatchMixin:
    """`PATCH` as JSON merge patch: only `patchable_fields` may change; 200 with the resource."""

    patchable_fields: tuple[str, ...] = ()

    def partial_update(self, request, *args, **kwargs):
        instance = self.get_object()
        if not isinstance(request.data, dict):
            raise ValidationError({"non_field_errors": ["A merge patch body is a JSON object."]})
        refused = sorted(set(request.data) - set(self.patchable_fields))
        if refused:
            raise ValidationError(
                {name: ["This attribute cannot be changed with PATCH."] for name in refused}
            )
        serializer = self.get_serializer(instance, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        instance = self.perform_tmf_patch(instance, serializer)
        instance = self.get_queryset().get(pk=instance.pk)
        return Response(self.get_serializer(instance).data)

    def perform_tmf_patch(self, instance, serializer):
        raise NotImplementedError


class TMFDeleteMixin:
    """`DELETE`: 204, then 404. The view implements `perform_tmf_delete(instance)`."""

    def destroy(self, request, *args, **kwargs):
        self.perform_tmf_delete(self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)

    def perform_tmf_delete(self, instance):
        raise NotImplementedError
