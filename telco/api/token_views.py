"""`POST /api/v1/auth/token`: an API token for a username and password."""

from django.contrib.auth import authenticate
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.exceptions import Throttled, ValidationError
from rest_framework.generics import GenericAPIView
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.settings import api_settings

from telco import auth


class TokenRequestSerializer(serializers.Serializer):
    username = serializers.CharField(max_length=150)
    password = serializers.CharField(max_length=128, trim_whitespace=False)


class TokenSerializer(serializers.Serializer):
    token = serializers.CharField()
    expiresAt = serializers.DateTimeField()


class TokenView(GenericAPIView):
    """`POST /api/v1/auth/token` with a username and password: the user's API token and when it
    expires (the current token while valid, else a new one).

    Limited twice: every request counts against the `login` rate of its address, and after
    `LOGIN_FAILURE_LIMIT` failures for one username from one address the next attempts answer
    429 (Retry-After) without checking the password, as the portal's login page does.
    """

    serializer_class = TokenRequestSerializer
    authentication_classes = []  # a stale token in the header must not stop a new one
    permission_classes = [AllowAny]
    # JSON, or a plain form post (`curl -d username=... -d password=...`).
    parser_classes = [*api_settings.DEFAULT_PARSER_CLASSES, FormParser, MultiPartParser]
    throttle_scope = "login"

    @extend_schema(responses=TokenSerializer, auth=[])
    def post(self, request):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        username = serializer.validated_data["username"]
        address = auth.client_address(request)
        wait = auth.sign_in_retry_after(username=username, address=address)
        if wait is not None:
            raise Throttled(wait=wait, detail="Too many failed sign-ins: try again later.")
        user = authenticate(
            request, username=username, password=serializer.validated_data["password"]
        )
        if user is None or not user.is_active:
            auth.sign_in_failure_record(username=username, address=address)
            raise ValidationError({"password": ["Unable to sign in with these credentials."]})
        auth.sign_in_failures_clear(username=username, address=address)
        token = auth.token_issue(user=user)
        return Response(
            TokenSerializer({"token": token.key, "expiresAt": auth.token_expires_at(token)}).data
        )
