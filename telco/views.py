from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect

from telco.roles import NOC, has_role


@login_required
def home(request):
    """Send each role to the screen it lives in."""
    if has_role(request.user, NOC) and not request.user.is_superuser:
        return redirect("assurance:noc-dashboard")
    return redirect("crm:portal-search")
