"""Sign-in rules shared by the portal's login page and the API: token lifetime and issue, and
the limit on failed sign-ins per username and address.

Counters live in the cache (Redis when configured, so every web process sees the same count).
"""

import hashlib
import math
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.db import transaction
from rest_framework.authtoken.models import Token
from rest_framework.throttling import BaseThrottle

from telco import clock


def token_expires_at(token: Token) -> datetime:
    """When the API token stops being accepted: `API_TOKEN_TTL_HOURS` after it was issued."""
    return token.created + timedelta(hours=settings.API_TOKEN_TTL_HOURS)


def token_is_expired(token: Token) -> bool:
    return clock.now() >= token_expires_at(token)


@transaction.atomic
def token_issue(*, user) -> Token:
    """The user's API token: the current one while it is valid, else a new one (the expired
    key stops working). Issued at `clock.now()`, so a moved clock judges it consistently."""
    # The user row is locked: two sign-ins at once replace an expired token once.
    get_user_model().objects.select_for_update().filter(pk=user.pk).first()
    token = Token.objects.filter(user=user).first()
    if token is not None and not token_is_expired(token):
        return token
    if token is not None:
        token.delete()
    token = Token.objects.create(user=user)
    # `created` is auto_now_add (the wall clock); the application clock decides expiry.
    token.created = clock.now()
    Token.objects.filter(pk=token.pk).update(created=token.created)
    return token


def client_address(request) -> str:
    """The caller's address, as the API throttles see it (REMOTE_ADDR, or X-Forwarded-For
    behind `API_NUM_PROXIES` trusted proxies)."""
    return BaseThrottle().get_ident(request) or ""


def fixed_window(key_prefix: str, seconds: int) -> tuple[str, float]:
    """The cache key of the current `seconds`-long window of `key_prefix`'s counter, and the
    seconds left in that window (counted on the application clock)."""
    now = clock.now().timestamp()
    index = int(now // seconds)
    return f"{key_prefix}:{index}", (index + 1) * seconds - now


def window_count_increment(key: str, seconds: int) -> int:
    """Add one to a window's counter: one atomic increment in the shared cache, so every web
    process counts together. Returns the new count."""
    cache.add(key, 0, timeout=seconds + 1)
    try:
        return cache.incr(key)
    except ValueError:  # expired between add and incr: this one opens a new window
        cache.set(key, 1, timeout=seconds + 1)
        return 1


def _failures_key(username: str, address: str) -> tuple[str, float]:
    """The counter of the current window, and the seconds left in it. Hashed: whatever is
    typed as a username, the key stays short and safe for the cache."""
    digest = hashlib.sha256(f"{username.strip().lower()}|{address}".encode()).hexdigest()
    return fixed_window(f"login-failures:{digest}", settings.LOGIN_FAILURE_WINDOW_SECONDS)


def sign_in_retry_after(*, username: str, address: str) -> int | None:
    """Seconds until `username` may try again from `address` after too many failed sign-ins
    (`LOGIN_FAILURE_LIMIT` per `LOGIN_FAILURE_WINDOW_SECONDS`); None when it may try now."""
    key, remaining = _failures_key(username, address)
    if (cache.get(key) or 0) < settings.LOGIN_FAILURE_LIMIT:
        return None
    return max(1, math.ceil(remaining))


def sign_in_failure_record(*, username: str, address: str) -> None:
    """Count a failed sign-in (one atomic increment, shared by every web process)."""
    key, _ = _failures_key(username, address)
    window_count_increment(key, settings.LOGIN_FAILURE_WINDOW_SECONDS)


def sign_in_failures_clear(*, username: str, address: str) -> None:
    """A successful sign-in forgets the failures before it."""
    key, _ = _failures_key(username, address)
    cache.delete(key)
