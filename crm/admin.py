from django.contrib import admin

from crm import services
from crm.models import (
    Account,
    AccountStateChange,
    BillFormat,
    BillingAccount,
    BillingAccountContact,
    BillingAccountStateChange,
    BillingCycleSpecification,
    BillPresentationMedia,
    ContactMedium,
    CreditProfile,
    Customer,
    Party,
    PartyIdentification,
    PartyInteraction,
    TroubleTicket,
    TroubleTicketStatusChange,
)
from crm.permissions import may_change_account_standing
from telco.admin import StateHistoryInline


class ContactMediumInline(admin.TabularInline):
    model = ContactMedium
    extra = 0
    fields = (
        "medium_type",
        "preferred",
        "contact_type",
        "email_address",
        "phone_number",
        "street1",
        "city",
        "post_code",
        "country",
        "valid_from",
        "valid_to",
    )


class PartyIdentificationInline(admin.TabularInline):
    model = PartyIdentification
    extra = 0


@admin.register(Party)
class PartyAdmin(admin.ModelAdmin):
    """The email, phone and address columns are the preferred contact media: read-only here,
    recomputed from the media inline when the party is saved."""

    list_display = ("display_name", "kind", "email", "phone", "city", "country", "created_at")
    list_filter = ("kind", "country")
    search_fields = ("given_name", "family_name", "organization_name", "email", "phone")
    readonly_fields = ("email", "phone", "street", "city", "postcode", "country")
    inlines = [ContactMediumInline, PartyIdentificationInline]

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        services.party_refresh_contact_columns(party=form.instance)


@admin.register(PartyIdentification)
class PartyIdentificationAdmin(admin.ModelAdmin):
    list_display = (
        "identification_type",
        "identification_id",
        "issuing_authority",
        "issuing_country",
        "party",
        "valid_to",
    )
    list_filter = ("identification_type", "issuing_country")
    search_fields = ("identification_id", "party__family_name", "party__organization_name")
    list_select_related = ("party",)
    raw_id_fields = ("party",)


class CreditProfileInline(admin.TabularInline):
    model = CreditProfile
    extra = 0


class BillingAccountInline(admin.TabularInline):
    model = BillingAccount
    extra = 0
    fields = ("account_number", "name", "currency", "bill_cycle_day", "payment_method", "state")
    readonly_fields = ("account_number", "state", "bill_cycle_day")
    show_change_link = True


@admin.register(Customer)
class CustomerAdmin(admin.ModelAdmin):
    list_display = ("name", "party", "status", "segment", "created_at")
    list_filter = ("status", "segment")
    search_fields = ("name", "party__email", "party__phone", "accounts__account_number")
    list_select_related = ("party",)
    raw_id_fields = ("party",)
    inlines = [CreditProfileInline, BillingAccountInline]


class StateChangeInline(StateHistoryInline):
    model = BillingAccountStateChange


class BillingAccountContactInline(admin.TabularInline):
    model = BillingAccountContact
    extra = 0


@admin.register(BillingAccount)
class BillingAccountAdmin(admin.ModelAdmin):
    list_display = (
        "account_number",
        "name",
        "customer",
        "currency",
        "bill_cycle_day",
        "payment_method",
        "credit_limit",
        "state",
    )
    list_filter = ("state", "currency", "payment_method", "bill_cycle_day")
    search_fields = ("account_number", "name", "customer__name")
    list_select_related = ("customer",)
    raw_id_fields = ("customer",)
    # The number is generated; the state moves through the account state table; the bill
    # cycle day is the chosen cycle specification's.
    readonly_fields = ("account_number", "state", "bill_cycle_day")
    inlines = [BillingAccountContactInline, StateChangeInline]
    filter_horizontal = ("presentation_media",)

    def get_readonly_fields(self, request, obj=None):
        # The credit limit is finance's, here as in the API (crm.permissions).
        fields = super().get_readonly_fields(request, obj)
        if not may_change_account_standing(request.user):
            fields = (*fields, "credit_limit")
        return fields

    def save_model(self, request, obj, form, change):
        # bill_cycle_day follows the cycle specification, as the services keep it.
        if obj.cycle_specification is None:
            obj.cycle_specification = services.standard_cycle_specification(obj.bill_cycle_day)
        if obj.cycle_specification.billing_date_shift:
            obj.bill_cycle_day = obj.cycle_specification.billing_date_shift
        super().save_model(request, obj, form, change)


@admin.register(BillingCycleSpecification)
class BillingCycleSpecificationAdmin(admin.ModelAdmin):
    list_display = ("name", "billing_date_shift", "frequency", "payment_due_date_offset")
    list_filter = ("frequency",)
    search_fields = ("name",)


@admin.register(BillFormat)
class BillFormatAdmin(admin.ModelAdmin):
    list_display = ("name", "description")
    search_fields = ("name",)


@admin.register(BillPresentationMedia)
class BillPresentationMediaAdmin(admin.ModelAdmin):
    list_display = ("name", "description")
    search_fields = ("name",)


class AccountStateChangeInline(StateHistoryInline):
    model = AccountStateChange


@admin.register(Account)
class AccountAdmin(admin.ModelAdmin):
    list_display = ("name", "kind", "party", "state", "currency", "credit_limit", "last_update")
    list_filter = ("kind", "state", "currency")
    search_fields = ("name", "party__family_name", "party__organization_name")
    list_select_related = ("party",)
    raw_id_fields = ("party", "financial_account")
    # The state moves through the account state table.
    readonly_fields = ("state",)
    inlines = [AccountStateChangeInline]


@admin.register(BillingAccountStateChange)
class BillingAccountStateChangeAdmin(admin.ModelAdmin):
    list_display = ("account", "from_state", "to_state", "changed_at", "changed_by")
    list_filter = ("to_state",)
    search_fields = ("account__account_number", "changed_by")
    list_select_related = ("account",)
    raw_id_fields = ("account",)


class TroubleTicketStatusChangeInline(StateHistoryInline):
    model = TroubleTicketStatusChange


@admin.register(TroubleTicket)
class TroubleTicketAdmin(admin.ModelAdmin):
    list_display = (
        "id",
        "name",
        "customer",
        "ticket_type",
        "severity",
        "priority",
        "status",
        "assignee",
        "created_at",
        "expected_resolution_date",
    )
    list_filter = ("status", "severity", "ticket_type", "priority")
    search_fields = ("name", "description", "customer__name", "assignee")
    list_select_related = ("customer",)
    raw_id_fields = ("customer",)
    # The status moves through the ticket lifecycle; deadlines and dates are the service's.
    readonly_fields = (
        "status",
        "status_change_reason",
        "expected_response_date",
        "expected_resolution_date",
        "responded_at",
        "resolution_date",
        "created_at",
        "last_update",
    )
    inlines = [TroubleTicketStatusChangeInline]


@admin.register(PartyInteraction)
class PartyInteractionAdmin(admin.ModelAdmin):
    """Contacts with customers; what happened is not rewritten, so everything but the notes is
    read-only here."""

    list_display = (
        "interaction_date",
        "customer",
        "channel",
        "direction",
        "reason",
        "status",
        "created_by",
    )
    list_filter = ("channel", "direction", "status")
    search_fields = ("reason", "subject", "description", "customer__name", "recipient")
    list_select_related = ("customer",)
    raw_id_fields = ("customer",)
    date_hierarchy = "interaction_date"
    readonly_fields = (
        "customer",
        "channel",
        "direction",
        "status",
        "reason",
        "subject",
        "description",
        "recipient",
        "error",
        "interaction_date",
        "end_date",
        "created_by",
        "related_entities",
        "created_at",
    )
