"""TMF635 usage in batches, and rejected usage for operations.

`POST /tmf-api/usageManagement/v4/usage` with a JSON array of Usage bodies (or NDJSON, one
Usage a line, `Content-Type: application/x-ndjson`) stores them through `usage_bulk_ingest` in
one transaction and answers per record, by index: `created` (status received, or rejected with
the reason), `replay` (the same eventId and content as a stored record: nothing new) or
`conflict` (the same eventId, different content: kept as a rejected `duplicateEventConflict`
record, never charged). 200 when every record is created chargeable or replayed, 207 otherwise.
A body that is not an array of Usage objects, or a value of the wrong JSON type, is a 400 naming
`<index>.<field>`, and nothing is stored; a value of the right type that does not read (a
volume `"lots"`, a date `"yesterday"`) is stored rejected (`invalidValue`). 413 above
settings.USAGE_BATCH_MAX records or DATA_UPLOAD_MAX_MEMORY_SIZE bytes.

`GET /api/v1/billing/rejectedUsage?reason=&receivedDate=YYYY-MM-DD` lists rejected records;
`POST /api/v1/billing/rejectedUsage/reprocess` with `{"reason", "receivedDate", "ids"}` (all
optional) guides the matching ones again (see `usage_reprocess`).
"""

import json
from datetime import date, datetime, time, timedelta

from django.conf import settings
from rest_framework import serializers, status
from rest_framework.decorators import action
from rest_framework.exceptions import ParseError, ValidationError
from rest_framework.parsers import BaseParser
from rest_framework.response import Response

from billing.choices import UsageIngestOutcome, UsageRejectionReason
from billing.selectors import rejected_usage_list
from billing.services.usage_bulk import (
    UsageBatchResult,
    UsageRow,
    usage_bulk_ingest,
    usage_reprocess,
    usage_row,
)
from telco import clock
from telco.api.errors import error_body
from telco.api.serializers import href_for
from telco.api.views import TMFViewSet
from telco.roles import FINANCE, NOC

# Characteristics read from a Usage body and the usage_row argument each fills.
CHARACTERISTICS = {
    "eventId": "event_id",
    "serviceId": "service_id",
    "volume": "volume",
    "unit": "unit",
    "ratingGroup": "rating_group",
    "destination": "destination",
    "calledNumber": "destination",
}


class NDJSONParser(BaseParser):
    """`application/x-ndjson`: one JSON object a line (blank lines skipped), as a list."""

    media_type = "application/x-ndjson"

    def parse(self, stream, media_type=None, parser_context=None):
        items = []
        for number, line in enumerate(stream.read().splitlines(), 1):
            if not line.strip():
                continue
            try:
                items.append(json.loads(line))
            except (ValueError, RecursionError) as error:
                raise ParseError(f"NDJSON parse error - line {number}: {error}") from None
        return items


def too_large(request) -> Response | None:
    """413 when the body is bigger than the server reads (before anything parses it)."""
    length = request.META.get("CONTENT_LENGTH") or "0"
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    if length.isdigit() and limit is not None and int(length) > limit:
        message = f"A body holds at most {limit} bytes; split the batch."
        body = error_body(413, "batchTooLarge", "Payload Too Large", message)
        return Response(body, status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE)
    return None


def _item_row(item, errors: dict, index: int) -> UsageRow | None:
    """One Usage body as a row; JSON type errors noted in `errors` as `<index>.<field>`."""

    def wrong(name: str, message: str) -> None:
        errors[f"{index}.{name}"] = [message]

    if not isinstance(item, dict):
        wrong("non_field_errors", "Must be a Usage object.")
        return None
    values = {}
    for name, argument in (("usageDate", "usage_date"), ("usageType", "usage_type")):
        value = item.get(name)
        if value is not None and not isinstance(value, str):
            wrong(name, "Must be a string.")
        values[argument] = value
    specification = item.get("usageSpecification")
    if specification is not None:
        if not isinstance(specification, dict) or not isinstance(
            specification.get("id"), str | int
        ):
            wrong("usageSpecification.id", "Must be an object with a string id.")
        else:
            values["usage_specification_id"] = specification["id"]
    characteristics = item.get("usageCharacteristic") or []
    if not isinstance(characteristics, list):
        wrong("usageCharacteristic", "Must be a list of {name, value}.")
        characteristics = []
    for characteristic in characteristics:
        if not isinstance(characteristic, dict) or not isinstance(characteristic.get("name"), str):
            wrong("usageCharacteristic", "Must be a list of {name, value}.")
            continue
        name, value = characteristic["name"], characteristic.get("value")
        argument = CHARACTERISTICS.get(name)
        if argument is None or value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            wrong(f"usageCharacteristic.{name}", "Must be a string or a number.")
        elif argument != "volume" and isinstance(value, float):
            wrong(f"usageCharacteristic.{name}", "Must be a string.")
        values[argument] = value
    if values.get("usage_type") is None:
        values.pop("usage_type", None)
    return usage_row(**values)


def batch_rows(items: list) -> list[UsageRow]:
    """Every item as a row, or ValidationError naming every wrong field (nothing stored)."""
    if not items:
        raise ValidationError({"non_field_errors": ["The batch holds no usage."]})
    errors: dict[str, list[str]] = {}
    rows = [_item_row(item, errors, index) for index, item in enumerate(items)]
    if errors:
        raise ValidationError(errors)
    return rows


def batch_response(request, items: list) -> Response:
    """Store the batch and answer each record (see the module)."""
    if len(items) > settings.USAGE_BATCH_MAX:
        message = f"A batch holds at most {settings.USAGE_BATCH_MAX} records; split it."
        body = error_body(413, "batchTooLarge", "Payload Too Large", message)
        return Response(body, status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE)
    result = usage_bulk_ingest(batch_rows(items), detail=True)
    return Response(
        batch_body(request, result),
        status=status.HTTP_207_MULTI_STATUS if result.rejected or result.conflicts else 200,
    )


def batch_body(request, result: UsageBatchResult) -> dict:
    base = href_for(request, "billing-api:usage-detail", 0).rsplit("/", 1)[0]
    results = []
    for answer in result.answers:
        entry = {"index": answer.index, "outcome": answer.outcome, "status": answer.status}
        if answer.usage_id is not None:
            entry.update(id=str(answer.usage_id), href=f"{base}/{answer.usage_id}")
        if answer.event_id:
            entry["eventId"] = answer.event_id
        if answer.outcome == UsageIngestOutcome.CONFLICT:
            entry["conflictUsage"] = {
                "id": str(answer.conflict_id),
                "href": f"{base}/{answer.conflict_id}",
            }
        if answer.reason:
            entry.update(reason=answer.reason, message=answer.message)
        results.append(entry)
    return {
        "received": result.received,
        "created": result.created,
        "rejected": result.rejected,
        "replays": result.replays,
        "conflicts": result.conflicts,
        "results": results,
    }


def received_day(raw: str) -> tuple[datetime, datetime]:
    """[start, end) of a `receivedDate` (YYYY-MM-DD, a UTC day); ValidationError otherwise."""
    try:
        day = date.fromisoformat(raw.strip())
    except ValueError:
        raise ValidationError({"receivedDate": ["Must be a date, YYYY-MM-DD."]}) from None
    start = datetime.combine(day, time.min, tzinfo=clock.now().tzinfo)
    return start, start + timedelta(days=1)


def _filter_received_date(queryset, raw: str):
    start, end = received_day(raw)
    return queryset.filter(received_at__gte=start, received_at__lt=end)


class RejectedUsageSerializer(serializers.Serializer):
    """A rejected usage record as operations see it."""

    def to_representation(self, instance):
        request = self.context["request"]
        body = {
            "id": str(instance.pk),
            "href": href_for(request, "billing-api:usage-detail", instance.pk),
            "eventId": instance.event_id or instance.reported_event_id,
            "serviceId": str(instance.service_id or instance.reported_service_id or ""),
            "usageDate": instance.usage_date.isoformat() if instance.usage_date else None,
            "volume": None if instance.volume is None else str(instance.volume),
            "unit": instance.unit,
            "ratingGroup": instance.rating_group,
            "rejectionReason": instance.rejection_reason,
            "rejectionMessage": instance.rejection_message,
            "receivedAt": instance.received_at.isoformat(),
            "@type": "RejectedUsage",
        }
        if instance.duplicate_of_id:
            body["duplicateOf"] = {
                "id": str(instance.duplicate_of_id),
                "href": href_for(request, "billing-api:usage-detail", instance.duplicate_of_id),
            }
        return body


class ReprocessSerializer(serializers.Serializer):
    reason = serializers.ChoiceField(choices=UsageRejectionReason.choices, required=False)
    receivedDate = serializers.CharField(required=False)
    ids = serializers.ListField(
        child=serializers.IntegerField(min_value=1), required=False, max_length=100_000
    )


class RejectedUsageViewSet(TMFViewSet):
    """Usage that will not be charged, with the reason, for finance and the NOC; `reprocess`
    guides the matching records again once their cause is fixed."""

    serializer_class = RejectedUsageSerializer
    read_roles = (FINANCE, NOC)
    write_roles = (FINANCE, NOC)
    filter_attributes = {
        "reason": "rejection_reason",
        "receivedDate": _filter_received_date,
        "eventId": "event_id",
        "serviceId": "reported_service_id",
    }

    def get_queryset(self):
        return rejected_usage_list()

    @action(detail=False, methods=["post"])
    def reprocess(self, request):
        serializer = ReprocessSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        since = until = None
        if data.get("receivedDate"):
            since, until = received_day(data["receivedDate"])
        result = usage_reprocess(
            reason=data.get("reason", ""),
            received_on=since,
            received_before=until,
            ids=data.get("ids"),
        )
        return Response(
            {
                "tried": result.tried,
                "charged": result.charged,
                "stillRejected": result.still_rejected,
            }
        )
