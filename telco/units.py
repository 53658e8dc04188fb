"""Units the product reads from text: a bandwidth such as "500Mbps" or "1Gbps"."""

import re

BANDWIDTH_PATTERN = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([MG])bps\s*$", re.IGNORECASE)


def parse_bandwidth_mbps(value) -> int | None:
    """ "500Mbps" / "1Gbps" / 500 -> Mbit/s; None when absent or not a bandwidth (each caller
    decides what that means: a default, a refusal, a setting left out)."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    match = BANDWIDTH_PATTERN.match(str(value or ""))
    if not match:
        return None
    number, unit = float(match.group(1)), match.group(2).upper()
    return int(number * 1000) if unit == "G" else int(number)
