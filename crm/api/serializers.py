"""The CRM's TMF resource serializers, by module:

- `crm.api.party_serializers`: TMF632 Individual and Organization, TMF629 Customer;
- `crm.api.billing_account_serializers`: TMF666 BillingAccount;
- `crm.api.account_serializers`: the other TMF666 resources (cycles, formats, media, accounts);
- `crm.api.care_serializers`: TMF621 TroubleTicket and TMF683 PartyInteraction;
- `crm.api.tmf_common`: the data types they share (TimePeriod, ContactMedium, refs).

Re-exported here so that `from crm.api.serializers import CustomerSerializer` keeps working.
"""

from crm.api.billing_account_serializers import BillingAccountSerializer
from crm.api.care_serializers import PartyInteractionSerializer, TroubleTicketSerializer
from crm.api.party_serializers import (
    CustomerSerializer,
    IndividualSerializer,
    OrganizationSerializer,
)

__all__ = [
    "BillingAccountSerializer",
    "CustomerSerializer",
    "IndividualSerializer",
    "OrganizationSerializer",
    "PartyInteractionSerializer",
    "TroubleTicketSerializer",
]
