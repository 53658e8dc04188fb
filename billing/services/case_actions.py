"""Actions taken from a revenue-assurance case, each through the app that owns the change and
each noted on the case (`case_action_record`): start billing a product delivered but never
billed, remove configuration an element holds for no service, rate a day's usage again.

Each refuses (DomainError) a case of another kind, or one already resolved. An action whose
effect it can check at once (the product is billable, the element no longer holds the
configuration, every record of the day is chargeable) resolves the case with a note; otherwise
the case stays until the next reconciliation finds the difference gone (it resolves itself).
"""

from django.db import connection, transaction

from billing.choices import CaseKind, CaseState, UsageStatus
from billing.models import RevenueCase, UsageEvent
from billing.services.cases import case_action_record, case_set_state
from billing.services.reconciliation.mediation import day_bounds, unbilled_after_bill
from inventory import selectors as inventory_selectors
from inventory import services as inventory_services
from inventory.network import driver_for
from inventory.network.base import NetworkError
from telco import clock
from telco.exceptions import DomainError


def _check(case: RevenueCase, kinds: tuple[str, ...], action: str) -> None:
    if case.kind not in kinds:
        raise DomainError(f"A {case.kind} case offers no '{action}'.", field="action")
    if case.state == CaseState.RESOLVED:
        raise DomainError(f"Case {case.pk} is resolved: nothing to do.", field="action")


def _resolve(case: RevenueCase, note: str, *, by: str) -> RevenueCase:
    return case_set_state(case, CaseState.RESOLVED, by=by, note=note)


def case_start_billing(case: RevenueCase, *, by: str) -> RevenueCase:
    """activeNotBillable: the product becomes billable (inventory's product service) from when
    its service became active, so the next bill run charges it from then."""
    _check(case, (CaseKind.ACTIVE_NOT_BILLABLE,), "startBilling")
    if case.product_id is None:
        raise DomainError(f"Case {case.pk} names no product.", field="action")
    state = inventory_services.products_with_service_state(
        first_id=case.product_id, last_id=case.product_id
    ).get()
    if not state.has_active_service:
        raise DomainError(
            f"Product {case.product_id} has no active service any more: nothing to bill.",
            field="action",
        )
    with transaction.atomic():
        product = inventory_services.product_start_billing(
            product=state, at=state.active_since, by=by, reason=f"Revenue assurance case {case.pk}"
        )
        case_action_record(
            case,
            f"Started billing product {product.pk} from {state.active_since:%Y-%m-%d %H:%M} UTC "
            f"(status {product.status}).",
            by=by,
        )
        return _resolve(case, "Product billable from its service's activation.", by=by)


def case_remove_orphan_config(case: RevenueCase, *, by: str) -> RevenueCase:
    """orphanConfig: the element's driver removes the configuration (an idempotency key of the
    case's own: asking twice removes it once); resolved when the element no longer holds it."""
    _check(case, (CaseKind.ORPHAN_CONFIG,), "removeOrphanConfig")
    element = inventory_selectors.resource_by_reference(case.element)
    if element is None or element.name != case.element:
        raise DomainError(f"Element {case.element} is not in the inventory.", field="action")
    driver = driver_for(element.resource_kind)
    try:
        driver.deactivate(
            element=element.name,
            idempotency_key=f"revenue-case-{case.pk}-remove",
            service_ref=case.service_ref,
        )
        still_there = driver.status(element=element.name, service_ref=case.service_ref)
    except NetworkError as error:
        case_action_record(case, f"Removing {case.service_ref} failed: {error}", by=by)
        raise DomainError(f"{element.name} did not remove it: {error}", field="action") from None
    with transaction.atomic():
        case_action_record(
            case, f"Removed configuration {case.service_ref} from {element.name}.", by=by
        )
        if still_there["configured"]:
            return RevenueCase.objects.get(pk=case.pk)
        return _resolve(case, f"{element.name} no longer holds {case.service_ref}.", by=by)


def case_rerate_day(case: RevenueCase, *, by: str) -> RevenueCase:
    """usageRejected: the day's records rejected for that cause are guided and rated again
    (`usage_reprocess`, set-based); resolved when none is left rejected.
    usageNotRated: the accounts whose usage of the day a bill left out are billed again on
    demand (their ended unbilled periods, which charge that usage as late usage); the case
    stays until the next reconciliation finds it billed."""
    _check(case, (CaseKind.USAGE_REJECTED, CaseKind.USAGE_NOT_RATED), "rerateDay")
    if case.day is None:
        raise DomainError(f"Case {case.pk} names no day.", field="action")
    if case.kind == CaseKind.USAGE_REJECTED:
        return _reprocess_rejected(case, by=by)
    from billing.services.bills_on_demand import bill_on_demand_create

    as_of = clock.now()
    accounts = sorted(
        set(
            unbilled_after_bill(case.day, as_of)
            .filter(rating_group=case.rating_group)
            .values_list("billing_account_id", flat=True)
        )
    )
    with transaction.atomic():
        for account_id in accounts:
            bill_on_demand_create(
                billing_account_id=account_id,
                name=f"Revenue assurance case {case.pk}",
                created_by=by,
            )
        case_action_record(
            case,
            f"Billing on demand requested for {len(accounts)} account(s) with unbilled usage "
            f"of {case.day:%Y-%m-%d}.",
            by=by,
        )
    return RevenueCase.objects.get(pk=case.pk)


def _reprocess_rejected(case: RevenueCase, *, by: str) -> RevenueCase:
    from billing.services.usage_bulk import usage_reprocess

    if connection.vendor != "postgresql":
        raise DomainError("Re-rating runs on PostgreSQL only.", field="action")
    reason = case.evidence.get("reason", "")
    start, end = day_bounds(case.day)
    ids = list(
        UsageEvent.objects.filter(
            usage_date__gte=start,
            usage_date__lt=end,
            status=UsageStatus.REJECTED,
            rejection_reason=reason,
        ).values_list("pk", flat=True)
    )
    result = usage_reprocess(reason=reason, ids=ids)
    with transaction.atomic():
        left = ", ".join(f"{count} {why}" for why, count in result.still_rejected.items())
        case_action_record(
            case,
            f"Rated {case.day:%Y-%m-%d} again: {result.tried} tried, {result.charged} now "
            f"chargeable" + (f", still rejected: {left}" if left else "") + ".",
            by=by,
        )
        if result.tried and not result.still_rejected:
            return _resolve(case, "Every record of the day is chargeable now.", by=by)
    return RevenueCase.objects.get(pk=case.pk)


__all__ = ["case_remove_orphan_config", "case_rerate_day", "case_start_billing"]
