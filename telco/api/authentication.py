"""API authentication: tokens that expire (issued by `telco.api.token_views.TokenView`).

Imports no view: DRF imports this module while it defines its own views.
"""

from rest_framework.authentication import TokenAuthentication
from rest_framework.exceptions import AuthenticationFailed

from telco import auth


class ExpiringTokenAuthentication(TokenAuthentication):
    """`Authorization: Token <key>`, accepted for `API_TOKEN_TTL_HOURS` after it was issued;
    an expired token answers 401 (code `tokenExpired`): ask `/api/v1/auth/token` for a new one."""

    def authenticate_credentials(self, key):
        user, token = super().authenticate_credentials(key)
        if auth.token_is_expired(token):
            raise AuthenticationFailed(
                f"The token expired at {auth.token_expires_at(token).isoformat()}: "
                "request a new one.",
                code="tokenExpired",
            )
        return user, token
