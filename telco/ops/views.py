"""/metrics (Prometheus, for the NOC and admins or a scraper's bearer token) and /health (for a
load balancer, no sign-in)."""

import hmac

from django.conf import settings
from django.http import HttpResponse, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from prometheus_client import CONTENT_TYPE_LATEST

from telco.ops import health as health_checks
from telco.ops.metrics import scrape
from telco.roles import NOC, has_role


def bearer_token_matches(request) -> bool:
    expected = settings.METRICS_TOKEN
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    if not expected or scheme.lower() != "bearer" or not given:
        return False
    return hmac.compare_digest(given.strip().encode(), expected.encode())


@never_cache
@require_GET
def metrics(request):
    if not bearer_token_matches(request):
        if not request.user.is_authenticated:
            response = HttpResponse("Sign in, or send the metrics bearer token.\n", status=401)
            response["WWW-Authenticate"] = 'Bearer realm="metrics"'
            return response
        if not has_role(request.user, NOC):
            return HttpResponse("Metrics are for the NOC and administrators.\n", status=403)
    return HttpResponse(scrape(), content_type=CONTENT_TYPE_LATEST)


@never_cache
@require_GET
def health(request):
    passed, checks = health_checks.health()
    return JsonResponse(
        {"status": "ok" if passed else "fail", "checks": checks}, status=200 if passed else 503
    )
