"""TM Forum attribute filtering: `?state=completed`, `?state=a,b` (OR), `?orderDate.gte=...`."""

from django.core.exceptions import FieldDoesNotExist
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import BooleanField, Model
from rest_framework.exceptions import ValidationError
from rest_framework.filters import BaseFilterBackend

RESERVED_PARAMETERS = {"fields", "offset", "limit", "sort", "format", "depth", "expand"}
RANGE_OPERATORS = {"gt", "gte", "lt", "lte"}


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
    # JSON spells booleans true/false, which Django's BooleanField.to_python does not accept.
    if isinstance(field, BooleanField) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    return field.to_python(value)


class TMFAttributeFilter(BaseFilterBackend):
    """Filter on the attributes a view declares in `filter_attributes` ({tmf name: ORM path}).

    Exact match, comma for OR, AND across parameters, `.gt/.gte/.lt/.lte` for ranges. Values go
    through the model field's own parser, so the string the server returned filters as itself.
    """

    def filter_queryset(self, request, queryset, view):
        attributes = getattr(view, "filter_attributes", {})
        conditions = {}
        crosses_many = False
        for parameter, raw in request.query_params.items():
            if parameter in RESERVED_PARAMETERS or parameter.startswith("_"):
                continue
            attribute, operator = parameter, ""
            head, _, tail = parameter.rpartition(".")
            if head and tail in RANGE_OPERATORS:
                attribute, operator = head, tail
            path = attributes.get(attribute)
            if path is None:
                raise ValidationError({parameter: f"'{attribute}' is not a filterable attribute."})
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
        if not conditions:
            return queryset
        queryset = queryset.filter(**conditions)
        return queryset.distinct() if crosses_many else queryset
