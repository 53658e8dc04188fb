"""Who may do what: one table over every URL of the product, and the middleware that enforces
it before any view runs.

Each route (its namespaced URL name) has a `Rule`: the roles that may read it (GET, HEAD,
OPTIONS) and the roles that may write it (POST, PUT, PATCH, DELETE). Admins may do everything;
`EVERYONE` lets anonymous callers in; `SIGNED_IN` any signed-in user. A family set to `None`
has no operation on that route: it is judged by the other family's roles, then the API answers
405 (a page's view answers it). The admin site (`/admin/`) is one rule: staff only, enforced by
the admin itself.

Denied: 401 for an anonymous API caller, the login page for an anonymous page visitor, 403 for
a role without the right. `telco/tests/test_access.py` walks the URL configuration: a route
without a rule fails the suite, and every route x role x family is requested for real.

Why one middleware rather than a DRF permission plus a page decorator: it sees every request
(pages, the API, views that set their own `permission_classes`) in one place, so a route cannot
escape the table by forgetting a decorator. For the API it authenticates the token itself and
hands the identity to DRF (`_force_auth_user`, as DRF's test client does), so a token is looked
up once per request, not twice. Session users keep DRF's CSRF check.

Checks that depend on the object or a field stay where they are: crm.permissions (personal
data, credit limits), the hub's "you may listen to the APIs you may read" (telco.events.hub).
Still said twice: the API views' `read_roles`/`write_roles` (telco.roles.HasRole, and the hub
reads them per API). The walk keeps the two in step where it matters: a view stricter than
its rule fails it (an allowed role meets a 403); a laxer one is held back by the table.
"""

from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseForbidden, HttpResponseNotAllowed, JsonResponse
from rest_framework import exceptions
from rest_framework.authentication import SessionAuthentication
from rest_framework.exceptions import AuthenticationFailed, NotAuthenticated
from rest_framework.settings import api_settings
from rest_framework.views import APIView

from telco.api.errors import error_body
from telco.roles import ADMIN, AGENT, FINANCE, NOC, RISK, HasRole, user_roles

ANONYMOUS = "anonymous"
# Every caller, signed in or not; every signed-in caller (whatever their role).
EVERYONE = ("*",)
SIGNED_IN = ("signed-in",)
ADMINS = ()  # admins only (admins are in every rule)
READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# The namespace of Django's admin site: staff only, its own login.
ADMIN_SITE = "admin"


@dataclass(frozen=True)
class Rule:
    read: tuple[str, ...] | None
    write: tuple[str, ...] | None
    is_api: bool  # an API route answers 401; a page sends the anonymous to the login page
    # /metrics: a request with `Authorization: Bearer` is judged by the view (the scrape token).
    bearer_token_ok: bool = False
    # What a page's refusal says (else it names the roles that may); a write's, if it differs.
    denial: str = ""
    write_denial: str = ""

    def roles_for(self, family: str) -> tuple[str, ...]:
        """The roles that may use `family` ("read" or "write"); a missing family is judged by
        the other one."""
        roles = self.read if family == "read" else self.write
        if roles is None:
            roles = self.write if family == "read" else self.read
        return roles or ()

    def offers(self, family: str) -> bool:
        return (self.read if family == "read" else self.write) is not None

    def allows(self, roles: set[str], family: str) -> bool:
        """Whether a caller holding `roles` (empty: anonymous) may use `family`."""
        wanted = self.roles_for(family)
        if wanted == EVERYONE:
            return True
        if not roles:
            return False
        return wanted == SIGNED_IN or ADMIN in roles or bool(roles.intersection(wanted))


def api(read, write) -> Rule:
    return Rule(read=read, write=write, is_api=True)


def page(read, write=None, *, denial: str = "", write_denial: str = "") -> Rule:
    return Rule(read=read, write=write, is_api=False, denial=denial, write_denial=write_denial)


# The roles that meet in one place; spelled out per route below.
PORTAL = (AGENT, FINANCE, RISK)  # crm.permissions.PORTAL_ROLES
PORTAL_DENIAL = "The agent portal is for agent, finance, risk and admin users."
ORDERING_DENIAL = "Only agents and admins place orders; your role reads them."
NOC_DENIAL = "The NOC pages are for noc and admin users."
ACTIVATION_DENIAL = "The activation queue is for noc and admin users."
FINANCE_DENIAL = "The finance pages are for finance and admin users."
MONEY_DENIAL = "Money owed is finance's."
REJECTED_USAGE_DENIAL = "Rejected usage is for finance and the NOC."
REVENUE_DENIAL = "Revenue assurance is for finance, risk and admin users."
TMF_READERS = (AGENT, NOC, FINANCE)
CARE_MONEY = (AGENT, FINANCE)
REVENUE = (FINANCE, RISK)
OPERATIONS = (FINANCE, NOC)
FIELD = (NOC, AGENT)


def _rules(rule: Rule, *names: str) -> dict[str, Rule]:
    return dict.fromkeys(names, rule)


TABLE: dict[str, Rule] = {
    # The project's own pages and endpoints.
    **_rules(page(SIGNED_IN), "home"),
    **_rules(page(EVERYONE, EVERYONE), "login", "logout"),
    **_rules(page(EVERYONE), "health"),
    **_rules(Rule(read=(NOC,), write=None, is_api=True, bearer_token_ok=True), "metrics"),
    **_rules(api(read=None, write=EVERYONE), "api-token"),
    **_rules(api(read=EVERYONE, write=None), "schema", "api-docs"),
    **_rules(api(read=ADMINS, write=ADMINS), "test-clock", "test-clock-reset"),
    **_rules(api(read=(FINANCE,), write=None), "audit-events"),
    # The /hub of every TMF API: whoever reads some TMF API; the hub then checks that the
    # caller reads this API (telco.events.hub.MayListen).
    **_rules(api(read=None, write=TMF_READERS), "hub", "hub-detail"),
    # Agent portal: orders (placing them is the agents'), search, the customer 360, tickets, bills.
    **_rules(
        page((AGENT,), (AGENT,), denial=ORDERING_DENIAL),
        "orders_portal:order-new",
        "orders_portal:offering-configuration",
        "orders_portal:order-feasibility",
        "orders_portal:product-action",
    ),
    **_rules(
        page(PORTAL, denial=PORTAL_DENIAL),
        "orders_portal:order-detail",
        "orders_portal:order-progress",
        "crm:portal-search",
        "crm:portal-search-results",
        "crm:customer-detail",
        "crm:customer-products",
        "crm:ticket-list",
        "crm:ticket-detail",
        "crm:bill-detail",
        "crm:bill-pdf",
    ),
    **_rules(
        page(
            PORTAL,
            (AGENT,),
            denial=PORTAL_DENIAL,
            write_denial="Only agents and admins open tickets.",
        ),
        "crm:ticket-new",
    ),
    **_rules(
        page(None, (AGENT,), denial="Only agents and admins change tickets and interactions."),
        "crm:interaction-create",
        "crm:ticket-note",
        "crm:ticket-status",
    ),
    # NOC: activation queue, inventory, the dashboard, alarms and incidents.
    **_rules(
        page((NOC,), denial=ACTIVATION_DENIAL),
        "orders_noc:queue",
        "orders_noc:queue-table",
        "orders_noc:order-detail",
    ),
    **_rules(
        page(None, (NOC,), denial=ACTIVATION_DENIAL),
        "orders_noc:order-retry",
        "orders_noc:order-fail",
    ),
    **_rules(
        page((NOC,), denial=NOC_DENIAL),
        "inventory:index",
        "inventory:site-detail",
        "inventory:equipment-detail",
        "inventory:link-detail",
        "inventory:cable-detail",
        "inventory:service-detail",
        "inventory:service-config",
        "inventory:impact",
        "inventory:resource-impact",
        "assurance:noc-dashboard",
        "assurance:noc-incidents-block",
        "assurance:noc-alarms-block",
        "assurance:incident-detail",
        "assurance:alarm-detail",
    ),
    **_rules(
        page(None, (NOC,), denial=NOC_DENIAL),
        "assurance:incident-acknowledge",
        "assurance:incident-assign",
        "assurance:incident-comment",
        "assurance:incident-set-eta",
        "assurance:alarm-acknowledge",
        "assurance:alarm-clear",
    ),
    **_rules(page(TMF_READERS), "assurance:customer-sla-report"),
    # Finance pages; rejected usage is shared with the NOC, revenue assurance with risk.
    **_rules(
        page((FINANCE,), denial=FINANCE_DENIAL),
        "finance:index",
        "finance:bills",
        "finance:payments",
        "finance:aged-debt",
        "finance:revenue",
    ),
    **_rules(
        page((FINANCE,), denial=MONEY_DENIAL),
        "finance:bill-run-list",
        "finance:bill-run-detail",
        "finance:bill-run-progress",
        "finance:dunning-list",
        "finance:credit-note-list",
        "finance:payment-adjust",
    ),
    **_rules(
        page(None, (FINANCE,), denial=MONEY_DENIAL),
        "finance:bill-run-start",
        "finance:bill-run-resume",
        "finance:credit-note-issue",
        "finance:credit-note-decide",
        "finance:payment-refund",
        "finance:payment-reverse",
    ),
    **_rules(page(OPERATIONS, denial=REJECTED_USAGE_DENIAL), "finance:rejected-usage"),
    **_rules(
        page(None, OPERATIONS, denial=REJECTED_USAGE_DENIAL), "finance:rejected-usage-reprocess"
    ),
    **_rules(
        page(REVENUE, denial=REVENUE_DENIAL),
        "finance:revenue-assurance",
        "finance:revenue-run-progress",
        "finance:revenue-cases",
        "finance:revenue-case",
    ),
    **_rules(
        page(None, REVENUE, denial=REVENUE_DENIAL),
        "finance:revenue-run-start",
        "finance:revenue-run-resume",
        "finance:revenue-case-change",
    ),
    # TMF620 catalog: everyone who works reads it; only admins change it.
    **_rules(
        api(TMF_READERS, ADMINS),
        "catalog-api:productSpecification-list",
        "catalog-api:productSpecification-detail",
        "catalog-api:productOffering-list",
        "catalog-api:productOffering-detail",
        "catalog-api:productOfferingPrice-list",
        "catalog-api:productOfferingPrice-detail",
        "catalog-api:category-list",
        "catalog-api:category-detail",
        "catalog-api:catalog-list",
        "catalog-api:catalog-detail",
    ),
    **_rules(
        api(TMF_READERS, None),
        "catalog-api:serviceSpecification-list",
        "catalog-api:serviceSpecification-detail",
        "catalog-api:resourceSpecification-list",
        "catalog-api:resourceSpecification-detail",
        "inventory-api:product-list",
        "inventory-api:product-detail",
        "inventory-api:service-list",
        "inventory-api:service-detail",
        "billing-api:usage-detail",
        "billing-api:bucket-list",
        "billing-api:bucket-detail",
        "billing-api:accumulatedBalance-list",
        "billing-api:accumulatedBalance-detail",
        "billing-api:chargingSession-detail",
        "orders-api:productOrder-detail",
        "orders-api:cancelProductOrder-detail",
        "assurance-api:serviceLevelSpecification-list",
        "assurance-api:serviceLevelSpecification-detail",
        "assurance-api:customer-sla-report",
    ),
    # Parties, customers, interactions and product orders: the agents'.
    **_rules(
        api(TMF_READERS, (AGENT,)),
        "crm-api:individual-list",
        "crm-api:individual-detail",
        "crm-api:organization-list",
        "crm-api:organization-detail",
        "crm-api:customer-list",
        "crm-api:customer-detail",
        "crm-api:partyInteraction-list",
        "crm-api:partyInteraction-detail",
        "orders-api:productOrder-list",
        "orders-api:cancelProductOrder-list",
    ),
    # Billing accounts: agents open them; credit limit and state are finance's (crm.permissions).
    **_rules(
        api(TMF_READERS, CARE_MONEY),
        "crm-api:billingAccount-list",
        "crm-api:billingAccount-detail",
    ),
    **_rules(
        api(CARE_MONEY, (FINANCE,)),
        "crm-api:partyAccount-list",
        "crm-api:partyAccount-detail",
        "crm-api:settlementAccount-list",
        "crm-api:settlementAccount-detail",
        "crm-api:financialAccount-list",
        "crm-api:financialAccount-detail",
        "crm-api:billingCycleSpecification-list",
        "crm-api:billingCycleSpecification-detail",
        "crm-api:billFormat-list",
        "crm-api:billFormat-detail",
        "crm-api:billPresentationMedia-list",
        "crm-api:billPresentationMedia-detail",
        "billing-api:customerBill-detail",
        "billing-api:customerBillOnDemand-list",
        "billing-api:payment-list",
        "billing-api:refund-list",
        "billing-api:topupBalance-list",
        "billing-api:adjustBalance-list",
        "billing-api:transferBalance-list",
        "billing-api:transferBalance-detail",
        "billing-api:reserveBalance-list",
        "billing-api:reserveBalance-detail",
        "billing-api:creditNote-list",
        "billing-api:paymentReversal-list",
    ),
    **_rules(
        api(CARE_MONEY, None),
        "billing-api:customerBill-list",
        "billing-api:customerBillOnDemand-detail",
        "billing-api:appliedCustomerBillingRate-list",
        "billing-api:appliedCustomerBillingRate-detail",
        "billing-api:payment-detail",
        "billing-api:refund-detail",
        "billing-api:customerBill-pdf",
        "billing-api:topupBalance-detail",
        "billing-api:adjustBalance-detail",
        "billing-api:balanceActionHistory-list",
        "billing-api:balanceActionHistory-detail",
        "billing-api:creditNote-detail",
        "billing-api:paymentReversal-detail",
        "billing-api:dunningCase-list",
        "billing-api:dunningCase-detail",
    ),
    **_rules(
        api(TMF_READERS, (AGENT, NOC)),
        "crm-api:troubleTicket-list",
        "crm-api:troubleTicket-detail",
    ),
    # The network's side: resources, usage ingest, online charging.
    **_rules(
        api(TMF_READERS, (NOC,)),
        "inventory-api:resource-list",
        "inventory-api:resource-detail",
        "billing-api:usage-list",
        "billing-api:chargingSession-list",
    ),
    **_rules(
        api((AGENT, NOC), (AGENT, NOC)),
        "inventory-api:checkServiceQualification-list",
        "inventory-api:queryServiceQualification-list",
    ),
    **_rules(
        api((AGENT, NOC), None),
        "inventory-api:checkServiceQualification-detail",
        "inventory-api:queryServiceQualification-detail",
    ),
    **_rules(
        api((NOC,), (NOC,)),
        "inventory-api:network-import",
        "billing-api:chargingSession-terminate",
        "billing-api:chargingSession-update-session",
        "orders-api:serviceOrderAction-fail",
        "orders-api:serviceOrderAction-retry",
        "assurance-api:problemAcknowledgement",
        "assurance-api:kpiSample",
    ),
    **_rules(
        api(TMF_READERS, (FINANCE,)),
        "billing-api:usageSpecification-list",
        "billing-api:usageSpecification-detail",
    ),
    **_rules(
        api((FINANCE,), (FINANCE,)),
        "billing-api:billRun-list",
        "billing-api:creditNote-approve",
        "billing-api:creditNote-reject",
    ),
    **_rules(api((FINANCE,), None), "billing-api:billRun-detail"),
    **_rules(
        api(OPERATIONS, None), "billing-api:rejectedUsage-list", "billing-api:rejectedUsage-detail"
    ),
    **_rules(api(OPERATIONS, OPERATIONS), "billing-api:rejectedUsage-reprocess"),
    # Revenue assurance: finance and risk analysts.
    **_rules(
        api(REVENUE, None), "billing-api:revenueCase-list", "billing-api:reconciliationRun-detail"
    ),
    **_rules(
        api(REVENUE, REVENUE),
        "billing-api:revenueCase-detail",
        "billing-api:revenueCase-note",
        "billing-api:revenueCase-take-action",
        "billing-api:reconciliationRun-list",
        "billing-api:reconciliationRun-resume",
    ),
    # Service orders, alarms and problems: the NOC's, read by agents.
    **_rules(
        api(FIELD, (NOC,)),
        "orders-api:serviceOrder-list",
        "orders-api:cancelServiceOrder-list",
        "assurance-api:alarm-list",
        "assurance-api:alarm-detail",
        "assurance-api:ackAlarms-list",
        "assurance-api:clearAlarms-list",
        "assurance-api:spec-alarm-list",
        "assurance-api:spec-alarm-detail",
        "assurance-api:spec-ackAlarms-list",
        "assurance-api:spec-clearAlarms-list",
        "assurance-api:serviceProblem-detail",
        "assurance-api:maintenanceWindow-list",
    ),
    **_rules(
        api(FIELD, None),
        "orders-api:serviceOrder-detail",
        "orders-api:cancelServiceOrder-detail",
        "assurance-api:ackAlarms-detail",
        "assurance-api:clearAlarms-detail",
        "assurance-api:spec-ackAlarms-detail",
        "assurance-api:spec-clearAlarms-detail",
        "assurance-api:serviceProblem-list",
        "assurance-api:maintenanceWindow-detail",
    ),
}


def rule_for(view_name: str) -> Rule | None:
    return TABLE.get(view_name)


def family_of(method: str) -> str:
    return "read" if method in READ_METHODS else "write"


def _is_drf(view_func) -> bool:
    view_class = getattr(view_func, "cls", None)
    return view_class is not None and issubclass(view_class, APIView)


def _drf_offers(view_func, method: str) -> bool:
    """Whether the DRF route has a handler for `method` (OPTIONS always)."""
    if method == "OPTIONS":
        return True
    actions = getattr(view_func, "actions", None)
    if actions is not None:
        return method.lower() in actions or (method == "HEAD" and "get" in actions)
    handler = "get" if method == "HEAD" else method.lower()
    return hasattr(view_func.cls, handler)


_token_authenticators = None


def _token_user(request):
    """(user, token) from the request's API credentials (not the session: DRF keeps checking
    CSRF for session callers), None when it carries none. AuthenticationFailed propagates."""
    global _token_authenticators
    if _token_authenticators is None:
        _token_authenticators = [
            cls()
            for cls in api_settings.DEFAULT_AUTHENTICATION_CLASSES
            if not issubclass(cls, SessionAuthentication)
        ]
    for authenticator in _token_authenticators:
        result = authenticator.authenticate(request)
        if result is not None:
            return result
    return None


def _denied(rule: Rule, request, *, signed_in: bool):
    if rule.is_api:
        # The very answer DRF gives (telco.api.errors), so clients see one shape.
        refusal = exceptions.PermissionDenied(HasRole.message) if signed_in else NotAuthenticated()
        body = error_body(
            refusal.status_code,
            refusal.default_code,
            str(refusal.default_detail),
            str(refusal.detail),
        )
        response = JsonResponse(body, status=refusal.status_code)
        if not signed_in:
            response["WWW-Authenticate"] = "Token"
        return response
    if not signed_in:
        return redirect_to_login(request.get_full_path(), settings.LOGIN_URL)
    # Django's 403 page, as the views' own refusals render it.
    family = family_of(request.method)
    roles = [role for role in rule.roles_for(family) if role not in EVERYONE + SIGNED_IN]
    denial = (rule.write_denial if family == "write" else "") or rule.denial
    raise PermissionDenied(denial or f"This is for {', '.join([*roles, ADMIN])} users.")


class AccessTableMiddleware:
    """Enforces `TABLE` for every request before its view; a route without a rule is refused
    (403) rather than left open."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        match = request.resolver_match
        if match is None or ADMIN_SITE in match.namespaces:
            return None  # the admin site checks staff itself
        rule = rule_for(match.view_name)
        if rule is None:
            return HttpResponseForbidden(f"No access rule for {match.view_name}.")
        is_drf = _is_drf(view_func)
        user = getattr(request, "_force_auth_user", None) or request.user
        if not user.is_authenticated:
            try:
                found = _token_user(request)
            except AuthenticationFailed:
                # An expired or unknown token: DRF answers 401 with the precise reason.
                if is_drf:
                    return None
                found = None
            if found is not None:
                user, token = found
                if is_drf:
                    # DRF takes this identity instead of authenticating again.
                    request._force_auth_user, request._force_auth_token = user, token
                else:
                    request.user = user
        family = family_of(request.method)
        signed_in = user.is_authenticated
        bearer = request.headers.get("Authorization", "").lower().startswith("bearer ")
        if rule.bearer_token_ok and bearer and not signed_in:
            return None  # the view checks the scrape token
        if not rule.allows(user_roles(user) or ({"signed-in"} if signed_in else set()), family):
            return _denied(rule, request, signed_in=signed_in)
        if is_drf and not _drf_offers(view_func, request.method):
            allowed = [m.upper() for m in ("get", "post", "patch", "put", "delete")]
            return HttpResponseNotAllowed([m for m in allowed if _drf_offers(view_func, m)])
        return None
