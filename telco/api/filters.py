"""TM Forum attribute filtering: `?state=completed`, `?state=a,b` (OR), `?orderDate.gte=...`.

`id` and `href` filter every collection without the view declaring them (TMF630).
"""

import re
from datetime import UTC, datetime
from decimal import Decimal
from urllib.parse import unquote, urlsplit

from django.core.exceptions import FieldDoesNotExist
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import connection
from django.db.models import BooleanField, DecimalField, IntegerField, Model
from django.urls import Resolver404, resolve
from rest_framework.exceptions import ValidationError
from rest_framework.filters import BaseFilterBackend

from telco.ids import parse_id

RESERVED_PARAMETERS = {"fields", "offset", "limit", "sort", "format", "depth", "expand"}
RANGE_OPERATORS = {"gt", "gte", "lt", "lte"}
_ASCII_INTEGER = re.compile(r"[+-]?[0-9]+")


def _model_field(model: type[Model], path: str):
    field = None
    for part in path.split("__"):
        field = model._meta.get_field(part)
        if field.is_relation and field.related_model is not None:
            model = field.related_model
    if field.is_relation:
        field = field.target_field if hasattr(field, "target_field") else model._meta.pk
    return field


def _parse(field, value: str):
    """The value as the column holds it; a DjangoValidationError when the column cannot."""
    # PostgreSQL refuses NUL in text, and no column of ours holds one.
    if "\x00" in value:
        raise DjangoValidationError("A filter value cannot contain a NUL character.")
    # JSON spells booleans true/false, which Django's BooleanField.to_python does not accept.
    if isinstance(field, BooleanField) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    if isinstance(field, IntegerField) and not _ASCII_INTEGER.fullmatch(value):
        raise DjangoValidationError(f"'{value}' is not a whole number.")
    try:
        parsed = field.to_python(value)
    except (ValueError, TypeError, OverflowError):
        raise DjangoValidationError(f"'{value}' is not a valid value.") from None
    _check_fits(field, parsed)
    return parsed


def _check_fits(field, value) -> None:
    """Refuse a value the column could never hold: the database would fail, not find nothing."""
    if isinstance(field, IntegerField) and value is not None:
        low, high = connection.ops.integer_field_range(field.get_internal_type())
        if (low is not None and value < low) or (high is not None and value > high):
            raise DjangoValidationError(f"{value} is out of range ({low} to {high}).")
    elif isinstance(field, DecimalField) and isinstance(value, Decimal):
        digits = field.max_digits - field.decimal_places
        if value.is_finite() and value != 0 and value.adjusted() >= digits:
            raise DjangoValidationError(f"At most {digits} digits before the decimal point.")
    elif isinstance(value, datetime):
        try:
            value.astimezone(UTC)  # what the database stores; years 1 and 9999 can overflow
        except (OverflowError, ValueError):
            raise DjangoValidationError(f"'{value}' is out of range.") from None


def parse_pk(model: type[Model], raw) -> int | str | None:
    """`raw` as a primary key of `model`, or None when it cannot be one (never an error)."""
    pk_field = model._meta.pk
    if isinstance(pk_field, IntegerField):
        return parse_id(raw)
    text = str(raw)
    max_length = getattr(pk_field, "max_length", None)
    if "\x00" in text or not text or (max_length and len(text) > max_length):
        return None
    return text


def _ids_from(parameter: str, raw: str, queryset, view) -> set:
    """The ids named by `?id=` or `?href=`; a value that names no row of this view is dropped
    (an unknown or malformed id filters to nothing, it is not an error)."""
    ids = set()
    for value in raw.split(","):
        value = value.strip()
        if parameter == "href":
            value = _id_in_href(value, view)
        pk = parse_pk(queryset.model, value) if value is not None else None
        if pk is not None:
            ids.add(pk)
    return ids


def _id_in_href(href: str, view) -> str | None:
    """The id in an href (full URL or path) of this view's detail route, else None."""
    if "\x00" in href:
        return None
    try:
        match = resolve(unquote(urlsplit(href).path))
    except (Resolver404, ValueError):
        return None
    if getattr(match.func, "cls", None) is not type(view):
        return None
    return match.kwargs.get(getattr(view, "lookup_url_kwarg", None) or view.lookup_field)


class TMFAttributeFilter(BaseFilterBackend):
    """Filter on the attributes a view declares in `filter_attributes` ({tmf name: ORM path}),
    and on `id` and `href`, which every TMF resource has.

    Exact match, comma for OR, AND across parameters, `.gt/.gte/.lt/.lte` for ranges. Values go
    through the model field's own parser, so the string the server returned filters as itself;
    a value the column could never hold is a 400 naming the parameter.
    """

    def filter_queryset(self, request, queryset, view):
        attributes = getattr(view, "filter_attributes", {})
        conditions = {}
        crosses_many = False
        for parameter, raw in request.query_params.items():
            if parameter in RESERVED_PARAMETERS or parameter.startswith("_"):
                continue
            if parameter in ("id", "href"):
                ids = _ids_from(parameter, raw, queryset, view)
                if "pk__in" in conditions:
                    ids &= conditions["pk__in"]  # `?id=...&href=...`: AND, as any two filters
                conditions["pk__in"] = ids
                continue
            attribute, operator = parameter, ""
            head, _, tail = parameter.rpartition(".")
            if head and tail in RANGE_OPERATORS:
                attribute, operator = head, tail
            path = attributes.get(attribute)
            if path is None:
                raise ValidationError({parameter: f"'{attribute}' is not a filterable attribute."})
            if callable(path):
                # An attribute the representation derives (no column): the view's function
                # filters `queryset` by the raw value, or raises ValidationError naming it.
                queryset = path(queryset, raw)
                continue
            try:
                field = _model_field(queryset.model, path)
            except FieldDoesNotExist:  # a mistake in the view's map, not the client's
                raise
            crosses_many = crosses_many or "__" in path
            try:
                values = [_parse(field, value) for value in raw.split(",")]
            except DjangoValidationError as error:
                raise ValidationError({parameter: error.messages}) from None
            if operator:
                conditions[f"{path}__{operator}"] = values[0]
            elif len(values) > 1:
                conditions[f"{path}__in"] = values
            else:
                conditions[path] = values[0]
        if conditions.get("pk__in") == set():
            return queryset.none()
        if not conditions:
            return queryset
        queryset = queryset.filter(**conditions)
        return queryset.distinct() if crosses_many else queryset
