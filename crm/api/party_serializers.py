"""TMF632 Individual and Organization, and TMF629 Customer."""

from rest_framework import serializers

from crm.api.tmf_common import (
    BILLING_ACCOUNT,
    CUSTOMER,
    INDIVIDUAL,
    ORGANIZATION,
    ContactMediumSerializer,
    TimePeriodSerializer,
    contact_media,
    party_from_ref,
    party_ref,
    period_fields,
    tmf_datetime,
    with_valid_for,
)
from crm.choices import CustomerStatus, IdentificationType, Segment
from crm.models import CreditProfile, Customer, Party, PartyIdentification
from crm.permissions import may_see_personal_data
from telco.api.serializers import RefSerializer, TMFSerializer


class IdentificationSerializer(serializers.Serializer):
    """TMF632 Individual/OrganizationIdentification; `issuingCountry` (ISO 3166 alpha-2) is an
    extension: a document is unique per type, number, issuing authority and country."""

    identificationType = serializers.ChoiceField(choices=IdentificationType.choices)
    identificationId = serializers.CharField(max_length=64)
    issuingAuthority = serializers.CharField(max_length=120, required=False, allow_blank=True)
    issuingCountry = serializers.CharField(max_length=2, required=False, allow_blank=True)
    issuingDate = serializers.DateField(required=False, allow_null=True)
    validFor = TimePeriodSerializer(required=False)

    def to_internal_value(self, data):
        attrs = super().to_internal_value(data)
        return {
            "identification_type": attrs.get("identificationType", ""),
            "identification_id": attrs.get("identificationId", ""),
            "issuing_authority": attrs.get("issuingAuthority", ""),
            "issuing_country": attrs.get("issuingCountry", ""),
            "issuing_date": attrs.get("issuingDate"),
            **period_fields(attrs),
        }


def identification_representation(document: PartyIdentification) -> dict:
    body = {
        "identificationType": document.identification_type,
        "identificationId": document.identification_id,
        "issuingAuthority": document.issuing_authority,
        "issuingCountry": document.issuing_country,
        "issuingDate": document.issuing_date.isoformat() if document.issuing_date else None,
    }
    return with_valid_for(body, document.valid_from, document.valid_to)


def shows_personal_data(serializer: serializers.Serializer) -> bool:
    """Whether the requesting user may see identification documents, birth dates and credit
    profiles (`crm.permissions`); without a request, no."""
    request = serializer.context.get("request")
    return request is not None and may_see_personal_data(request.user)


class PartySerializer(TMFSerializer):
    """Shared by Individual and Organization: `contactMedium` and the identification list
    (`individualIdentification` or `organizationIdentification`) are read and written whole.

    Identifications (and an individual's `birthDate`) are left out for roles that may not see
    personal data (the NOC).
    """

    identification_attribute = ""
    contactMedium = ContactMediumSerializer(many=True, required=False, write_only=True)

    def to_internal_value(self, data):
        attrs = super().to_internal_value(data)
        if "contactMedium" in attrs:
            attrs["contact_media"] = attrs.pop("contactMedium")
        if self.identification_attribute in attrs:
            attrs["identifications"] = attrs.pop(self.identification_attribute)
        return attrs

    def to_representation(self, instance):
        body = super().to_representation(instance)
        body["contactMedium"] = contact_media(instance)
        if not shows_personal_data(self):
            body.pop("birthDate", None)
            return body
        body[self.identification_attribute] = [
            identification_representation(d) for d in instance.identifications.all()
        ]
        return body


class IndividualSerializer(PartySerializer):
    """TMF632 Individual."""

    tmf_type = "Individual"
    url_name = INDIVIDUAL

    identification_attribute = "individualIdentification"

    givenName = serializers.CharField(source="given_name", max_length=80, required=False)
    familyName = serializers.CharField(source="family_name", max_length=80)
    birthDate = serializers.DateField(source="birth_date", required=False, allow_null=True)
    fullName = serializers.CharField(source="display_name", read_only=True)
    individualIdentification = IdentificationSerializer(many=True, required=False, write_only=True)

    class Meta:
        model = Party
        fields = [
            "givenName",
            "familyName",
            "fullName",
            "birthDate",
            "contactMedium",
            "individualIdentification",
        ]


class OrganizationSerializer(PartySerializer):
    """TMF632 Organization: `name` and `tradingName` are the same stored name."""

    tmf_type = "Organization"
    url_name = ORGANIZATION

    identification_attribute = "organizationIdentification"

    name = serializers.CharField(source="organization_name", max_length=160, required=False)
    tradingName = serializers.CharField(max_length=160, required=False, write_only=True)
    organizationIdentification = IdentificationSerializer(
        many=True, required=False, write_only=True
    )

    class Meta:
        model = Party
        fields = ["name", "tradingName", "contactMedium", "organizationIdentification"]

    def validate(self, attrs):
        trading_name = attrs.pop("tradingName", None)
        if trading_name and "organization_name" not in attrs:
            attrs["organization_name"] = trading_name
        if not self.partial and not attrs.get("organization_name"):
            raise serializers.ValidationError({"name": "This field is required."})
        return attrs

    def to_representation(self, instance):
        body = super().to_representation(instance)
        body["tradingName"] = instance.organization_name
        return body


class CreditProfileSerializer(serializers.Serializer):
    """TMF629 CreditProfile: score 0-999, risk rating 1 (lowest risk) to 5."""

    creditProfileDate = serializers.DateTimeField(required=False, allow_null=True)
    creditScore = serializers.IntegerField(min_value=0, max_value=999)
    creditRiskRating = serializers.IntegerField(min_value=1, max_value=5)
    validFor = TimePeriodSerializer(required=False)

    def to_internal_value(self, data):
        attrs = super().to_internal_value(data)
        return {
            "credit_profile_date": attrs.get("creditProfileDate"),
            "credit_score": attrs.get("creditScore"),
            "credit_risk_rating": attrs.get("creditRiskRating"),
            **period_fields(attrs),
        }


def credit_profile_representation(profile: CreditProfile) -> dict:
    body = {
        "creditProfileDate": tmf_datetime(profile.credit_profile_date),
        "creditScore": profile.credit_score,
        "creditRiskRating": profile.credit_risk_rating,
    }
    return with_valid_for(body, profile.valid_from, profile.valid_to)


class CustomerSerializer(TMFSerializer):
    """TMF629 Customer.

    The market segment (consumer, smallBusiness, enterprise) is the extension attribute
    `customerCategory`: TMF629 has no segment attribute, and a plain value is easier to filter
    and patch than a `characteristic` entry. `status` starts `approved` (not taken from POST).
    `creditProfile` is left out for roles that may not see personal data (the NOC).
    """

    tmf_type = "Customer"
    url_name = CUSTOMER

    status = serializers.ChoiceField(choices=CustomerStatus.choices, required=False)
    customerCategory = serializers.ChoiceField(
        source="segment", choices=Segment.choices, required=False
    )
    engagedParty = RefSerializer(write_only=True)
    creditProfile = CreditProfileSerializer(
        source="credit_profiles", many=True, required=False, write_only=True
    )

    class Meta:
        model = Customer
        fields = ["name", "status", "customerCategory", "engagedParty", "creditProfile"]

    def validate_engagedParty(self, ref):
        return party_from_ref(ref)

    def to_representation(self, instance):
        body = super().to_representation(instance)
        body["engagedParty"] = party_ref(self, instance.party)
        body["account"] = [
            self.ref(a, BILLING_ACCOUNT, "BillingAccount", name=a.name)
            for a in instance.accounts.all()
        ]
        body["contactMedium"] = contact_media(instance.party)
        if shows_personal_data(self):
            body["creditProfile"] = [
                credit_profile_representation(p) for p in instance.credit_profiles.all()
            ]
        return body
