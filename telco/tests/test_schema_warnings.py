"""The OpenAPI schema describes every field: drf-spectacular has nothing to guess."""

from drf_spectacular.drainage import GENERATOR_STATS
from drf_spectacular.generators import SchemaGenerator


def _generate() -> tuple[dict, list[str], list[str]]:
    GENERATOR_STATS.reset()
    try:
        schema = SchemaGenerator().get_schema(request=None, public=True)
        return schema, list(GENERATOR_STATS._warn_cache), list(GENERATOR_STATS._error_cache)
    finally:
        GENERATOR_STATS.reset()


def test_schema_generates_without_warnings_or_errors():
    schema, warnings, errors = _generate()

    assert errors == []
    assert warnings == []
    assert schema["paths"]


def test_method_fields_are_described_not_defaulted_to_string():
    schema, _, _ = _generate()
    components = schema["components"]["schemas"]

    product = components["Product"]["properties"]
    assert product["productOffering"]["properties"]["@referredType"] == {"type": "string"}
    assert product["realizingService"]["type"] == "array"
    order = components["ProductOrder"]["properties"]
    assert order["state"] == {"$ref": "#/components/schemas/OrderStateEnum"}
    assert order["productOrderItem"]["items"]["properties"]["productOffering"]["type"] == "object"
    assert components["CancelProductOrder"]["properties"]["state"] == {
        "$ref": "#/components/schemas/TaskStateEnum"
    }
