"""API rate limits: DRF throttles whose rates are REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"].

- `user`: every authenticated caller, per user, on views without a scope of their own;
- `anon`: callers without credentials, per address (the schema, the token endpoint);
- scoped (`throttle_scope` on the view): `ingest` for the network's usage and alarm feeds,
  `login` for the token endpoint, each its own budget per user (or address).

Unlike DRF's throttles (a list of timestamps per client, read and rewritten on every request,
racing between web processes), these count requests in fixed windows with one atomic
increment in the shared cache, and read the rate at request time, so a changed setting (or a
test's `override_settings`) applies at once. A refused request answers 429 with Retry-After
and the TMF error body.
"""

from django.core.exceptions import ImproperlyConfigured
from rest_framework.settings import api_settings
from rest_framework.throttling import SimpleRateThrottle

from telco.auth import fixed_window, window_count_increment


class _FixedWindowThrottle(SimpleRateThrottle):
    scope: str | None = None

    def __init__(self):
        # The rate is read per request in `allow_request`, not once at construction.
        self.wait_seconds = None

    def scope_for(self, request, view) -> str | None:
        """The budget this request counts against; None: this throttle does not apply."""
        return self.scope

    def get_rate(self):
        rates = api_settings.DEFAULT_THROTTLE_RATES
        if self.scope not in rates:
            raise ImproperlyConfigured(f"No throttle rate set for the scope '{self.scope}'.")
        return rates[self.scope]

    def get_cache_key(self, request, view):
        if request.user and request.user.is_authenticated:
            ident = request.user.pk
        else:
            ident = self.get_ident(request)
        return self.cache_format % {"scope": self.scope, "ident": ident}

    def allow_request(self, request, view):
        self.scope = self.scope_for(request, view)
        if self.scope is None:
            return True
        rate = self.get_rate()
        if rate is None:
            return True
        limit, duration = self.parse_rate(rate)
        key, remaining = fixed_window(self.get_cache_key(request, view), duration)
        if window_count_increment(key, duration) <= limit:
            return True
        self.wait_seconds = remaining
        return False

    def wait(self):
        return self.wait_seconds


class UserRateThrottle(_FixedWindowThrottle):
    """Authenticated callers, per user, except on views that have a scope of their own."""

    scope = "user"

    def scope_for(self, request, view):
        if getattr(view, "throttle_scope", None):
            return None
        return "user" if request.user and request.user.is_authenticated else None


class AnonRateThrottle(_FixedWindowThrottle):
    """Callers without credentials, per address, except on views with a scope of their own."""

    scope = "anon"

    def scope_for(self, request, view):
        if getattr(view, "throttle_scope", None):
            return None
        return None if request.user and request.user.is_authenticated else "anon"


class ScopedRateThrottle(_FixedWindowThrottle):
    """Views naming a `throttle_scope` (ingest, login) have that budget instead."""

    def scope_for(self, request, view):
        return getattr(view, "throttle_scope", None)
