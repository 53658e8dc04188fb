from rest_framework.exceptions import ValidationError
from rest_framework.pagination import BasePagination
from rest_framework.response import Response

from telco.ids import BIGINT_MAX

MAX_LIMIT = 1000


def _non_negative_int(request, name: str, default: int) -> int:
    raw = request.query_params.get(name)
    if raw in (None, ""):
        return default
    if raw.startswith("-") and raw[1:].isascii() and raw[1:].isdigit():
        raise ValidationError({name: "Must be zero or more."})
    # ASCII digits only: int() would also read "٣" or "1_000".
    if not (raw.isascii() and raw.isdigit()):
        raise ValidationError({name: f"'{raw}' is not a whole number."})
    if len(raw) > len(str(BIGINT_MAX)) or int(raw) > BIGINT_MAX:
        raise ValidationError({name: f"Must be at most {BIGINT_MAX}."})
    return int(raw)


class TMFPagination(BasePagination):
    """`offset`/`limit`; the body stays a bare array, the counts travel in headers."""

    default_limit = 100

    def paginate_queryset(self, queryset, request, view=None):
        self.offset = _non_negative_int(request, "offset", 0)
        self.limit = min(_non_negative_int(request, "limit", self.default_limit), MAX_LIMIT)
        self.total = queryset.count()
        # Past the end there is nothing to read (and offset + limit may not fit in a bigint).
        past_end = self.offset > 0 and self.offset >= self.total
        self.page = [] if past_end else list(queryset[self.offset : self.offset + self.limit])
        return self.page

    def get_paginated_response(self, data):
        return Response(
            data,
            headers={"X-Total-Count": str(self.total), "X-Result-Count": str(len(data))},
        )

    def get_paginated_response_schema(self, schema):
        return schema

    def get_schema_operation_parameters(self, view):
        return [
            {"name": "offset", "in": "query", "required": False, "schema": {"type": "integer"}},
            {"name": "limit", "in": "query", "required": False, "schema": {"type": "integer"}},
            {
                "name": "fields",
                "in": "query",
                "required": False,
                "schema": {"type": "string"},
                "description": "Comma-separated first-level attributes to return.",
            },
        ]
