"""OpenAPI schema fragments for representations built by hand in SerializerMethodFields.

TM Forum attribute names such as `@referredType` are not valid Python identifiers, so these are
plain OpenAPI (3.0) schema objects handed to `extend_schema_field`. They only describe the
shapes; nothing here takes part in (de)serialisation.
"""

from copy import deepcopy

from django.core.exceptions import FieldDoesNotExist
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

STRING = {"type": "string"}
DATE_TIME = {"type": "string", "format": "date-time"}
ANY = {}  # any JSON value


def obj(properties: dict, required: list[str] | None = None, nullable: bool = False) -> dict:
    """An object schema with the given properties."""
    schema = {"type": "object", "properties": deepcopy(properties)}
    if required:
        schema["required"] = list(required)
    if nullable:
        schema["nullable"] = True
    return schema


def array(items: dict) -> dict:
    return {"type": "array", "items": deepcopy(items)}


def nullable(schema: dict) -> dict:
    return {**deepcopy(schema), "nullable": True}


def extend(schema: dict, properties: dict, required: list[str] | None = None) -> dict:
    """`schema` with more properties (and required names)."""
    result = deepcopy(schema)
    result["properties"].update(deepcopy(properties))
    if required:
        result["required"] = [*result.get("required", []), *required]
    return result


def enum(values) -> dict:
    return {"type": "string", "enum": list(values)}


ENTITY_REF = obj(
    {"id": STRING, "href": STRING, "name": STRING, "@referredType": STRING},
    required=["id", "@referredType"],
)
RELATED_PARTY = extend(ENTITY_REF, {"role": STRING})
CHARACTERISTIC = obj({"name": STRING, "value": ANY}, required=["name", "value"])
MONEY = obj({"unit": STRING, "value": {"type": "number", "format": "double"}})
NOTE = obj({"text": STRING, "author": STRING, "@type": STRING})
# A reference that need not name its type (TMF642 AlarmRef, TMF678 BillRef).
REF = obj({"id": STRING, "href": STRING, "@referredType": STRING}, required=["id"])


def read_only_text(**kwargs) -> serializers.CharField:
    """A string an answer-only serializer describes."""
    return serializers.CharField(read_only=True, **kwargs)


def read_only_time(**kwargs) -> serializers.DateTimeField:
    """A date-time an answer-only serializer describes."""
    return serializers.DateTimeField(read_only=True, **kwargs)


def schema_field(schema: dict):
    """`@extend_schema_field` for a read-only method field returning `schema`."""
    return extend_schema_field(deepcopy(schema))


entity_ref_field = schema_field(ENTITY_REF)
nullable_entity_ref_field = schema_field(nullable(ENTITY_REF))
entity_ref_list_field = schema_field(array(ENTITY_REF))
related_party_list_field = schema_field(array(RELATED_PARTY))
characteristic_list_field = schema_field(array(CHARACTERISTIC))
note_list_field = schema_field(array(NOTE))


def described(schema: dict, **kwargs) -> serializers.Field:
    """A read-only field described as `schema`, for a serializer that only describes an answer
    built by hand (see `extend_schema(responses=...)`); it serialises nothing itself."""
    field_class = type("DescribedField", (serializers.ReadOnlyField,), {})
    return extend_schema_field(deepcopy(schema))(field_class)(**kwargs)


FIELDS_PARAMETER = {
    "name": "fields",
    "in": "query",
    "required": False,
    "schema": {"type": "string"},
    "description": (
        "Comma-separated first-level attributes to return; the answer then holds only `id`, "
        "`href` and those attributes."
    ),
}
ALWAYS_ANSWERED = ("id", "href")
# Every TMF representation carries these (TMFSerializer adds them outside the declared fields).
ENTITY_PROPERTIES = {"id": STRING, "href": STRING, "@type": STRING}


def _answered_objects(schema: dict, components: dict) -> set[str]:
    """Names of the object components a response schema answers (through lists and choices)."""
    names = set()
    pending, seen = [schema], set()
    while pending:
        current = pending.pop()
        if "$ref" in current:
            name = current["$ref"].rsplit("/", 1)[-1]
            if name in seen:
                continue
            seen.add(name)
            component = components.get(name, {})
            if component.get("type") == "object" or "properties" in component:
                names.add(name)
            else:
                pending.append(component)  # a list (PaginatedXList) or a oneOf of subtypes
        if "items" in current:
            pending.append(current["items"])
        for key in ("oneOf", "anyOf", "allOf"):
            pending.extend(current.get(key, []))
    return names


def describe_fields_selection(result, generator, request, public):
    """Postprocessing hook: the schema says what a TMF resource's GET answers.

    Every GET of a TMF resource (list and retrieve) takes `fields`, and then answers only `id`,
    `href` and the named attributes; so the representations such a GET answers require only
    `id` and `href` (the TM Forum specifications mark no response attribute required either).
    `id`, `href` and `@type`, which TMFSerializer adds to every representation, are described.
    """
    paths = result.get("paths", {})
    components = result.get("components", {}).get("schemas", {})
    answered = set()
    for path, operations in paths.items():
        operation = operations.get("get")
        if operation is None:
            continue
        parameters = operation.setdefault("parameters", [])
        if not any(p.get("name") == "fields" for p in parameters):
            # A retrieve takes `fields` when its collection does (TMFViewSet serves both).
            collection = paths.get(path.split("{id}")[0], {}).get("get", {})
            if "{id}" not in path or not any(
                p.get("name") == "fields" for p in collection.get("parameters", [])
            ):
                continue
            parameters.append(deepcopy(FIELDS_PARAMETER))
        for content in operation.get("responses", {}).get("200", {}).get("content", {}).values():
            answered |= _answered_objects(content.get("schema", {}), components)
    for name in answered:
        component = components[name]
        properties = component.setdefault("properties", {})
        if "id" not in properties:  # a TMFSerializer's: id, href and @type are added outside
            properties.update(deepcopy(ENTITY_PROPERTIES))
        component["required"] = [field for field in ALWAYS_ANSWERED if field in properties]
    return result


def _column_is_nullable(field) -> bool:
    """Whether a serializer field reads a model column that may hold NULL."""
    model = getattr(getattr(field.parent, "Meta", None), "model", None)
    source = getattr(field, "source", "")
    if model is None or not source or "." in source or source == "*":
        return False
    try:
        column = model._meta.get_field(source)
    except FieldDoesNotExist:
        return False
    return bool(getattr(column, "null", False)) and not column.many_to_many


class TMFAutoSchema(AutoSchema):
    """Answers say `nullable` where the column is, even when the input refuses null.

    An order's `completionDate` or a product's `terminationDate` is null until it happens;
    the field need not accept null from a client for the answer to hold one.
    """

    def _get_serializer_field_meta(self, field, direction):
        meta = super()._get_serializer_field_meta(field, direction)
        if direction == "response" and "nullable" not in meta and _column_is_nullable(field):
            meta["nullable"] = True
        return meta
