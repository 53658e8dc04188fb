"""Every meaningful write of the CRM, by sub-domain: parties (with their contact media and
identifications), customers, billing accounts, the bill structure (cycles, formats, media), the
party, settlement and financial accounts, trouble tickets, interactions and notifications.

The public entry points are re-exported here: callers write `from crm import services` and
`services.party_create(...)`, whichever module holds it.
"""

from crm.services.accounts import account_create, account_update
from crm.services.bill_structure import (
    bill_format_create,
    bill_format_update,
    bill_presentation_media_create,
    bill_presentation_media_update,
    billing_cycle_specification_create,
    billing_cycle_specification_update,
    check_bill_cycle_day,
    check_cycle_usable,
    is_bill_cycle_day,
    standard_cycle_specification,
)
from crm.services.billing_accounts import (
    billing_account_create,
    billing_account_set_state,
    billing_account_update,
    build_account_contacts,
    credit_limit_in_account_currency,
)
from crm.services.contact_media import medium_as_dict
from crm.services.customers import customer_create, customer_update
from crm.services.interactions import party_interaction_add_notes, party_interaction_create
from crm.services.notifications import MAIL_ERRORS, customer_notify
from crm.services.parties import party_create, party_refresh_contact_columns, party_update
from crm.services.tickets import (
    trouble_ticket_create,
    trouble_ticket_set_status,
    trouble_ticket_update,
)

__all__ = [
    "MAIL_ERRORS",
    "account_create",
    "account_update",
    "bill_format_create",
    "bill_format_update",
    "bill_presentation_media_create",
    "bill_presentation_media_update",
    "billing_account_create",
    "billing_account_set_state",
    "billing_account_update",
    "billing_cycle_specification_create",
    "billing_cycle_specification_update",
    "build_account_contacts",
    "check_bill_cycle_day",
    "check_cycle_usable",
    "credit_limit_in_account_currency",
    "customer_create",
    "customer_notify",
    "customer_update",
    "is_bill_cycle_day",
    "medium_as_dict",
    "party_create",
    "party_interaction_add_notes",
    "party_interaction_create",
    "party_refresh_contact_columns",
    "party_update",
    "standard_cycle_specification",
    "trouble_ticket_create",
    "trouble_ticket_set_status",
    "trouble_ticket_update",
]
