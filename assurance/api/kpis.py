"""KPI samples from element managers and collectors: `POST /api/v1/assurance/kpiSample`.

The body is a JSON array of samples (or CSV with a header row naming the same fields):

    [{"resource": "GNB-001", "metric": "prbUtilisation", "sampledAt": "2031-03-10T10:00:00Z",
      "value": 42.5}, {"service": "17", "metric": "latency", ...}]

`resource` is a resource's name or id, `service` a service's id (one of the two). The whole
array goes through `kpi_samples_ingest` as one batch: the good samples are stored (a sample
already stored counts as a duplicate), each refused one is answered by its index with the reason.
200 when none is refused, 207 when some are; 400 when the body is not an array of objects;
413 above settings.KPI_BATCH_MAX samples.
"""

import contextlib
import csv
import io
import math
from datetime import datetime

from django.conf import settings
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_serializer
from rest_framework import serializers, status
from rest_framework.exceptions import ParseError, ValidationError
from rest_framework.parsers import BaseParser
from rest_framework.response import Response
from rest_framework.views import APIView

from assurance.kpis.ingest import KpiRow, kpi_ingest_log, kpi_samples_ingest
from assurance.models import KpiMetric
from telco.api.errors import error_body
from telco.api.parsers import TMFJSONParser
from telco.roles import NOC, HasRole

FIELDS = ("resource", "service", "metric", "sampledAt", "value")


class KpiSampleCsvParser(BaseParser):
    """`text/csv` with a header row naming the JSON fields; empty cells are absent fields and
    values that read as numbers become numbers."""

    media_type = "text/csv"

    def parse(self, stream, media_type=None, parser_context=None):
        encoding = (parser_context or {}).get("encoding", "utf-8")
        try:
            text = stream.read().decode(encoding)
        except UnicodeDecodeError as error:
            raise ParseError(f"CSV parse error - {error}") from None
        reader = csv.DictReader(io.StringIO(text))
        header = reader.fieldnames or []
        if "metric" not in header or "sampledAt" not in header or "value" not in header:
            raise ParseError("CSV parse error - the header must name metric, sampledAt and value.")
        items = []
        try:
            for row in reader:
                item = {name: row[name] for name in FIELDS if row.get(name)}
                # A value that does not read as a number is refused by index like in JSON.
                with contextlib.suppress(ValueError, KeyError):
                    item["value"] = float(item["value"])
                items.append(item)
        except csv.Error as error:
            raise ParseError(f"CSV parse error - {error}") from None
        return items


def _reference(value, name: str) -> str | None:
    """A resource or service reference as text; None when absent."""
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise ValueError(f"{name} must be a name or an id")
    return str(value)


def sample_row(item: dict) -> KpiRow:
    """One JSON sample as an ingest row; ValueError with the reason when it cannot be one."""
    resource = _reference(item.get("resource"), "resource")
    service = _reference(item.get("service"), "service")
    metric = item.get("metric")
    if not isinstance(metric, str) or not metric:
        raise ValueError("metric is required")
    raw_time = item.get("sampledAt")
    if not isinstance(raw_time, str) or not raw_time:
        raise ValueError("sampledAt is required")
    try:
        sampled_at = datetime.fromisoformat(raw_time)
    except ValueError:
        raise ValueError(f"sampledAt '{raw_time}' is not an ISO 8601 time") from None
    if sampled_at.tzinfo is None:
        raise ValueError(f"sampledAt '{raw_time}' names no time zone")
    value = item.get("value")
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError("value must be a number")
    value = float(value)
    if not math.isfinite(value):
        raise ValueError("value must be a finite number")
    return (resource, service, metric, sampled_at, value)


class KpiSampleSerializer(serializers.Serializer):
    """A KPI sample as sent (describes the request; the view reads the items itself, so one
    bad sample is refused by index instead of failing the whole array)."""

    resource = serializers.CharField(
        required=False, help_text="The resource's name or id (or give service)."
    )
    service = serializers.CharField(required=False, help_text="The service's id.")
    metric = serializers.ChoiceField(choices=KpiMetric.choices)
    sampledAt = serializers.DateTimeField(help_text="ISO 8601 with a time zone.")
    value = serializers.FloatField()


class KpiRejectionAnswer(serializers.Serializer):
    """A refused sample: its index in the array and why."""

    index = serializers.IntegerField(read_only=True)
    reason = serializers.CharField(read_only=True)


@extend_schema_serializer(component_name="KpiSampleBatchResult")
class KpiIngestAnswer(serializers.Serializer):
    """What the batch did: samples received, stored, already stored, refused (by index), and
    the threshold alarms the stored ones raised or cleared."""

    received = serializers.IntegerField(read_only=True)
    stored = serializers.IntegerField(read_only=True)
    duplicates = serializers.IntegerField(read_only=True)
    rejectedCount = serializers.IntegerField(read_only=True)
    rejected = KpiRejectionAnswer(many=True, read_only=True)
    alarmsRaised = serializers.IntegerField(read_only=True)
    alarmsCleared = serializers.IntegerField(read_only=True)


@extend_schema(
    request={
        "application/json": KpiSampleSerializer(many=True),
        "text/csv": OpenApiTypes.STR,
    },
    responses={
        200: KpiIngestAnswer,
        207: OpenApiResponse(KpiIngestAnswer, description="Some samples were refused."),
    },
)
class KpiSampleIngestView(APIView):
    """A batch of KPI samples (a JSON array, or CSV with a header row) stored in one go: each
    names a resource (name or id) or a service (id), a metric, sampledAt and a value. Answers the
    counts stored, already stored and refused, each refused sample by index with its reason;
    200, or 207 when some were refused; 400 when the body is not an array of objects, 413 above
    the batch limit (settings.KPI_BATCH_MAX)."""

    permission_classes = [HasRole]
    parser_classes = [TMFJSONParser, KpiSampleCsvParser]
    # The network's feed: its own rate budget (settings.API_THROTTLE_RATES["ingest"]).
    throttle_scope = "ingest"
    write_roles = (NOC,)

    def post(self, request):
        items = request.data
        if not isinstance(items, list):
            raise ValidationError({"non_field_errors": ["Expected a JSON array of samples."]})
        if not items:
            raise ValidationError({"non_field_errors": ["The array holds no sample."]})
        if len(items) > settings.KPI_BATCH_MAX:
            message = f"A batch holds at most {settings.KPI_BATCH_MAX} samples; split it."
            body = error_body(413, "batchTooLarge", "Payload Too Large", message)
            return Response(body, status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE)
        not_objects = {
            index: ["Expected an object (a sample)."]
            for index, item in enumerate(items)
            if not isinstance(item, dict)
        }
        if not_objects:
            raise ValidationError(not_objects)
        rows, indexes, refused = [], [], []
        for index, item in enumerate(items):
            try:
                rows.append(sample_row(item))
            except ValueError as error:
                refused.append((index, str(error)))
            else:
                indexes.append(index)
        result = kpi_samples_ingest(rows, by=request.user.get_username(), log=False)
        # Positions in the ingested rows back to indexes in the array, with the unread ones.
        result.rejected = sorted(
            refused + [(indexes[position], reason) for position, reason in result.rejected]
        )
        result.received = len(items)
        kpi_ingest_log(result, by=request.user.get_username())
        answer = status.HTTP_207_MULTI_STATUS if result.rejected else status.HTTP_200_OK
        return Response(result.as_dict(), status=answer)
