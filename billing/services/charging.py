"""Online charging (Diameter Gy style credit control) against prepaid buckets.

A session reserves a quota chunk (`CHARGING_QUOTA_CHUNKS` times what it asked for) from its
bucket with one atomic statement that can only take what the bucket holds (`LEAST(remaining,
chunk)` on the locked row; the bucket's CHECK refuses a negative balance), so no number of
concurrent sessions takes more than the bucket held. Updates within the chunk count the use in
the store (Redis, `charging_store`: one Lua call, no database statement), or without Redis in
the session row alone (committed asynchronously). A session commits its use and releases the
rest of its chunks to the bucket when it terminates, or when the sweep finds it silent, in one
statement (asynchronous commit: a crash may forget the last reports, so the customer is charged
less, never more than the balance held); every reserve, commit and release is a ledger row
(BalanceAction).

Quantities in the API are service units (MB, minutes, SMS); a session on a monetary bucket (its
allowance used up) converts them at the plan's out-of-bundle price. PostgreSQL only.
"""

from contextlib import nullcontext
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import ROUND_DOWN, Decimal

from django.conf import settings
from django.db import IntegrityError, connection, transaction

from billing.models.prepaid import (
    BUCKET_UNITS,
    BucketStatus,
    ChargingSession,
    PrepaidBucket,
    SessionState,
    UsageType,
)
from billing.services import charging_store as store
from billing.services.charging_store import SCALE
from telco import clock
from telco.exceptions import Conflict, DomainError, NotFound

SUCCESS = 2001
CREDIT_LIMIT_REACHED = 4012
RESULT_NAMES = {SUCCESS: "DIAMETER_SUCCESS", CREDIT_LIMIT_REACHED: "DIAMETER_CREDIT_LIMIT_REACHED"}
SERVICE_USAGE_TYPES = (UsageType.DATA, UsageType.VOICE, UsageType.SMS)
QUANTUM = Decimal("0.0001")


@dataclass(frozen=True)
class Grant:
    """A credit-control answer: the units the network may use now, in service units."""

    session_id: str
    result_code: int
    granted_units: Decimal
    usage_type: str

    @property
    def result_name(self) -> str:
        return RESULT_NAMES[self.result_code]

    @property
    def units(self) -> str:
        return BUCKET_UNITS[self.usage_type]


def _quantity(value, field: str) -> Decimal:
    """A non-negative quantity with at most 4 decimals."""
    try:
        number = Decimal(value)
    except (ArithmeticError, TypeError, ValueError):
        raise DomainError("A number of units is expected.", field=field) from None
    if not number.is_finite() or number < 0 or number != number.quantize(QUANTUM):
        raise DomainError("Units are a number >= 0 with at most 4 decimals.", field=field)
    if number >= Decimal("1e12"):
        raise DomainError("Too many units for one request.", field=field)
    return number


def to_units(amount: Decimal, unit_price: Decimal) -> Decimal:
    """Bucket amount -> service units, rounded down (never grant what is not held)."""
    return (amount / unit_price).quantize(QUANTUM, rounding=ROUND_DOWN)


def _grant(session_id: str, usage_type: str, granted: Decimal, unit_price: Decimal) -> Grant:
    units = to_units(granted, unit_price)
    code = SUCCESS if units > 0 else CREDIT_LIMIT_REACHED
    return Grant(session_id, code, units, usage_type)


def _choose_bucket(product_id: int, usage_type: str, now: datetime) -> tuple[int, Decimal]:
    """The bucket a new session draws from: the product's unit bucket of that type while it
    holds anything, else its money at the plan's out-of-bundle price; (0, 1) when neither can
    pay. (bucket id, bucket units per service unit)."""
    rows = list(
        PrepaidBucket.objects.filter(
            product_id=product_id, usage_type__in=(usage_type, UsageType.MONETARY)
        ).values_list(
            "pk",
            "usage_type",
            "status",
            "remaining",
            "valid_to",
            "product__product_offering__prepaid_plan__price_per_mb",
            "product__product_offering__prepaid_plan__price_per_minute",
            "product__product_offering__prepaid_plan__price_per_sms",
        )
    )
    if not rows:
        raise NotFound(f"Product '{product_id}' has no prepaid balance.", field="product.id")
    usable = {
        row[1]: row[0]
        for row in rows
        if row[2] == BucketStatus.ACTIVE and row[3] > 0 and (row[4] is None or row[4] > now)
    }
    if usage_type in usable:
        return usable[usage_type], Decimal(1)
    price = dict(zip(SERVICE_USAGE_TYPES, rows[0][5:8], strict=True))[usage_type]
    if UsageType.MONETARY in usable and price:
        return usable[UsageType.MONETARY], price
    return 0, Decimal(1)


# One statement: take up to a chunk from the bucket (locked row, only what it holds) and
# write the reserve to the ledger; the caller's statement then records it on the session.
_TAKE = """
    locked AS (
        SELECT id, LEAST(remaining, %(chunk)s) AS amount FROM billing_prepaidbucket
        WHERE id = %(bucket)s AND status = 'active' AND remaining > 0
          AND set_config('synchronous_commit', %(commit_mode)s, true) IS NOT NULL
          AND (valid_to IS NULL OR valid_to > %(now)s)
        FOR UPDATE
    ),
    take AS (
        UPDATE billing_prepaidbucket bucket
        SET remaining = bucket.remaining - locked.amount,
            reserved = bucket.reserved + locked.amount, last_update = %(now)s
        FROM locked WHERE bucket.id = locked.id
        RETURNING bucket.id AS bucket_id, locked.amount
    )
"""

_INITIAL = f"""
    WITH {_TAKE},
    session AS (
        INSERT INTO billing_chargingsession (session_id, bucket_id, product_id, usage_type,
            unit_price, reserved, granted, used, request_number, state, created_at,
            last_seen_at)
        SELECT %(session)s, bucket_id, %(product)s, %(usage_type)s, %(price)s, amount,
            LEAST(amount, %(requested)s), 0, 1, 'active', %(now)s, %(now)s
        FROM take
        RETURNING id, bucket_id, reserved, granted
    ),
    ledger AS (
        INSERT INTO billing_balanceaction (bucket_id, kind, amount, session_id, created_at)
        SELECT bucket_id, 'reserve', reserved, id, %(now)s FROM session
    )
    SELECT granted, reserved FROM session
"""  # noqa: S608 - composed of constants; every value is a parameter

# Within the reservation: the session row only, committed asynchronously (see the module).
_UPDATE = """
    UPDATE billing_chargingsession
    SET used = used + LEAST(%(used)s * unit_price, reserved - used),
        granted = LEAST(
            %(requested)s * unit_price,
            reserved - used - LEAST(%(used)s * unit_price, reserved - used)
        ),
        request_number = request_number + 1, last_seen_at = %(now)s
    WHERE session_id = %(session)s AND state = 'active'
      AND set_config('synchronous_commit', 'off', true) IS NOT NULL
    RETURNING bucket_id, usage_type, unit_price, granted
"""

# A new chunk for an open session: the session row is locked first (as terminate and the
# sweep lock it), so a chunk is never taken for a session that is closing. In store mode the
# store's count of use and requests is written to the row at the same time.
_REFILL = """
    WITH open_session AS (
        SELECT id FROM billing_chargingsession
        WHERE session_id = %(session)s AND state = 'active'
        FOR UPDATE
    ),
    locked AS (
        SELECT id, LEAST(remaining, %(chunk)s) AS amount FROM billing_prepaidbucket
        WHERE id = %(bucket)s AND status = 'active' AND remaining > 0
          AND set_config('synchronous_commit', %(commit_mode)s, true) IS NOT NULL
          AND (valid_to IS NULL OR valid_to > %(now)s) AND EXISTS (SELECT 1 FROM open_session)
        FOR UPDATE
    ),
    take AS (
        UPDATE billing_prepaidbucket bucket
        SET remaining = bucket.remaining - locked.amount,
            reserved = bucket.reserved + locked.amount, last_update = %(now)s
        FROM locked WHERE bucket.id = locked.id
        RETURNING bucket.id AS bucket_id, locked.amount
    ),
    session AS (
        UPDATE billing_chargingsession charging
        SET reserved = charging.reserved + take.amount,
            used = COALESCE(%(used)s, charging.used),
            request_number = COALESCE(%(requests)s, charging.request_number),
            last_seen_at = %(now)s,
            granted = LEAST(
                %(requested)s,
                charging.reserved + take.amount - COALESCE(%(used)s, charging.used)
            )
        FROM take, open_session WHERE charging.id = open_session.id
        RETURNING charging.id, charging.granted, take.amount
    ),
    ledger AS (
        INSERT INTO billing_balanceaction (bucket_id, kind, amount, session_id, created_at)
        SELECT take.bucket_id, 'reserve', take.amount, session.id, %(now)s FROM take, session
    )
    SELECT granted, amount FROM session
"""

# Sessions that end: their use committed, the rest of their chunks back to their buckets, one
# statement for one session (terminate) or for every silent one (the sweep). Per session:
# `absolute` is the use the store counted (NULL: the row's), `reported` the last report, in
# service units. Committed asynchronously too: lost in a crash, the session is still open and
# the sweep closes it later (holding its reservation meanwhile), so no balance is overspent.
_CLOSE = """
    WITH input AS (
        SELECT * FROM unnest(
            %(ids)s::varchar[], %(absolute)s::numeric[], %(reported)s::numeric[],
            %(requests)s::integer[]
        ) AS input(session_id, absolute, reported, requests)
    ),
    session AS (
        UPDATE billing_chargingsession charging
        SET used = LEAST(charging.reserved, COALESCE(input.absolute, charging.used))
            + LEAST(
                input.reported * charging.unit_price,
                charging.reserved
                - LEAST(charging.reserved, COALESCE(input.absolute, charging.used))
            ),
            granted = 0,
            request_number = GREATEST(
                charging.request_number + %(add)s, COALESCE(input.requests, 0)
            ),
            state = %(state)s, terminated_at = %(now)s,
            last_seen_at = GREATEST(charging.last_seen_at, %(seen)s)
        FROM input
        WHERE charging.session_id = input.session_id AND charging.state = 'active'
          AND (%(before)s::timestamptz IS NULL OR charging.last_seen_at < %(before)s)
          AND set_config('synchronous_commit', 'off', true) IS NOT NULL
        RETURNING charging.id, charging.bucket_id, charging.reserved, charging.used,
            charging.usage_type, charging.session_id
    ),
    totals AS (
        SELECT bucket_id, SUM(reserved) AS reserved, SUM(used) AS used
        FROM session GROUP BY bucket_id
    ),
    bucket AS (
        UPDATE billing_prepaidbucket bucket
        SET reserved = bucket.reserved - totals.reserved,
            remaining = bucket.remaining + totals.reserved - totals.used,
            last_update = %(now)s
        FROM totals WHERE bucket.id = totals.bucket_id
    ),
    ledger AS (
        INSERT INTO billing_balanceaction (bucket_id, kind, amount, session_id, created_at)
        SELECT bucket_id, 'commit', used, id, %(now)s FROM session WHERE used > 0
        UNION ALL
        SELECT bucket_id, 'release', reserved - used, id, %(now)s FROM session
        WHERE reserved > used
    )
    SELECT usage_type, session_id FROM session
"""


def _statement():
    """One statement is atomic on its own: no BEGIN/COMMIT round trips around it, but a
    savepoint inside a caller's transaction (so a refused statement leaves that usable)."""
    return transaction.atomic() if connection.in_atomic_block else nullcontext()


def _reserve_commit_mode() -> str:
    """Reservations commit asynchronously unless CHARGING_DURABLE_RESERVATIONS: a database
    crash may then forget the last of them, and with them the sessions' hold on the balance
    (the balance itself stays whole: what is lost is at most a chunk of use per open session
    that is never charged). Durable, each costs a disk flush."""
    return "on" if settings.CHARGING_DURABLE_RESERVATIONS else "off"


def _chunk(requested: Decimal) -> Decimal:
    return requested * settings.CHARGING_QUOTA_CHUNKS


def _requested(value, unit_price: Decimal) -> Decimal:
    units = _quantity(value, "requestedUnits") if value is not None else None
    if units is None or units == 0:
        units = Decimal(settings.CHARGING_DEFAULT_GRANT_UNITS)
    return units * unit_price


def credit_control_initial(
    *, session_id: str, product_id: int, usage_type: str, requested_units=None
) -> Grant:
    """CCR-Initial: open a session on the product's balance and reserve its first quota.

    Answers the granted units, or CREDIT_LIMIT_REACHED (nothing granted, no session kept) when
    the balance holds nothing for it. A session id already in use is a 409.
    """
    if not session_id or len(session_id) > 200 or "\x00" in session_id:
        raise DomainError("A session id of 1 to 200 characters is needed.", field="sessionId")
    if usage_type not in SERVICE_USAGE_TYPES:
        raise DomainError(
            f"The usage type is one of {', '.join(SERVICE_USAGE_TYPES)}.", field="usageType"
        )
    now = clock.now()
    bucket_id, price = _choose_bucket(product_id, usage_type, now)
    requested = _requested(requested_units, price)
    if bucket_id == 0 or requested == 0:
        return Grant(session_id, CREDIT_LIMIT_REACHED, Decimal(0), usage_type)
    parameters = {
        "commit_mode": _reserve_commit_mode(),
        "bucket": bucket_id,
        "chunk": _chunk(requested),
        "now": now,
        "session": session_id,
        "product": product_id,
        "usage_type": usage_type,
        "price": price,
        "requested": requested,
    }
    try:
        with _statement(), connection.cursor() as cursor:
            cursor.execute(_INITIAL, parameters)
            row = cursor.fetchone()
    except IntegrityError:
        raise Conflict(f"Session '{session_id}' exists.", field="sessionId") from None
    if row is None:
        return Grant(session_id, CREDIT_LIMIT_REACHED, Decimal(0), usage_type)
    store.session_open(
        session_id=session_id,
        reserved=store.scaled(row[1]),
        price=store.scaled(price),
        usage_type=usage_type,
        bucket_id=bucket_id,
        seen=now.timestamp(),
    )
    return _grant(session_id, usage_type, row[0], price)


def _known_session_id(session_id: str) -> str:
    """A session id no session can have (empty, too long, a NUL byte) is simply unknown."""
    if not session_id or len(session_id) > 200 or "\x00" in session_id:
        raise NotFound(f"No open session '{session_id[:200]}'.", field="sessionId")
    return session_id


def credit_control_update(*, session_id: str, used_units=0, requested_units=None) -> Grant:
    """CCR-Update: record the units used since the last answer and grant more.

    Within the session's reservation only the store (else the session row) changes; when
    that runs short a new quota chunk is reserved from the bucket. Nothing left:
    CREDIT_LIMIT_REACHED, granted 0.
    """
    session_id = _known_session_id(session_id)
    used = _quantity(used_units or 0, "usedUnits")
    requested = _quantity(requested_units, "requestedUnits") if requested_units else None
    requested = requested or Decimal(settings.CHARGING_DEFAULT_GRANT_UNITS)
    now = clock.now()
    counted = store.session_update(
        session_id=session_id,
        used=store.scaled(used),
        requested=store.scaled(requested),
        seen=now.timestamp(),
    )
    if counted is not None:
        return _update_counted(session_id, counted, now)
    with connection.cursor() as cursor:
        # The price is on the row: units are converted in SQL, one statement.
        cursor.execute(
            _UPDATE, {"session": session_id, "used": used, "requested": requested, "now": now}
        )
        row = cursor.fetchone()
    if row is None:
        raise NotFound(f"No open session '{session_id}'.", field="sessionId")
    bucket_id, usage_type, price, granted = row
    wanted = requested * price
    if granted < wanted:
        refilled = _refill(session_id, bucket_id, wanted, now)
        if refilled is not None:
            granted = refilled[0]
    return _grant(session_id, usage_type, granted, price)


def _refill(
    session_id: str, bucket_id: int, wanted: Decimal, now: datetime, **counted
) -> tuple | None:
    """Reserve another chunk for the session: (granted, amount taken) or None (nothing)."""
    parameters = {
        "commit_mode": _reserve_commit_mode(),
        "bucket": bucket_id,
        "chunk": _chunk(wanted),
        "now": now,
        "session": session_id,
        "requested": wanted,
        "used": counted.get("used"),
        "requests": counted.get("requests"),
    }
    with _statement(), connection.cursor() as cursor:
        cursor.execute(_REFILL, parameters)
        return cursor.fetchone()


def _update_counted(session_id: str, counted: tuple, now: datetime) -> Grant:
    """An update the store answered; a new chunk from the database when the session's
    reservation cannot grant what was asked."""
    granted, wanted, used, price, usage_type, bucket_id = counted
    price = Decimal(price) / SCALE
    if granted >= wanted:
        return _grant(session_id, usage_type, Decimal(granted) / SCALE, price)
    refilled = _refill(
        session_id, bucket_id, Decimal(wanted) / SCALE, now, used=Decimal(used) / SCALE
    )
    if refilled is None:
        return _grant(session_id, usage_type, Decimal(granted) / SCALE, price)
    store.session_reserved(session_id=session_id, added=store.scaled(refilled[1]))
    return _grant(session_id, usage_type, refilled[0], price)


def _close(ids, *, absolute, reported, requests, add, state, now, seen, before=None):
    with _statement(), connection.cursor() as cursor:
        cursor.execute(
            _CLOSE,
            {
                "ids": ids,
                "absolute": absolute,
                "reported": reported,
                "requests": requests,
                "add": add,
                "state": state,
                "now": now,
                "seen": seen,
                "before": before,
            },
        )
        return cursor.fetchall()


def credit_control_terminate(*, session_id: str, used_units=0) -> Grant:
    """CCR-Terminate: commit the units used since the last answer, release the rest."""
    session_id = _known_session_id(session_id)
    used = _quantity(used_units or 0, "usedUnits")
    now = clock.now()
    counted = store.session_close(session_id=session_id, used=store.scaled(used))
    if counted is None:
        absolute, reported, requests = None, used, None
    else:
        absolute, reported, requests = Decimal(counted[0]) / SCALE, Decimal(0), counted[1] + 1
    rows = _close(
        [session_id],
        absolute=[absolute],
        reported=[reported],
        requests=[requests],
        add=1,
        state=SessionState.TERMINATED,
        now=now,
        seen=now,
    )
    if not rows:
        raise NotFound(f"No open session '{session_id}'.", field="sessionId")
    return Grant(session_id, SUCCESS, Decimal(0), rows[0][0])


def charging_sessions_release_silent(*, now: datetime | None = None) -> int:
    """Close every session silent for longer than CHARGING_SESSION_TIMEOUT_SECONDS: what it
    used is committed, the rest released. One statement, whatever the number (the store is
    asked once for the candidates' last requests)."""
    now = now or clock.now()
    cutoff = now - timedelta(seconds=settings.CHARGING_SESSION_TIMEOUT_SECONDS)
    candidates = list(
        ChargingSession.objects.filter(
            state=SessionState.ACTIVE, last_seen_at__lt=cutoff
        ).values_list("session_id", flat=True)
    )
    counted = store.sessions_peek(candidates)
    silent = [
        session_id
        for session_id in candidates
        if session_id not in counted or counted[session_id][0] < cutoff.timestamp()
    ]
    if not silent:
        return 0
    rows = _close(
        silent,
        absolute=[Decimal(counted[s][1]) / SCALE if s in counted else None for s in silent],
        reported=[Decimal(0)] * len(silent),
        requests=[counted[s][2] if s in counted else None for s in silent],
        add=0,
        state=SessionState.TIMED_OUT,
        now=now,
        seen=cutoff,
        before=cutoff,
    )
    store.sessions_forget([row[1] for row in rows])
    return len(rows)
