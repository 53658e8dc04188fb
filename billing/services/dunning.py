"""Dunning: overdue bills walk their policy's steps (reminder, second reminder, suspension,
termination), each step once per case; a bill paid or credited leaves dunning, and what its
case suspended is resumed.

The daily run is set-based: one statement closes the cases whose bills no longer owe, one opens
a case for every newly overdue bill, one takes the next step of every open case (at most one a
run, so a long-overdue bill still walks the steps in order). Only the steps' own effects
(an e-mail, an order) go one by one. Orders sit above billing: they are placed through the
function orders offers at billing.services.account_orders.ACCOUNT_ORDER_LOOKUP.
"""

import logging
from datetime import datetime

from django.core.mail import get_connection
from django.db import connection, transaction
from django.db.models import OuterRef, QuerySet, Subquery

from billing.choices import (
    PAYABLE_BILL_STATES,
    DunningActionState,
    DunningActionType,
)
from billing.models import DunningAction, DunningCase, DunningPolicy
from billing.services.account_orders import account_order_place
from crm import services as crm_services
from inventory import selectors as inventory_selectors
from inventory.choices import ProductStatus
from telco import clock
from telco.exceptions import DomainError
from telco.money import plain_decimal

logger = logging.getLogger(__name__)

NON_PAYMENT = "nonPayment"
DUNNING_ACTOR = "dunning"

# The statuses a suspension / termination acts on.
ACTION_PRODUCT_STATUSES = {
    DunningActionType.SUSPEND: (ProductStatus.ACTIVE,),
    DunningActionType.TERMINATE: (ProductStatus.ACTIVE, ProductStatus.SUSPENDED),
}
ACTION_CHANGE = {DunningActionType.SUSPEND: "suspend", DunningActionType.TERMINATE: "terminate"}

# Pending actions carried out per transaction.
CARRY_OUT_CHUNK = 200

DUNNED_STATES = [state.value for state in PAYABLE_BILL_STATES]

OPEN_CASES = """
INSERT INTO billing_dunningcase
    (bill_id, billing_account_id, policy_id, reference_date, opened_at, close_reason,
     resume_order_id, resume_error)
SELECT b.id, b.billing_account_id, %(policy)s,
       CASE WHEN EXISTS (SELECT 1 FROM billing_dunningcase old WHERE old.bill_id = b.id)
            THEN %(now)s ELSE b.payment_due_date END,
       %(now)s, '', '', ''
FROM billing_customerbill b
WHERE b.payment_due_date < %(now)s
  AND b.remaining_amount > 0 AND b.remaining_amount >= %(minimum)s
  AND b.state = ANY(%(states)s)
  AND (%(bills)s::bigint[] IS NULL OR b.id = ANY(%(bills)s::bigint[]))
  AND NOT EXISTS (
      SELECT 1 FROM billing_dunningcase c WHERE c.bill_id = b.id AND c.closed_at IS NULL)
ON CONFLICT (bill_id) WHERE closed_at IS NULL DO NOTHING
"""

CLOSE_CASES = """
UPDATE billing_dunningcase c
SET closed_at = %(now)s,
    close_reason = CASE
        WHEN b.remaining_amount = 0 THEN COALESCE(%(reason)s, 'paid')
        WHEN b.state = 'onHold' THEN 'onHold'
        ELSE 'belowMinimum' END
FROM billing_customerbill b, billing_dunningpolicy p
WHERE c.bill_id = b.id AND p.id = c.policy_id AND c.closed_at IS NULL
  AND (%(bills)s::bigint[] IS NULL OR b.id = ANY(%(bills)s::bigint[]))
  AND (b.remaining_amount = 0 OR b.remaining_amount < p.minimum_amount OR b.state = 'onHold')
RETURNING c.id, c.billing_account_id
"""

NEXT_STEPS = """
INSERT INTO billing_dunningaction
    (case_id, step_id, action, position, state, created_at, detail, product_ids, order_id)
SELECT DISTINCT ON (c.id) c.id, s.id, s.action, s.position, 'pending', %(now)s, '', '[]', ''
FROM billing_dunningcase c
JOIN billing_dunningstep s ON s.policy_id = c.policy_id
WHERE c.closed_at IS NULL
  AND c.reference_date + make_interval(days => s.days_after_due::int) <= %(now)s
  AND NOT EXISTS (
      SELECT 1 FROM billing_dunningaction a WHERE a.case_id = c.id AND a.step_id = s.id)
ORDER BY c.id, s.position
ON CONFLICT (case_id, step_id) DO NOTHING
RETURNING id
"""


def cases_with_latest_step(cases: QuerySet[DunningCase]) -> QuerySet[DunningCase]:
    """Annotate each case's latest step taken: `latest_action` and `latest_position` (None
    while no step was taken), for the pages and the API's ?step= filter."""
    latest = DunningAction.objects.filter(case=OuterRef("pk")).order_by("-position", "-id")
    return cases.annotate(
        latest_action=Subquery(latest.values("action")[:1]),
        latest_position=Subquery(latest.values("position")[:1]),
    )


def default_policy() -> DunningPolicy | None:
    """The policy every bill is dunned by (None: dunning is off)."""
    return DunningPolicy.objects.filter(is_default=True).first()


def dunning_cases_open(*, bill_ids: list[int] | None = None, now: datetime | None = None) -> int:
    """Open a case for every overdue bill (of `bill_ids`, or all) that owes at least the
    policy's minimum and has no open case; how many were opened. A bill dunned before (its
    payment was reversed) counts its steps from now, a first case from its due date."""
    policy = default_policy()
    if policy is None or bill_ids == []:
        return 0
    params = {
        "policy": policy.pk,
        "now": now or clock.now(),
        "minimum": policy.minimum_amount,
        "states": DUNNED_STATES,
        "bills": bill_ids,
    }
    with connection.cursor() as cursor:
        cursor.execute(OPEN_CASES, params)
        return cursor.rowcount


def dunning_cases_close(
    *, bill_ids: list[int] | None = None, reason: str | None = None, by: str = ""
) -> list[int]:
    """Close the open cases of bills (of `bill_ids`, or all) that owe nothing (`reason`: paid
    or credited), less than the minimum, or are on hold; the closed cases' ids. Where no case
    of the account still holds a suspension, what the closed cases suspended is resumed (a
    TMF622 resume order, in the caller's transaction)."""
    if bill_ids == []:
        return []
    with connection.cursor() as cursor:
        cursor.execute(CLOSE_CASES, {"now": clock.now(), "reason": reason, "bills": bill_ids})
        closed = cursor.fetchall()
    if closed:
        _resume_suspended([case_id for case_id, _ in closed], by=by or DUNNING_ACTOR)
    return [case_id for case_id, _ in closed]


def _resume_suspended(case_ids: list[int], *, by: str) -> None:
    suspensions = DunningAction.objects.filter(
        action=DunningActionType.SUSPEND, state=DunningActionState.DONE
    )
    cases = list(
        DunningCase.objects.filter(pk__in=case_ids, actions__in=suspensions)
        .select_related("bill")
        .distinct()
        .order_by("pk")
    )
    still_suspending = set(
        DunningCase.objects.filter(
            billing_account__in={case.billing_account_id for case in cases},
            closed_at__isnull=True,
            actions__in=suspensions,
        ).values_list("billing_account_id", flat=True)
    )
    for case in cases:
        if case.billing_account_id in still_suspending:
            continue
        product_ids = sorted(
            {
                product_id
                for ids in suspensions.filter(case=case).values_list("product_ids", flat=True)
                for product_id in ids
            }
        )
        suspended = list(
            inventory_selectors.product_list()
            .filter(pk__in=product_ids, status=ProductStatus.SUSPENDED)
            .order_by("pk")
            .values_list("pk", flat=True)
        )
        if not suspended:
            case.resume_error = "No product of this case is suspended now."
        else:
            try:
                with transaction.atomic():
                    case.resume_order_id = account_order_place(
                        billing_account_id=case.billing_account_id,
                        product_ids=suspended,
                        change="resume",
                        reason=f"{NON_PAYMENT} settled: bill {case.bill.bill_no} paid",
                        reference=f"dunning-{case.pk}-resume",
                        by=by,
                    )
            except DomainError as error:
                case.resume_error = error.message[:300]
        case.save(update_fields=["resume_order_id", "resume_error"])


def dunning_run(*, now: datetime | None = None) -> dict:
    """The daily dunning: close, open, take each open case's next step, carry the steps out."""
    now = now or clock.now()
    with transaction.atomic():
        closed = dunning_cases_close()
        opened = dunning_cases_open(now=now)
        with connection.cursor() as cursor:
            cursor.execute(NEXT_STEPS, {"now": now})
            taken = [row[0] for row in cursor.fetchall()]
    done = dunning_actions_carry_out()
    return {"closed": len(closed), "opened": opened, "steps": len(taken), "carriedOut": done}


def dunning_actions_carry_out() -> int:
    """Carry out the pending steps (those just taken, or left by a run that stopped): reminders
    as e-mails through one mail connection, suspensions and terminations as one order each.
    CARRY_OUT_CHUNK actions a transaction, their rows locked (skip locked: a second run at the
    same time takes the others); an order refused fails its action only (a savepoint)."""
    count = 0
    mail = get_connection()
    while True:
        with transaction.atomic():
            actions = list(
                DunningAction.objects.select_for_update(skip_locked=True, of=("self",))
                .select_related("case__bill", "case__billing_account__customer__party")
                .filter(state=DunningActionState.PENDING)
                .order_by("pk")[:CARRY_OUT_CHUNK]
            )
            if not actions:
                return count
            placed = {}
            for action in actions:
                if action.action in ACTION_CHANGE:
                    _order(action, placed)
                else:
                    _remind(action, mail)
                action.done_at = clock.now()
            DunningAction.objects.bulk_update(
                actions, ["state", "detail", "product_ids", "order_id", "done_at"]
            )
            count += len(actions)


def _remind(action: DunningAction, mail) -> None:
    bill = action.case.bill
    account = action.case.billing_account
    amount = f"{plain_decimal(bill.remaining_amount)} {bill.currency}"
    second = action.action == DunningActionType.SECOND_REMINDER
    subject = f"{'Second reminder' if second else 'Reminder'}: bill {bill.bill_no} is overdue"
    body = (
        f"Dear customer,\n\nbill {bill.bill_no} of account {account.account_number} was due on "
        f"{bill.payment_due_date:%Y-%m-%d}; {amount} is still unpaid. Please pay it now"
        f"{' to avoid the suspension of your services' if second else ''}.\n"
    )
    interaction = crm_services.customer_notify(
        customer=account.customer,
        subject=subject,
        body=body,
        reason=NON_PAYMENT,
        by=DUNNING_ACTOR,
        related_entities=[
            {"id": str(bill.pk), "role": "overdueBill", "@referredType": "CustomerBill"}
        ],
        connection=mail,
    )
    action.state = DunningActionState.DONE
    action.detail = f"Interaction {interaction.pk}: {interaction.status}"


def _order(action: DunningAction, placed: dict) -> None:
    """Order the step's change of the account's products; an account with several bills in
    dunning gets one order per kind of step, the other cases' actions point to it."""
    case = action.case
    key = (case.billing_account_id, action.action)
    if key not in placed:
        earlier = (
            DunningAction.objects.filter(
                case__billing_account_id=case.billing_account_id,
                case__closed_at__isnull=True,
                action=action.action,
                state=DunningActionState.DONE,
            )
            .exclude(order_id="")
            .values_list("order_id", "product_ids")
            .first()
        )
        if earlier is not None:
            placed[key] = earlier
    if key in placed:
        action.order_id, action.product_ids = placed[key]
        action.state = DunningActionState.DONE
        action.detail = f"Product order {action.order_id} (placed for another bill)"
        return
    products = list(
        inventory_selectors.product_list()
        .filter(
            billing_account_id=case.billing_account_id,
            parent__isnull=True,
            status__in=ACTION_PRODUCT_STATUSES[action.action],
        )
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    action.product_ids = products
    if not products:
        action.state = DunningActionState.DONE
        action.detail = "No product of the account to act on."
        return
    try:
        with transaction.atomic():
            action.order_id = account_order_place(
                billing_account_id=case.billing_account_id,
                product_ids=products,
                change=ACTION_CHANGE[action.action],
                reason=f"{NON_PAYMENT}: bill {case.bill.bill_no} overdue",
                reference=f"dunning-{case.pk}-{action.step_id}",
                by=DUNNING_ACTOR,
            )
        action.state = DunningActionState.DONE
        action.detail = f"Product order {action.order_id}"
        placed[key] = (action.order_id, products)
    except DomainError as error:
        action.state = DunningActionState.FAILED
        action.detail = error.message[:1000]
        logger.warning("dunning action %s failed: %s", action.pk, error.message)
