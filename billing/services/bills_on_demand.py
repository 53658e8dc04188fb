"""Bills on demand (TMF678 customerBillOnDemand): bill one account now, on a worker, and
record how it ended."""

import logging

from django.db import InterfaceError, OperationalError, transaction

from billing.choices import BILL_ON_DEMAND_TRANSITIONS, BillOnDemandState
from billing.models import CustomerBillOnDemand, CustomerBillOnDemandStateChange
from billing.services.bills import account_bill
from crm import selectors as crm_selectors
from telco import clock
from telco.exceptions import DomainError, NotFound
from telco.selectors import row_with_id
from telco.states import transition

logger = logging.getLogger(__name__)


def bill_on_demand_create(
    *, billing_account_id, name: str = "", description: str = "", created_by: str = ""
) -> CustomerBillOnDemand:
    """Record a request to bill an account now (inProgress) and hand it to a Celery worker
    once this transaction commits; `bill_on_demand_run` does the work."""
    from billing.tasks import run_bill_on_demand

    account = row_with_id(crm_selectors.billing_account_rows(), billing_account_id)
    if account is None:
        raise DomainError(
            f"Billing account '{billing_account_id}' does not exist.", field="billingAccount.id"
        )
    with transaction.atomic():
        request = CustomerBillOnDemand.objects.create(
            billing_account=account,
            name=name,
            description=description,
            created_by=created_by,
        )
        CustomerBillOnDemandStateChange.objects.create(
            request=request, to_state=request.state, changed_by=created_by
        )
        transaction.on_commit(lambda: run_bill_on_demand.delay(bill_on_demand_id=request.pk))
    return request


def bill_on_demand_run(*, bill_on_demand_id: int) -> CustomerBillOnDemand:
    """Bill the request's account: every ended period without a bill (`account_bill`, as a
    bill run would). done with the newest bill it produced; rejected when there was nothing
    to bill; terminatedWithError when billing refused the account. A request no longer in
    progress is left as it is, so running it twice is harmless."""
    with transaction.atomic():
        # The row lock makes a concurrent twin wait, then find the request finished.
        request = (
            CustomerBillOnDemand.objects.select_for_update()
            .select_related("billing_account")
            .filter(pk=bill_on_demand_id)
            .first()
        )
        if request is None:
            raise NotFound(f"Bill on demand '{bill_on_demand_id}' does not exist.")
        if request.state != BillOnDemandState.IN_PROGRESS:
            return request
        bill = None
        try:
            # A savepoint: whatever refuses the account, the request still records why, as a
            # bill run records an account it could not bill (`bill_run_resume`).
            with transaction.atomic():
                bills = account_bill(account=request.billing_account, as_of=clock.now().date())
        except (OperationalError, InterfaceError):
            raise  # the database itself failed: the task is retried, the request stays open
        except Exception as error:  # noqa: BLE001 - never leave the request inProgress for good
            logger.exception("Bill on demand %s could not bill its account", request.pk)
            reason = error.message if isinstance(error, DomainError) else str(error)
            target = BillOnDemandState.TERMINATED_WITH_ERROR
        else:
            if bills:
                bill = max(bills, key=lambda b: b.period_start)
                target = BillOnDemandState.DONE
                reason = f"Billed: {', '.join(b.bill_no for b in bills)}."
            else:
                target = BillOnDemandState.REJECTED
                reason = "Nothing to bill: every ended billing period of the account has a bill."
        return transition(
            request,
            target,
            transitions=BILL_ON_DEMAND_TRANSITIONS,
            history=CustomerBillOnDemandStateChange,
            history_fk="request",
            reason=reason,
            extra_updates={"customer_bill": bill, "state_reason": reason[:300]},
        )
