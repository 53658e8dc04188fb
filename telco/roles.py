"""Roles: Django groups (agent, noc, finance, admin), their model permissions, and the API check."""

from django.contrib.auth.models import Group, Permission
from rest_framework.permissions import SAFE_METHODS, BasePermission

AGENT, NOC, FINANCE, ADMIN = "agent", "noc", "finance", "admin"
# Revenue assurance and fraud analysts: cases, fraud rules, barring a service for fraud.
RISK = "risk"
ROLES = (AGENT, NOC, FINANCE, RISK, ADMIN)

# Model permissions each group gets (for the admin site and `has_perm` checks):
# app label -> {role: actions}.
ROLE_MODEL_PERMISSIONS = {
    "crm": {
        AGENT: ("view", "add", "change"),
        NOC: ("view",),
        FINANCE: ("view", "change"),
        RISK: ("view",),
    },
    "catalog": {AGENT: ("view",), NOC: ("view",), FINANCE: ("view",), RISK: ("view",)},
    "orders": {
        AGENT: ("view", "add", "change"),
        NOC: ("view", "change"),
        FINANCE: ("view",),
        RISK: ("view",),
    },
    "inventory": {
        AGENT: ("view",),
        NOC: ("view", "add", "change"),
        FINANCE: ("view",),
        RISK: ("view",),
    },
    "billing": {
        AGENT: ("view",),
        NOC: (),
        FINANCE: ("view", "add", "change"),
        RISK: ("view", "add", "change"),
    },
    "assurance": {AGENT: ("view",), NOC: ("view", "add", "change", "delete"), FINANCE: ()},
}


def ensure_roles() -> dict[str, Group]:
    """Create the role groups and (re)assign their permissions. Safe to run any number of times."""
    groups = {role: Group.objects.get_or_create(name=role)[0] for role in ROLES}
    groups[ADMIN].permissions.set(Permission.objects.all())
    for role in (AGENT, NOC, FINANCE, RISK):
        wanted = [
            Permission.objects.filter(
                content_type__app_label=app_label, codename__startswith=f"{action}_"
            )
            for app_label, by_role in ROLE_MODEL_PERMISSIONS.items()
            for action in by_role.get(role, ())
        ]
        permission_ids = {p.id for queryset in wanted for p in queryset}
        groups[role].permissions.set(permission_ids)
    return groups


def user_roles(user) -> set[str]:
    if not user or not user.is_authenticated:
        return set()
    if user.is_superuser:
        return set(ROLES)
    # Cached on the user object: one query per request, not one per check.
    if not hasattr(user, "_telco_roles"):
        user._telco_roles = set(user.groups.filter(name__in=ROLES).values_list("name", flat=True))
    return user._telco_roles


def has_role(user, *roles: str) -> bool:
    held = user_roles(user)
    return ADMIN in held or bool(held.intersection(roles))


class HasRole(BasePermission):
    """API access by role: the view names who may read (`read_roles`) and write (`write_roles`).

    Admins may do everything; a view that names no roles is readable and writable by admins only.
    """

    message = "Your role does not allow this operation."

    def has_permission(self, request, view):
        if not request.user or not request.user.is_authenticated:
            return False
        roles = (
            getattr(view, "read_roles", ())
            if request.method in SAFE_METHODS
            else getattr(view, "write_roles", ())
        )
        return has_role(request.user, *roles)
