"""Serializer base for TM Forum resources: `id`, `href`, `@type`, references, money."""

from django.urls import reverse
from rest_framework import serializers

from telco.money import as_tmf_money


def absolute_url(request, path: str) -> str:
    return request.build_absolute_uri(path) if request is not None else path


def href_for(request, url_name: str, pk) -> str:
    return absolute_url(request, reverse(url_name, kwargs={"pk": pk}))


def reference(request, obj, url_name: str, referred_type: str, name: str | None = None) -> dict:
    """A TMF EntityRef: id, href, name, @referredType."""
    if obj is None:
        return None
    return {
        "id": str(obj.pk),
        "href": href_for(request, url_name, obj.pk),
        "name": name if name is not None else str(obj),
        "@referredType": referred_type,
    }


class TMFSerializer(serializers.ModelSerializer):
    """Adds the server-generated `id`, `href` and `@type` to every representation.

    Subclasses set `tmf_type` and `url_name` (the detail route's name). Fields the client sends
    that are server-generated or polymorphism markers are ignored on input, as the spec says.
    """

    tmf_type = ""
    url_name = ""
    IGNORED_INPUT = ("id", "href", "@type", "@baseType", "@schemaLocation")

    @property
    def request(self):
        return self.context.get("request")

    def ref(self, obj, url_name: str, referred_type: str, name: str | None = None):
        return reference(self.request, obj, url_name, referred_type, name)

    def money(self, amount, currency):
        return as_tmf_money(amount, currency)

    def to_internal_value(self, data):
        if isinstance(data, dict):
            data = {k: v for k, v in data.items() if k not in self.IGNORED_INPUT}
        return super().to_internal_value(data)

    def to_representation(self, instance):
        body = super().to_representation(instance)
        return {
            "id": str(instance.pk),
            "href": href_for(self.request, self.url_name, instance.pk),
            **body,
            "@type": self.tmf_type,
        }


class NestedSerializer(serializers.Serializer):
    """A nested object, validated whole even inside a PATCH.

    DRF skips every missing field, and every default, once the root serializer is partial, nested
    ones included: `{"category": [{}]}` would reach the service without the ref's `id`. A nested
    object in a merge patch replaces the stored one, so it is validated as a complete object.
    """

    def to_internal_value(self, data):
        root = self.root
        partial = getattr(root, "partial", False)
        root.partial = False
        try:
            return super().to_internal_value(data)
        finally:
            root.partial = partial


class MoneySerializer(NestedSerializer):
    unit = serializers.CharField(min_length=3, max_length=3)
    value = serializers.DecimalField(max_digits=18, decimal_places=4)


class RefSerializer(NestedSerializer):
    """An incoming reference: only `id` is needed; the rest is informative."""

    id = serializers.CharField()
    href = serializers.CharField(required=False)
    name = serializers.CharField(required=False, allow_blank=True)

    def to_internal_value(self, data):
        value = super().to_internal_value(data)
        if isinstance(data, dict) and "@referredType" in data:
            value["referred_type"] = data["@referredType"]
        return value
