"""Request limits for the API, answered with the TM Forum error body (never Django's HTML page)."""

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import JsonResponse

from telco.api.errors import error_body

API_PREFIXES = ("/tmf-api/", "/api/")


def too_large_response() -> JsonResponse:
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    body = error_body(
        413,
        "requestTooLarge",
        "Request Entity Too Large",
        f"body: the request body exceeds {limit} bytes.",
        errors={"body": [f"At most {limit} bytes."]},
    )
    return JsonResponse(body, status=413)


class APIRequestSizeMiddleware:
    """413 for an API body over `DATA_UPLOAD_MAX_MEMORY_SIZE`, before anything reads it.

    JSON and CSV text bodies are read whole into memory, so the declared length is checked up
    front; multipart file uploads stream to disk and stay bounded by Django's own rules, whose
    `RequestDataTooBig` is answered the same way.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if self._is_api(request) and self._declares_too_much(request):
            return too_large_response()
        return self.get_response(request)

    def process_exception(self, request, exception):
        if isinstance(exception, RequestDataTooBig) and self._is_api(request):
            return too_large_response()
        return None

    @staticmethod
    def _is_api(request) -> bool:
        return request.path.startswith(API_PREFIXES)

    @staticmethod
    def _declares_too_much(request) -> bool:
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        if limit is None or request.content_type == "multipart/form-data":
            return False
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            return False
        return length > limit
