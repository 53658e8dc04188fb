from rest_framework.parsers import JSONParser


class MergePatchParser(JSONParser):
    """JSON merge patch (RFC 7386) bodies: parsed as JSON, applied as a partial update."""

    media_type = "application/merge-patch+json"
