"""TMF666 BillStructure: the bill cycle, format and presentation media an account names, as
references to the rows served at `/billingCycleSpecification`, `/billFormat` and
`/billPresentationMedia`.

On input each is a BillingCycleSpecification/BillFormat/BillPresentationMediaRefOrValue: the
row is found by `id`, else by `name`; a cycle given only by its `billingDateShift` is the
standard monthly cycle of that day. A value that names no row is refused (the server does not
create reference rows inline). On output each is a reference with `isRef: true`.
"""

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from crm.choices import FIRST_BILL_CYCLE_DAY, LAST_BILL_CYCLE_DAY, cycle_specification_name
from crm.models import BillFormat, BillingCycleSpecification, BillPresentationMedia
from telco.api.schema import STRING, array, nullable, obj
from telco.api.serializers import href_for
from telco.selectors import row_with_id

CYCLE_SPECIFICATION = "crm-api:billingCycleSpecification-detail"
BILL_FORMAT = "crm-api:billFormat-detail"
PRESENTATION_MEDIA = "crm-api:billPresentationMedia-detail"

REF_OR_VALUE = obj(
    {
        "id": STRING,
        "href": STRING,
        "name": STRING,
        "isRef": {"type": "boolean"},
        "@referredType": STRING,
    },
    required=["name", "isRef"],
)
CYCLE_REF_OR_VALUE = obj(
    {**REF_OR_VALUE["properties"], "billingDateShift": {"type": "integer"}},
    required=["name", "isRef"],
)
BILL_STRUCTURE = obj(
    {
        "cycleSpecification": CYCLE_REF_OR_VALUE,
        "format": nullable(REF_OR_VALUE),
        "presentationMedia": array(REF_OR_VALUE),
    }
)


def bill_cycle_day_field(**kwargs) -> serializers.IntegerField:
    """A bill cycle day (`billCycleDay`, `billingDateShift`): the days of `crm.choices`."""
    return serializers.IntegerField(
        min_value=FIRST_BILL_CYCLE_DAY, max_value=LAST_BILL_CYCLE_DAY, **kwargs
    )


class ReferenceField(serializers.Field):
    """A RefOrValue naming one row of `model` by `id` or `name`."""

    model = None
    label = ""

    def find(self, data: dict):
        if data.get("id") not in (None, ""):
            row = row_with_id(self.model.objects, data["id"])
            if row is None:
                raise serializers.ValidationError(
                    {"id": f"{self.label} '{data['id']}' does not exist."}
                )
            return row
        name = data.get("name")
        if isinstance(name, str) and "\x00" in name:
            raise serializers.ValidationError({"name": "A name cannot contain a NUL character."})
        if isinstance(name, str) and name.strip():
            row = self.model.objects.filter(name=name.strip()).first()
            if row is None:
                raise serializers.ValidationError({"name": f"No {self.label} is named '{name}'."})
            return row
        return None

    def to_internal_value(self, data):
        if not isinstance(data, dict):
            raise serializers.ValidationError("A reference is a JSON object with an id or name.")
        row = self.find(data)
        if row is None:
            raise serializers.ValidationError({"id": "An id or a name is required."})
        return row

    def to_representation(self, value):
        return value


@extend_schema_field(REF_OR_VALUE)
class BillFormatField(ReferenceField):
    model = BillFormat
    label = "BillFormat"


@extend_schema_field(REF_OR_VALUE)
class PresentationMediaField(ReferenceField):
    model = BillPresentationMedia
    label = "BillPresentationMedia"


@extend_schema_field(CYCLE_REF_OR_VALUE)
class CycleSpecificationField(ReferenceField):
    """A cycle by id or name, or only `{"billingDateShift": 15}`: then the day (an int), which
    the service turns into the standard cycle of that day."""

    model = BillingCycleSpecification
    label = "BillingCycleSpecification"

    def to_internal_value(self, data):
        if not isinstance(data, dict):
            raise serializers.ValidationError("A reference is a JSON object with an id or name.")
        row = self.find(data)
        if row is not None:
            return row
        day = bill_cycle_day_field()
        if "billingDateShift" not in data:
            raise serializers.ValidationError(
                {"id": "An id, a name or a billingDateShift is required."}
            )
        try:
            return day.run_validation(data["billingDateShift"])
        except serializers.ValidationError as error:
            raise serializers.ValidationError({"billingDateShift": error.detail}) from None


class BillStructureSerializer(serializers.Serializer):
    """Input of a BillStructure; only the attributes given change (merge patch)."""

    cycleSpecification = CycleSpecificationField(required=False)
    format = BillFormatField(required=False, allow_null=True)
    presentationMedia = serializers.ListField(child=PresentationMediaField(), required=False)

    def to_internal_value(self, data):
        attrs = super().to_internal_value(data)
        changes = {}
        if "cycleSpecification" in attrs:
            cycle = attrs["cycleSpecification"]
            key = "bill_cycle_day" if isinstance(cycle, int) else "cycle_specification"
            changes[key] = cycle
        if "format" in attrs:
            changes["bill_format"] = attrs["format"]
        if "presentationMedia" in attrs:
            # Once each (the representation lists them by id).
            changes["presentation_media"] = list(dict.fromkeys(attrs["presentationMedia"]))
        return changes


def _reference(request, row, url_name: str, referred_type: str, **extra) -> dict:
    return {
        "id": str(row.pk),
        "href": href_for(request, url_name, row.pk),
        "name": row.name,
        **extra,
        "isRef": True,
        "@referredType": referred_type,
    }


def cycle_reference(request, specification, day: int) -> dict:
    """The account's cycle; an account loaded without one shows its day as a value."""
    if specification is None:
        return {"name": cycle_specification_name(day), "billingDateShift": day, "isRef": False}
    return _reference(
        request,
        specification,
        CYCLE_SPECIFICATION,
        "BillingCycleSpecification",
        billingDateShift=specification.billing_date_shift,
    )


def bill_structure_representation(request, account, day: int | None = None) -> dict:
    """`billStructure` of a billing, party or settlement account (with its cycle, format and
    media selected or prefetched). `day` is a billing account's `bill_cycle_day`."""
    body = {}
    specification = account.cycle_specification
    if specification is not None or day is not None:
        body["cycleSpecification"] = cycle_reference(request, specification, day)
    if account.bill_format is not None:
        body["format"] = _reference(request, account.bill_format, BILL_FORMAT, "BillFormat")
    body["presentationMedia"] = [
        _reference(request, media, PRESENTATION_MEDIA, "BillPresentationMedia")
        for media in account.presentation_media.all()
    ]
    return body
