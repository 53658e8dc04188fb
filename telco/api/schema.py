"""OpenAPI schema fragments for representations built by hand in SerializerMethodFields.

TM Forum attribute names such as `@referredType` are not valid Python identifiers, so these are
plain OpenAPI (3.0) schema objects handed to `extend_schema_field`. They only describe the
shapes; nothing here takes part in (de)serialisation.
"""

from copy import deepcopy

from drf_spectacular.utils import extend_schema_field

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


def schema_field(schema: dict):
    """`@extend_schema_field` for a read-only method field returning `schema`."""
    return extend_schema_field(deepcopy(schema))


entity_ref_field = schema_field(ENTITY_REF)
nullable_entity_ref_field = schema_field(nullable(ENTITY_REF))
entity_ref_list_field = schema_field(array(ENTITY_REF))
related_party_list_field = schema_field(array(RELATED_PARTY))
characteristic_list_field = schema_field(array(CHARACTERISTIC))
note_list_field = schema_field(array(NOTE))
