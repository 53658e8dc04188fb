"""The statements of usage in bulk (see `billing.services.usage_bulk`): staging, keys,
suspensions, prices, the decision of every row, the insert, the answers and the reprocess."""

from billing.choices import UsageRejectionReason
from billing.models import UsageEvent, UsageSpecification
from billing.services.usage import MAX_VOLUME, UNIT_BYTES

USAGE = UsageEvent._meta.db_table
SPECIFICATION = UsageSpecification._meta.db_table
# inventory's and catalog's tables, named through the usage's relations (their models are not
# imported here).
_PRODUCT_MODEL = UsageEvent._meta.get_field("product").related_model
SERVICE = UsageEvent._meta.get_field("service").related_model._meta.db_table
PRODUCT = _PRODUCT_MODEL._meta.db_table
HISTORY = _PRODUCT_MODEL._meta.get_field("history").related_model._meta.db_table
PRICE = (
    _PRODUCT_MODEL._meta.get_field("product_offering")
    .related_model._meta.get_field("prices")
    .related_model._meta.db_table
)
STAGING, KEYS, SUSPENDED, PRICES, TWINS, DECIDED = (
    "usage_staging",
    "usage_keys",
    "usage_suspended",
    "usage_prices",
    "usage_twins",
    "usage_decided",
)
TEMPORARY = (STAGING, KEYS, SUSPENDED, PRICES, TWINS, DECIDED)


def _units_factor(column: str) -> str:
    cases = " ".join(f"WHEN '{unit}' THEN {size}" for unit, size in UNIT_BYTES.items())
    return f"(CASE {column} {cases} END)::numeric"


def _quantize_half_even(value: str) -> str:
    """`value` (not negative) rounded to 6 places half-even, as Decimal.quantize does."""
    scaled = f"({value}) * 1000000"
    return (
        f"(CASE WHEN {scaled} - trunc({scaled}) = 0.5 AND mod(trunc({scaled}), 2) = 0 "
        f"THEN trunc({value}, 6) ELSE round({value}, 6) END)"
    )


KEYS_SQL = f"""
    CREATE TEMP TABLE {KEYS} ON COMMIT DROP AS
    SELECT k.service_ref, sv.id AS service_id, p.id AS product_id,
           p.billing_account_id AS account_id, p.product_offering_id AS offering_id,
           p.status = ANY(%(billable)s) AND p.start_date IS NOT NULL AS is_billable,
           p.start_date, p.termination_date,
           EXISTS (SELECT 1 FROM {HISTORY} h WHERE h.product_id = p.id
                   AND h.to_state = %(suspended)s) AS was_suspended
    FROM (SELECT DISTINCT service_ref FROM {STAGING} WHERE service_ref <> '') k
    LEFT JOIN {SERVICE} sv
      ON sv.id = CASE WHEN k.service_ref ~ '^[0-9]{{1,18}}$' THEN k.service_ref::bigint END
    LEFT JOIN {SERVICE} parent ON parent.id = sv.parent_id
    LEFT JOIN {PRODUCT} p ON p.id = COALESCE(sv.product_id, parent.product_id)
"""  # noqa: S608 - table names come from model metadata; every value is a parameter

# Each status period of the products ever suspended: [since, until) in `to_state`.
SUSPENDED_SQL = f"""
    CREATE TEMP TABLE {SUSPENDED} ON COMMIT DROP AS
    SELECT product_id, since, until FROM (
        SELECT product_id, to_state, changed_at AS since,
               lead(changed_at) OVER (PARTITION BY product_id ORDER BY changed_at, id) AS until
        FROM {HISTORY}
        WHERE product_id IN (SELECT product_id FROM {KEYS} WHERE was_suspended)
    ) period
    WHERE to_state = %(suspended)s
"""  # noqa: S608 - see KEYS_SQL

# The usage prices of the batch's offerings as disjoint windows [since, until) per offering and
# rating group, each with the unit of the price that applies then (the lowest id of those in
# force, as `usage_price` picks): one hash join per row finds its price.
PRICES_SQL = f"""
    CREATE TEMP TABLE {PRICES} ON COMMIT DROP AS
    WITH price AS (
        SELECT id, product_offering_id AS offering_id, rating_group, unit_of_measure,
               valid_from, valid_to
        FROM {PRICE}
        WHERE price_type = 'usage' AND lifecycle_status = 'launched'
          AND product_offering_id IN (SELECT offering_id FROM {KEYS})
    ),
    bound AS (
        SELECT offering_id, rating_group, valid_from AS at FROM price
        UNION
        SELECT offering_id, rating_group, valid_to FROM price WHERE valid_to IS NOT NULL
    ),
    window_ AS (
        SELECT offering_id, rating_group, at AS since,
               lead(at) OVER (PARTITION BY offering_id, rating_group ORDER BY at) AS until
        FROM bound
    )
    SELECT * FROM (
        SELECT w.offering_id, w.rating_group, w.since, w.until,
               (SELECT p.unit_of_measure FROM price p
                WHERE p.offering_id = w.offering_id AND p.rating_group = w.rating_group
                  AND p.valid_from <= w.since AND (p.valid_to IS NULL OR p.valid_to > w.since)
                ORDER BY p.id LIMIT 1) AS unit_of_measure
        FROM window_ w
    ) priced
    WHERE unit_of_measure IS NOT NULL
"""  # noqa: S608 - see KEYS_SQL

ACCOUNT = UsageEvent._meta.get_field("billing_account").related_model._meta.db_table
# The rows a batch references, key-share locked once (what a foreign-key trigger would do for
# every record): none can be deleted, nor its key changed, before the batch commits.
_LOCKED = (
    (SERVICE, f"SELECT service_id FROM {KEYS}"),  # noqa: S608
    (PRODUCT, f"SELECT product_id FROM {KEYS}"),  # noqa: S608
    (ACCOUNT, f"SELECT account_id FROM {KEYS}"),  # noqa: S608
    (SPECIFICATION, f"SELECT DISTINCT specification_id FROM {STAGING}"),  # noqa: S608
)
LOCK_SQL = [
    f"SELECT 1 FROM {table} WHERE id IN ({ids}) ORDER BY id FOR KEY SHARE"  # noqa: S608
    for table, ids in _LOCKED
]

TWINS_SQL = f"""
    CREATE TEMP TABLE {TWINS} ON COMMIT DROP AS
    SELECT event_id, min(position) AS first FROM {STAGING}
    WHERE event_id <> '' GROUP BY event_id HAVING count(*) > 1
"""  # noqa: S608 - see KEYS_SQL


def _same_content(row: str, other: str, service: str, specification: str) -> str:
    """Whether batch row `row` carries what `other` does (its service as `service`)."""
    return f"""(
        {row}.service_ref = {service}
        AND {row}.usage_date IS NOT DISTINCT FROM {other}.usage_date
        AND {row}.volume IS NOT DISTINCT FROM {other}.volume
        AND {row}.unit = {other}.unit AND {row}.rating_group = {other}.rating_group
        AND {row}.usage_type = {other}.usage_type
        AND {row}.destination = {other}.destination
        AND COALESCE({row}.specification_id, '') = COALESCE({specification}, '')
    )"""


STORED_SERVICE = "COALESCE(e.service_id::text, e.reported_service_id)"


def _reason_sql() -> str:
    """(reason, message) of a row that cannot be charged, as two CASE expressions over the
    staging row `s`, its key `k`, specification `spec` and price `price`; NULL when it can."""
    units = ", ".join(UNIT_BYTES)
    unit_list = ", ".join(f"'{unit}'" for unit in UNIT_BYTES)
    rated, missing = "calc.rated", "calc.missing"
    at = "to_char({} AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"+00:00\"')"
    suspended = (
        f"k.was_suspended AND EXISTS (SELECT 1 FROM {SUSPENDED} h "  # noqa: S608 - names
        "WHERE h.product_id = k.product_id AND h.since <= s.usage_date "
        "AND (h.until IS NULL OR s.usage_date < h.until))"
    )
    R = UsageRejectionReason
    cases = [
        ("s.error <> ''", R.INVALID_VALUE, "s.error"),
        (
            "s.specification_id <> '' AND spec.id IS NULL",
            R.INVALID_VALUE,
            "'Usage specification ''' || s.specification_id || ''' does not exist.'",
        ),
        (f"{missing} <> ''", R.MISSING_ATTRIBUTE, f"'Missing ' || {missing} || '.'"),
        (
            f"s.unit NOT IN ({unit_list})",
            R.UNKNOWN_UNIT,
            f"'Unit ''' || s.unit || ''' is not one of {units}.'",
        ),
        (
            "k.service_id IS NULL",
            R.UNKNOWN_SERVICE,
            "'Service ''' || s.service_ref || ''' does not exist.'",
        ),
        (
            "k.product_id IS NULL OR NOT k.is_billable",
            R.NO_BILLABLE_PRODUCT,
            "'Service ''' || s.service_ref || ''' has no active product to charge.'",
        ),
        (
            "s.usage_date < k.start_date",
            R.NO_BILLABLE_PRODUCT,
            "'Usage is dated before the product started (' || "
            + at.format("k.start_date")
            + " || ').'",
        ),
        (
            "s.usage_date >= k.termination_date",
            R.NO_BILLABLE_PRODUCT,
            "'Usage is dated after the product was terminated (' || "
            + at.format("k.termination_date")
            + " || ').'",
        ),
        (suspended, R.NO_BILLABLE_PRODUCT, "'The product was suspended at the usageDate.'"),
        (
            "price.unit_of_measure IS NULL",
            R.UNPRICED_RATING_GROUP,
            "'Rating group ''' || s.rating_group || ''' is not priced on the product''s offering.'",
        ),
        (
            f"price.unit_of_measure NOT IN ({unit_list})",
            R.UNPRICED_RATING_GROUP,
            "'The usage price is in ''' || price.unit_of_measure || ''', which volume cannot "
            "convert to.'",
        ),
        (
            f"{rated} >= {MAX_VOLUME}",
            R.INVALID_VALUE,
            "'Volume ' || s.volume || ' ' || s.unit || ' is too large to store in ' || "
            "price.unit_of_measure || '.'",
        ),
    ]
    reason = " ".join(f"WHEN {test} THEN '{value}'" for test, value, _ in cases)
    message = " ".join(f"WHEN {test} THEN {text}" for test, _, text in cases)
    return f"CASE {reason} END AS reason, CASE {message} END AS message"


def _calculated_sql() -> str:
    """Per row, computed once (OFFSET 0 keeps the planner from inlining them into every use):
    the volume in the price's unit, rounded half-even (`calc.rated`), and the names of the
    attributes it lacks (`calc.missing`, '' when none)."""
    missing = (
        "concat_ws(', ', "
        "CASE WHEN s.usage_date IS NULL THEN 'usageDate' END, "
        "CASE WHEN s.event_id = '' THEN 'usageCharacteristic.eventId' END, "
        "CASE WHEN s.service_ref = '' THEN 'usageCharacteristic.serviceId' END, "
        "CASE WHEN s.volume IS NULL THEN 'usageCharacteristic.volume' END, "
        "CASE WHEN s.unit = '' THEN 'usageCharacteristic.unit' END, "
        "CASE WHEN s.rating_group = '' THEN 'usageCharacteristic.ratingGroup' END)"
    )
    factor = f"{_units_factor('s.unit')} / {_units_factor('price.unit_of_measure')}"
    # The rounding names the converted volume five times: converted once, in its own subquery.
    rated = _quantize_half_even("converted.volume")
    return f"""LEFT JOIN LATERAL (
            SELECT {rated} AS rated, {missing} AS missing
            FROM (SELECT s.volume * {factor} AS volume OFFSET 0) converted OFFSET 0
        ) calc ON TRUE"""  # noqa: S608 - unit names and sizes from code; no value is in it


# The usage ids' sequence, looked up once a batch: `nextval` of a name literal is resolved when
# the statement is parsed, where `pg_get_serial_sequence` in it would search the catalog again
# for every row (it was half the decision's time).
ID_SEQUENCE_SQL = f"SELECT pg_get_serial_sequence('{USAGE}', 'id')"


def decided_sql(*, against_stored: bool, id_sequence: str, has_twins: bool = False) -> str:
    """Every staging row decided (see the module). Against the stored records, and the batch's
    twins when it has any, when ingesting; alone when reprocessing stored records. New ids
    come from `id_sequence` (the name ID_SEQUENCE_SQL answers)."""
    sequence = "'" + id_sequence.replace("'", "''") + "'"
    reason = _reason_sql()
    price = f"""LEFT JOIN {PRICES} price
            ON price.offering_id = k.offering_id AND price.rating_group = s.rating_group
            AND price.since <= s.usage_date
            AND (price.until IS NULL OR s.usage_date < price.until)"""  # noqa: S608 - names
    if against_stored:
        as_stored = _same_content("s", "e", STORED_SERVICE, "e.usage_specification_id")
        as_first = _same_content("s", "f", "f.service_ref", "f.specification_id")
        first = (
            f"WHEN f.position IS NOT NULL THEN CASE"
            f" WHEN {as_first} THEN 'replay' ELSE 'conflict' END"
        )
        outcome = f"""CASE
            WHEN e.id IS NOT NULL THEN CASE WHEN {as_stored} THEN 'replay' ELSE 'conflict' END
            {first if has_twins else ""}
            ELSE 'created' END"""
        # An index probe per row (a hash of the whole usage table would read all of it).
        joins = f"""LEFT JOIN LATERAL (
                SELECT * FROM {USAGE} e WHERE e.event_id = s.event_id AND s.event_id <> ''
                LIMIT 1
            ) e ON TRUE"""  # noqa: S608
        if has_twins:  # most batches have none: no join (nor its sort) for them
            joins += f"""
            LEFT JOIN (
                SELECT f.* FROM {TWINS} t JOIN {STAGING} f ON f.position = t.first
            ) f ON f.event_id = s.event_id AND f.position <> s.position"""  # noqa: S608
        reference = "e.id"
    else:
        outcome, joins, reference = "'created'", "", "NULL::bigint"
    return f"""
        CREATE TEMP TABLE {DECIDED} ON COMMIT DROP AS
        SELECT decided.*,
               CASE WHEN outcome <> 'replay' AND %(new_ids)s
                    THEN nextval({sequence}::regclass) END AS id
        FROM (
            SELECT s.position, s.event_id, s.service_ref, s.usage_date, s.volume, s.unit,
                   s.rating_group, s.usage_type, spec.id AS specification_id, s.destination,
                   k.service_id, k.product_id, k.account_id,
                   calc.rated AS rated_volume,
                   {reference} AS reference_id,
                   {outcome} AS outcome,
                   {reason}
            FROM {STAGING} s
            LEFT JOIN {KEYS} k ON k.service_ref = s.service_ref
            LEFT JOIN {SPECIFICATION} spec ON spec.id = s.specification_id
            {price}
            {_calculated_sql()}
            {joins}
            -- New ids in the order the INSERT stores the rows (see INSERT_SQL): by product and
            -- date, as the product indexes are (the rating group between them is left out:
            -- comparing text costs more in the sort than it saves in the indexes).
            ORDER BY k.product_id, s.usage_date
        ) decided
    """  # noqa: S608 - names and reasons from code; every value is a parameter


# In-batch twins answer with the first row's id (replay) or point at it (conflict).
TWIN_REFERENCE_SQL = f"""
    UPDATE {DECIDED} d SET reference_id = f.id
    FROM {TWINS} t JOIN {DECIDED} f ON f.position = t.first
    WHERE d.event_id = t.event_id AND d.position <> t.first AND d.reference_id IS NULL
"""  # noqa: S608 - see KEYS_SQL

# Every created row and conflicting arrival, with the id it was given (replays have none).
# A plain INSERT: the rows already stored were found by the decision; a concurrent twin shows
# as a unique violation, which `_store` resolves.
INSERT_SQL = f"""
    INSERT INTO {USAGE} (
            id, event_id, reported_event_id, duplicate_of_id, service_id, product_id,
            billing_account_id, usage_date, usage_type, usage_specification_id, rating_group,
            volume, unit, rated_volume, status, rejection_reason, rejection_message,
            reported_service_id, received_at, destination
        )
        SELECT id,
               CASE WHEN outcome = 'created' THEN NULLIF(event_id, '') END,
               CASE WHEN outcome = 'conflict' THEN event_id ELSE '' END,
               CASE WHEN outcome = 'conflict' THEN reference_id END,
               service_id, product_id, account_id, usage_date, usage_type, specification_id,
               rating_group, volume, unit,
               CASE WHEN outcome = 'created' AND reason IS NULL THEN rated_volume END,
               CASE WHEN outcome = 'created' AND reason IS NULL THEN %(received)s
                    ELSE %(rejected)s END,
               CASE WHEN outcome = 'conflict' THEN %(conflict)s ELSE COALESCE(reason, '') END,
               CASE WHEN outcome = 'conflict'
                    THEN left('eventId ''' || event_id || ''' was stored before (usage '
                              || reference_id || ') with different content.', 300)
                    ELSE COALESCE(message, '') END,
               CASE WHEN service_id IS NULL THEN service_ref ELSE '' END,
               %(now)s, destination
        FROM {DECIDED} WHERE id IS NOT NULL
        -- No ORDER BY: the decision wrote its rows, and gave their ids, in the order of the
        -- (product ...) indexes, and a temporary table is read in the order it was written (a
        -- row a twin or race update rewrote comes later: only its locality suffers). So rows in
        -- a row land on the same leaf pages instead of each on a page at random (3-4x cheaper
        -- once the indexes outgrow memory), and the primary key is appended to at its end.
"""  # noqa: S608 - see KEYS_SQL

# Created rows another transaction stored first (a concurrent twin): now replays or conflicts.
_AS_STORED = _same_content("d", "e", STORED_SERVICE, "e.usage_specification_id")
RACE_SQL = f"""
    UPDATE {DECIDED} d SET reference_id = e.id,
        outcome = CASE WHEN {_AS_STORED} THEN 'replay' ELSE 'conflict' END,
        id = CASE WHEN {_AS_STORED} THEN NULL ELSE d.id END
    FROM {USAGE} e
    WHERE d.outcome = 'created' AND d.event_id <> '' AND e.event_id = d.event_id AND e.id <> d.id
    RETURNING d.position
"""  # noqa: S608 - see KEYS_SQL

ANSWERS_SQL = f"""
    SELECT position, outcome, COALESCE(CASE WHEN outcome = 'conflict' THEN reference_id END,
                                       id, reference_id),
           CASE WHEN outcome = 'conflict' THEN id END,
           COALESCE(reason, ''), COALESCE(message, ''), event_id
    FROM {DECIDED} {{where}} ORDER BY position {{limit}}
"""  # noqa: S608 - see KEYS_SQL

COUNTS_SQL = f"""
    SELECT outcome, reason IS NOT NULL, count(*) FROM {DECIDED} GROUP BY 1, 2
"""  # noqa: S608 - see KEYS_SQL


REPROCESS_LOAD_SQL = f"""
    INSERT INTO {STAGING} (position, event_id, service_ref, usage_date, volume, unit,
                           rating_group, usage_type, specification_id, destination, error)
    SELECT id, COALESCE(event_id, ''), COALESCE(service_id::text, reported_service_id),
           usage_date, volume, unit, rating_group, usage_type,
           COALESCE(usage_specification_id, ''), destination, ''
    FROM {USAGE}
    WHERE status = %(rejected)s AND rejection_reason = ANY(%(reasons)s) {{filters}}
    ORDER BY id
    FOR UPDATE
"""  # noqa: S608 - see KEYS_SQL

REPROCESS_SQL = f"""
    WITH moved AS (
        UPDATE {USAGE} u SET
            service_id = d.service_id, product_id = d.product_id,
            billing_account_id = d.account_id,
            reported_service_id = CASE WHEN d.service_id IS NULL THEN d.service_ref ELSE '' END,
            rated_volume = CASE WHEN d.reason IS NULL THEN d.rated_volume END,
            status = CASE WHEN d.reason IS NULL THEN %(received)s ELSE %(rejected)s END,
            rejection_reason = COALESCE(d.reason, ''),
            rejection_message = COALESCE(d.message, '')
        FROM {DECIDED} d WHERE u.id = d.position
        RETURNING d.reason
    )
    SELECT COALESCE(reason, ''), count(*) FROM moved GROUP BY 1 ORDER BY 1
"""  # noqa: S608 - see KEYS_SQL
