import math

from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect

from telco import auth
from telco.roles import AGENT, FINANCE, NOC, RISK, has_role


@login_required
def home(request):
    """Send each role to the screen it lives in."""
    if has_role(request.user, NOC) and not request.user.is_superuser:
        return redirect("assurance:noc-dashboard")
    # Risk analysts have no portal: their screen is revenue assurance.
    if has_role(request.user, RISK) and not has_role(request.user, AGENT, FINANCE):
        return redirect("finance:revenue-assurance")
    return redirect("crm:portal-search")


class LoginView(auth_views.LoginView):
    """The portal's sign-in page, refusing (429) a username that failed `LOGIN_FAILURE_LIMIT`
    times from the same address in the current window, without checking the password."""

    def post(self, request, *args, **kwargs):
        username = request.POST.get("username", "")
        wait = auth.sign_in_retry_after(username=username, address=auth.client_address(request))
        if wait is None:
            return super().post(request, *args, **kwargs)
        # Unbound: binding the posted form would check the password after all.
        form = self.get_form_class()(request, initial={"username": username})
        blocked = (
            "Too many failed sign-ins for this username: try again in "
            f"{math.ceil(wait / 60)} minute(s)."
        )
        context = self.get_context_data(form=form, blocked=blocked)
        response = self.render_to_response(context, status=429)
        response["Retry-After"] = str(wait)
        return response

    def form_valid(self, form):
        auth.sign_in_failures_clear(
            username=self.request.POST.get("username", ""),
            address=auth.client_address(self.request),
        )
        return super().form_valid(form)

    def form_invalid(self, form):
        auth.sign_in_failure_record(
            username=self.request.POST.get("username", ""),
            address=auth.client_address(self.request),
        )
        return super().form_invalid(form)
