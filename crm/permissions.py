"""Who may see and change what in the CRM, by role: one rule each, used by the API and the
pages alike.

- The agent portal (search, the customer 360, tickets) is for agents, finance and risk
  analysts (who open the customers their cases name), and admins.
- Personal data (identification documents, birth dates, credit profiles) is for the roles that
  deal with the customer: agents and finance (and admins). The NOC works on the network and
  sees customers by name only.
- An account's credit limit and state are finance's (and admins'): the order credit check and
  dunning rest on them, so an agent may not raise the limit or reopen or close an account.
"""

from collections.abc import Iterable

from telco.exceptions import Forbidden
from telco.roles import AGENT, FINANCE, RISK, has_role

PORTAL_ROLES = (AGENT, FINANCE, RISK)
PERSONAL_DATA_ROLES = (AGENT, FINANCE)
# API attribute -> what it is, for the message; finance and admins only.
FINANCE_ACCOUNT_ATTRIBUTES = {"creditLimit": "credit limit", "state": "state"}


def may_use_portal(user) -> bool:
    """The agent portal's pages: agents, finance, risk, admins."""
    return has_role(user, *PORTAL_ROLES)


def may_see_personal_data(user) -> bool:
    """Identification documents, birth dates and credit profiles: agents, finance, admins."""
    return has_role(user, *PERSONAL_DATA_ROLES)


def may_change_account_standing(user) -> bool:
    """Credit limits and account states: finance and admins."""
    return has_role(user, FINANCE)


def check_may_change_account(user, attributes: Iterable[str]) -> None:
    """`Forbidden` (403) naming the first attribute of `attributes` (API names) that only
    finance may change, when `user` is not finance or admin."""
    if may_change_account_standing(user):
        return
    for name in attributes:
        if name in FINANCE_ACCOUNT_ATTRIBUTES:
            raise Forbidden(
                f"Only finance may change an account's {FINANCE_ACCOUNT_ATTRIBUTES[name]}.",
                field=name,
            )
