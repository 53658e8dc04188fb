"""Row ids as clients send them: ASCII digits that fit PostgreSQL's bigint, or nothing."""

import re

BIGINT_MAX = 2**63 - 1
_ASCII_DIGITS = re.compile(r"[0-9]{1,19}")


def parse_id(raw) -> int | None:
    """The integer id in `raw` (text or number), or None when it cannot be a row's id.

    `str.isdigit()` is not enough: it accepts "²" and "٣", which `int()` refuses or reads as
    another number, and ids beyond bigint make PostgreSQL fail rather than find nothing.
    """
    if isinstance(raw, bool):
        return None
    text = str(raw)
    if not _ASCII_DIGITS.fullmatch(text):
        return None
    value = int(text)
    return value if value <= BIGINT_MAX else None
