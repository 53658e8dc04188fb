"""One exception handler: every error leaves the API as the TM Forum error body."""

from django.core.exceptions import PermissionDenied
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler

from telco.exceptions import DomainError


def _flatten(detail, prefix: str = "") -> dict[str, list[str]]:
    """{"a": {"b": ["x"]}} -> {"a.b": ["x"]}, so every message names its field by path."""
    if isinstance(detail, dict):
        flat = {}
        for key, value in detail.items():
            # DRF reports list items as {index: errors}: name them `items[0]`, as lists do.
            if isinstance(key, int):
                path = f"{prefix}[{key}]"
            else:
                path = f"{prefix}.{key}" if prefix else str(key)
            flat.update(_flatten(value, path))
        return flat
    if isinstance(detail, list) and detail and not all(isinstance(d, str) for d in detail):
        flat = {}
        for index, value in enumerate(detail):
            if value:
                flat.update(_flatten(value, f"{prefix}[{index}]"))
        return flat
    messages = [str(d) for d in detail] if isinstance(detail, list) else [str(detail)]
    return {prefix or "non_field_errors": messages}


def error_body(status_code: int, code: str, reason: str, message: str, **extra) -> dict:
    return {
        "code": code,
        "reason": reason,
        "message": message,
        "status": str(status_code),
        "@type": "Error",
        **extra,
    }


def tmf_exception_handler(exc, context):
    if isinstance(exc, DomainError):
        errors = {exc.field: [exc.message]} if exc.field else {}
        message = f"{exc.field}: {exc.message}" if exc.field else exc.message
        body = error_body(exc.status_code, exc.code, type(exc).__name__, message, errors=errors)
        return Response(body, status=exc.status_code)
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()
    response = exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        errors = _flatten(exc.detail)
        message = "; ".join(f"{field}: {' '.join(msgs)}" for field, msgs in errors.items())
        response.data = error_body(
            status.HTTP_400_BAD_REQUEST, "invalidRequest", "Invalid input", message, errors=errors
        )
        return response
    code = exc.get_codes() if isinstance(exc.get_codes(), str) else "error"
    response.data = error_body(
        response.status_code, code, exc.default_detail.__str__(), str(exc.detail)
    )
    return response
