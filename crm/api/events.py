"""CRM's TMF632, TMF629, TMF666 and TMF621 events (see telco.events)."""

from crm.api.views import (
    BillingAccountViewSet,
    CustomerViewSet,
    IndividualViewSet,
    OrganizationViewSet,
    TroubleTicketViewSet,
)
from crm.models import BillingAccount, Customer, Party, TroubleTicket
from telco.events.registry import EventResource, register_resource

# Individuals and organizations share the party table; the row's kind tells them apart.
register_resource(
    EventResource(
        "individual",
        Party,
        IndividualViewSet,
        state_field=None,
        condition="{row}.kind = 'individual'",
    )
)
register_resource(
    EventResource(
        "organization",
        Party,
        OrganizationViewSet,
        state_field=None,
        condition="{row}.kind = 'organization'",
    )
)
register_resource(EventResource("customer", Customer, CustomerViewSet, state_field="status"))
register_resource(EventResource("billingAccount", BillingAccount, BillingAccountViewSet))
register_resource(
    EventResource("troubleTicket", TroubleTicket, TroubleTicketViewSet, state_field="status")
)
