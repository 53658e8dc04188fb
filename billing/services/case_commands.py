"""The actions a person can take from a case, by name, for the pages and the API alike.

Each action is another module's service (start billing, remove orphan configuration, re-rate
a day, bar or lift a service for fraud); this table only says which case kinds offer it and
calls it. Those services check that the action applies, do the change through the owning app
and leave the audit trail on the case.
"""

from collections.abc import Callable
from dataclasses import dataclass
from importlib import import_module

from billing.choices import FRAUD_CASE_KINDS, CaseKind
from billing.models import RevenueCase
from telco.exceptions import DomainError


@dataclass(frozen=True)
class CaseAction:
    code: str  # the API's name ("startBilling")
    label: str  # the button's text
    kinds: tuple[str, ...]
    # "module:function", imported when used: the services live in modules of their own.
    service: str

    def function(self) -> Callable:
        module, name = self.service.split(":")
        try:
            return getattr(import_module(module), name)
        except (ModuleNotFoundError, AttributeError):
            # A deployment without that module must refuse the action, not fail the page.
            raise DomainError(f"'{self.code}' is not available.", field="action") from None


CASE_ACTIONS = {
    action.code: action
    for action in (
        CaseAction(
            "startBilling",
            "Start billing",
            (CaseKind.ACTIVE_NOT_BILLABLE,),
            "billing.services.case_actions:case_start_billing",
        ),
        CaseAction(
            "removeOrphanConfig",
            "Remove orphan configuration",
            (CaseKind.ORPHAN_CONFIG,),
            "billing.services.case_actions:case_remove_orphan_config",
        ),
        CaseAction(
            "rerateDay",
            "Re-rate the day",
            (CaseKind.USAGE_NOT_RATED, CaseKind.USAGE_REJECTED),
            "billing.services.case_actions:case_rerate_day",
        ),
        CaseAction("bar", "Bar service", FRAUD_CASE_KINDS, "billing.services.fraud:fraud_case_bar"),
        CaseAction("lift", "Lift bar", FRAUD_CASE_KINDS, "billing.services.fraud:fraud_case_lift"),
    )
}


def case_actions_for(case: RevenueCase) -> list[CaseAction]:
    """The actions a case of this kind offers (the service still refuses one that does not
    apply to this case now, e.g. lifting a bar never set)."""
    return [action for action in CASE_ACTIONS.values() if case.kind in action.kinds]


def case_act(case: RevenueCase, code: str, *, by: str):
    """Take the action named `code` on `case`; a DomainError (naming `action`) when the case's
    kind does not offer it."""
    action = CASE_ACTIONS.get(code)
    if action is None:
        raise DomainError(
            f"'{code}' is not an action; one of {', '.join(CASE_ACTIONS)}.", field="action"
        )
    if case.kind not in action.kinds:
        raise DomainError(f"A {case.kind} case offers no '{code}'.", field="action")
    return action.function()(case, by=by)
