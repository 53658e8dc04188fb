from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser

# No TM Forum body nests anywhere near this deep; a deeper one is an attack on the parser (or on
# the recursive code that would walk it later), answered 400 before anything reads it.
MAX_JSON_DEPTH = 32


def _depth_exceeds(value, limit: int) -> bool:
    """Whether `value` nests objects or arrays deeper than `limit` (walked a level at a time,
    without recursion: a batch of 20,000 Usage bodies is checked in a few list passes)."""
    level, depth = [value], 1
    while level:
        containers = [each for each in level if isinstance(each, dict | list)]
        if not containers:
            return False
        if depth > limit:
            return True
        level = []
        for container in containers:
            level.extend(container.values() if isinstance(container, dict) else container)
        depth += 1
    return False


class TMFJSONParser(JSONParser):
    """JSON bodies, refusing nesting deeper than `MAX_JSON_DEPTH` with 400 (never a 500)."""

    def parse(self, stream, media_type=None, parser_context=None):
        too_deep = ParseError(f"JSON parse error - nested deeper than {MAX_JSON_DEPTH} levels.")
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise too_deep from None
        if _depth_exceeds(data, MAX_JSON_DEPTH):
            raise too_deep
        return data


class MergePatchParser(TMFJSONParser):
    """JSON merge patch (RFC 7386) bodies: parsed as JSON, applied as a partial update."""

    media_type = "application/merge-patch+json"
