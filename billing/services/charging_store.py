"""Where open charging sessions keep their running counters between quota reservations: Redis
(the cache's server, under the cache's key prefix), so an update within the reserved quota is
one Redis call and no database statement. Without Redis (the embedded default) there is no
store and the session row takes the updates.

Amounts are integers in ten-thousandths of the bucket's unit (the 4 places of the columns), so
the Lua scripts count exactly.
"""

import redis
from django.conf import settings

SCALE = 10_000

# An update: charge the reported use (at the session's price, at most what it holds), grant up
# to what was asked within the reservation. Answers "granted requested used price usage-type
# bucket" or nil when the store does not know the session.
_UPDATE = """
local state = redis.call('HMGET', KEYS[1], 'reserved', 'used', 'price', 'kind', 'bucket')
if not state[1] then return false end
local reserved, used, price = tonumber(state[1]), tonumber(state[2]), tonumber(state[3])
local held = reserved - used
local charge = math.floor(tonumber(ARGV[1]) * price / 10000 + 0.5)
if charge > held then charge = held end
used = used + charge
held = held - charge
local requested = math.floor(tonumber(ARGV[2]) * price / 10000 + 0.5)
local granted = held
if granted > requested then granted = requested end
redis.call('HSET', KEYS[1], 'used', used, 'seen', ARGV[3])
redis.call('HINCRBY', KEYS[1], 'requests', 1)
redis.call('EXPIRE', KEYS[1], ARGV[4])
return string.format('%d %d %d %d %s %s', granted, requested, used, price, state[4], state[5])
"""

# The end: the last report charged, the counters handed over and forgotten.
_CLOSE = """
local state = redis.call('HMGET', KEYS[1], 'reserved', 'used', 'price', 'requests')
if not state[1] then return false end
local reserved, used, price = tonumber(state[1]), tonumber(state[2]), tonumber(state[3])
local charge = math.floor(tonumber(ARGV[1]) * price / 10000 + 0.5)
if charge > reserved - used then charge = reserved - used end
redis.call('DEL', KEYS[1])
return {used + charge, tonumber(state[4])}
"""

_client = {"url": None, "redis": None, "scripts": None}


def _connection():
    """The Redis client (one pool per process) and the scripts, or None without Redis."""
    cache = settings.CACHES.get("default", {})
    url = cache.get("LOCATION", "") if "redis" in cache.get("BACKEND", "").lower() else ""
    if not settings.CHARGING_STORE_ENABLED or not str(url).startswith(("redis://", "rediss://")):
        return None
    if _client["url"] != url:
        client = redis.Redis.from_url(url)
        _client.update(
            url=url,
            redis=client,
            scripts=(client.register_script(_UPDATE), client.register_script(_CLOSE)),
        )
    return _client


def _key(session_id: str) -> str:
    prefix = settings.CACHES.get("default", {}).get("KEY_PREFIX", "")
    return f"{prefix}:charging:{session_id}"


def is_enabled() -> bool:
    return _connection() is not None


def scaled(amount) -> int:
    """A 4-place amount as the store's integer."""
    return int(amount * SCALE)


def session_open(
    *, session_id: str, reserved: int, price: int, usage_type: str, bucket_id: int, seen: float
) -> None:
    store = _connection()
    if store is None:
        return
    key = _key(session_id)
    pipe = store["redis"].pipeline(transaction=False)
    pipe.hset(
        key,
        mapping={
            "reserved": reserved,
            "used": 0,
            "price": price,
            "kind": usage_type,
            "bucket": bucket_id,
            "requests": 1,
            "seen": seen,
        },
    )
    pipe.expire(key, _ttl())
    pipe.execute()


def _ttl() -> int:
    return settings.CHARGING_SESSION_TIMEOUT_SECONDS * 4


def session_update(*, session_id: str, used: int, requested: int, seen: float) -> tuple | None:
    """Charge `used` and grant up to `requested` (both in service units, scaled) within the
    reservation: (granted, requested, used so far, price) as scaled bucket amounts, then the
    usage type and the bucket id; None when the store does not hold the session (no store,
    or it was lost: the row takes over)."""
    store = _connection()
    if store is None:
        return None
    answer = store["scripts"][0](keys=[_key(session_id)], args=[used, requested, seen, _ttl()])
    if not answer:
        return None
    # One string, not an array: a reply parsed in pure Python costs per element.
    granted, wanted, used_so_far, price, usage_type, bucket_id = answer.split()
    return (
        int(granted),
        int(wanted),
        int(used_so_far),
        int(price),
        usage_type.decode(),
        int(bucket_id),
    )


def session_reserved(*, session_id: str, added: int) -> None:
    """A new quota chunk reserved in the database: the store's reservation follows."""
    store = _connection()
    if store is not None:
        store["redis"].hincrby(_key(session_id), "reserved", added)


def session_close(*, session_id: str, used: int) -> tuple[int, int] | None:
    """Charge the last report and forget the session: (used in all, requests) as the store
    counted them, or None when it does not hold the session."""
    store = _connection()
    if store is None:
        return None
    answer = store["scripts"][1](keys=[_key(session_id)], args=[used])
    return tuple(answer) if answer else None


def sessions_peek(session_ids: list[str]) -> dict[str, tuple[float, int, int]]:
    """(last seen, used, requests) of each session the store holds."""
    store = _connection()
    if store is None or not session_ids:
        return {}
    pipe = store["redis"].pipeline(transaction=False)
    for session_id in session_ids:
        pipe.hmget(_key(session_id), "seen", "used", "requests")
    found = {}
    for session_id, (seen, used, requests) in zip(session_ids, pipe.execute(), strict=True):
        if seen is not None:
            found[session_id] = (float(seen), int(used), int(requests))
    return found


def sessions_forget(session_ids: list[str]) -> None:
    store = _connection()
    if store is not None and session_ids:
        store["redis"].delete(*(_key(session_id) for session_id in session_ids))
