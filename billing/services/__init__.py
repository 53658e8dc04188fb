"""Billing writes, one module per sub-domain; the entry points other modules call are here.

- `usage`: usage ingest (guided to the product that pays, normalised to the price's unit).
- `usage_specifications`: the kinds of usage a network reports (TMF635).
- `periods`: bill periods, proration, contract years.
- `charges`, `usage_rating`, `rating`: one account-period rated into charge lines.
- `bills`: numbered bills from an account's ended periods, and a bill's states.
- `bill_runs`, `bills_on_demand`: billing every account (resumable) or one account now.
- `invoices`: a bill as a PDF invoice, rendered on first request and kept in file storage.
- `payments`: payments allocated to open bills; credit pays the next bills.
- `prepaid`, `charging`: prepaid balances (provisioned, topped up, expired, notices) and
  online charging sessions against them.
- `account_orders`: orders on an account's products (suspend, resume, terminate), placed
  through the function orders registers (dunning and fraud use it).
- `dunning`: overdue bills walk the default policy's steps; paid or credited, they leave.
- `adjustments`: credit notes against bills or lines, approved above a limit.
- `refunds`: refunds of payments or credit, reversals of bounced payments.
- `credits`: SLA credits assurance records (once per product and period), billed as negative
  lines on the next bill.
"""

from billing.services.account_orders import ACCOUNT_ORDER_LOOKUP, account_order_place
from billing.services.adjustments import (
    credit_note_approve,
    credit_note_issue,
    credit_note_reject,
)
from billing.services.bill_runs import (
    ACCOUNTS_PER_CHUNK,
    bill_run_chunk_bill,
    bill_run_create,
    bill_run_dispatch,
    bill_run_enqueue,
    bill_run_resume,
    bill_run_start,
)
from billing.services.bills import (
    BILLABLE_STATUSES,
    PAYMENT_TERMS,
    account_bill,
    customer_bill_set_state,
)
from billing.services.bills_on_demand import bill_on_demand_create, bill_on_demand_run
from billing.services.credits import (
    SlaBreach,
    sla_credit_key,
    sla_credits_record,
    unbilled_sla_credits,
)
from billing.services.dunning import (
    dunning_cases_close,
    dunning_cases_open,
    dunning_run,
)
from billing.services.invoices import invoice_bills, invoice_download_name, invoice_pdf
from billing.services.payments import payment_create
from billing.services.periods import account_periods, billing_period
from billing.services.prepaid import (
    prepaid_provision,
    prepaid_sweep,
    topup_balance_create,
    voucher_create,
)
from billing.services.refunds import payment_reverse, refund_create
from billing.services.usage import MAX_VOLUME, UNIT_BYTES, parse_volume, usage_ingest
from billing.services.usage_specifications import (
    USAGE_SPECIFICATION_FIELDS,
    usage_specification_create,
    usage_specification_delete,
    usage_specification_update,
)

__all__ = [
    "ACCOUNT_ORDER_LOOKUP",
    "ACCOUNTS_PER_CHUNK",
    "BILLABLE_STATUSES",
    "MAX_VOLUME",
    "PAYMENT_TERMS",
    "SlaBreach",
    "UNIT_BYTES",
    "USAGE_SPECIFICATION_FIELDS",
    "account_bill",
    "account_order_place",
    "account_periods",
    "bill_on_demand_create",
    "bill_on_demand_run",
    "bill_run_chunk_bill",
    "bill_run_create",
    "bill_run_dispatch",
    "bill_run_enqueue",
    "bill_run_resume",
    "bill_run_start",
    "billing_period",
    "credit_note_approve",
    "credit_note_issue",
    "credit_note_reject",
    "customer_bill_set_state",
    "dunning_cases_close",
    "dunning_cases_open",
    "dunning_run",
    "invoice_bills",
    "invoice_download_name",
    "invoice_pdf",
    "parse_volume",
    "payment_create",
    "payment_reverse",
    "prepaid_provision",
    "prepaid_sweep",
    "refund_create",
    "sla_credit_key",
    "sla_credits_record",
    "topup_balance_create",
    "unbilled_sla_credits",
    "usage_ingest",
    "usage_specification_create",
    "usage_specification_delete",
    "usage_specification_update",
    "voucher_create",
]
