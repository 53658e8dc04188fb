"""The statements of the fraud rules (see `billing.services.fraud`): the services with usage
since the watermark, then one statement per rule over their windows.

Every window ends at the end of the hour of the service's latest new record (`window_end`), so
a record arriving late is judged with what surrounded it, and the same data judged again gives
the same figures. A service's usage is read through the usage's (product, rating group, date)
index: the services' products are known from the new records.
"""

from billing.choices import UsageStatus
from billing.models import UsageEvent

USAGE = UsageEvent._meta.db_table
TOUCHED = "fraud_touched"

# Usage that rating accepted (rejected records have no rated volume).
RATED_STATUSES = [UsageStatus.RECEIVED, UsageStatus.RATED, UsageStatus.BILLED]

# A voice record: by its type or its specification (billing.reference's `voice-call`).
VOICE = "(u.usage_type = 'voice' OR u.usage_specification_id = 'voice-call')"
# A call's duration in seconds: voice records report seconds, a few mediation systems minutes.
SECONDS = "(CASE WHEN u.unit IN ('min', 'minutes') THEN u.volume * 60 ELSE u.volume END)"

# The services with records in (after, up_to], their product and account, and where their
# windows end. Conflicting arrivals (duplicate_of) are copies of a stored record: not usage.
TOUCHED_SQL = f"""
    CREATE TEMP TABLE {TOUCHED} ON COMMIT DROP AS
    SELECT service_id, max(product_id) AS product_id, max(billing_account_id) AS account_id,
           date_bin('1 hour', max(usage_date), timestamptz '2000-01-01 00:00:00+00')
               + interval '1 hour' AS window_end
    FROM {USAGE}
    WHERE id > %(after)s AND id <= %(up_to)s
      AND service_id IS NOT NULL AND product_id IS NOT NULL AND usage_date IS NOT NULL
      AND duplicate_of_id IS NULL
    GROUP BY service_id
"""  # noqa: S608 - table names come from model metadata; every value is a parameter

# The hour a record falls in (UTC): date_bin is cheaper than date_trunc in a time zone.
HOUR = "date_bin('1 hour', u.usage_date, timestamptz '2000-01-01 00:00:00+00')"

# The service's usage, joined to the touched services, from `{since}` to the window's end.
_WINDOW = f"""
    FROM {TOUCHED} t
    JOIN {USAGE} u ON u.product_id = t.product_id AND u.service_id = t.service_id
    WHERE u.usage_date >= t.window_end - {{since}} AND u.usage_date < t.window_end
"""  # noqa: S608 - see TOUCHED_SQL

# Usage spike: the last hour's rated volume of a rating group against the median of the hours
# the service used it in the `days` before (hours without usage do not count: a median of
# mostly empty hours would be zero, and every hour of use a spike). Per rating group, as rated
# volumes are in each price's unit (GB, minutes); a service's case names its largest spike.
SPIKE_SQL = f"""
    WITH hourly AS (
        SELECT u.service_id, u.rating_group, t.window_end,
               {HOUR} AS hour, sum(u.rated_volume) AS volume
        {_WINDOW.format(since="make_interval(days => %(days)s, hours => 1)")}
          AND u.status = ANY(%(rated)s) AND u.duplicate_of_id IS NULL
        GROUP BY 1, 2, 3, 4
    ),
    measured AS (
        SELECT service_id, rating_group, window_end,
               sum(volume) FILTER (WHERE hour = window_end - interval '1 hour') AS last_hour,
               percentile_cont(0.5) WITHIN GROUP (ORDER BY volume::float8)
                   FILTER (WHERE hour < window_end - interval '1 hour') AS median,
               count(*) FILTER (WHERE hour < window_end - interval '1 hour') AS baseline_hours
        FROM hourly
        GROUP BY service_id, rating_group, window_end
    )
    SELECT DISTINCT ON (m.service_id)
           m.service_id, t.product_id, t.account_id, m.window_end,
           m.last_hour, m.median, m.baseline_hours, m.rating_group
    FROM measured m JOIN {TOUCHED} t ON t.service_id = m.service_id
    WHERE m.last_hour >= %(minimum)s AND m.baseline_hours > 0
      AND m.last_hour > %(factor)s * m.median
    ORDER BY m.service_id, m.last_hour / NULLIF(m.median, 0) DESC NULLS FIRST
"""  # noqa: S608 - see TOUCHED_SQL

# High cost: rated volume in the listed rating groups within the window.
HIGH_COST_SQL = f"""
    SELECT u.service_id, t.product_id, t.account_id, t.window_end,
           sum(u.rated_volume) AS volume, count(*) AS records,
           array_agg(DISTINCT u.rating_group ORDER BY u.rating_group) AS rating_groups
    {_WINDOW.format(since="make_interval(hours => %(hours)s)")}
      AND u.rating_group = ANY(%(groups)s) AND u.status = ANY(%(rated)s)
      AND u.duplicate_of_id IS NULL
    GROUP BY u.service_id, t.product_id, t.account_id, t.window_end
    HAVING sum(u.rated_volume) > %(threshold)s
    ORDER BY u.service_id
"""  # noqa: S608 - see TOUCHED_SQL

# SIM box: voice records of one service to many distinct numbers, short on average, within
# the window. Whether the calls were charged or not (voice may be unpriced on the offering):
# a SIM box is fraud either way. A sample of the numbers, for the evidence, only for hits.
SIM_BOX_SQL = f"""
    WITH calls AS (
        SELECT u.service_id, t.product_id, t.account_id, t.window_end,
               count(*) AS calls, count(DISTINCT u.destination) AS numbers,
               avg({SECONDS}) AS average_seconds
        {_WINDOW.format(since="make_interval(hours => %(hours)s)")}
          AND {VOICE} AND u.destination <> '' AND u.volume IS NOT NULL
          AND u.duplicate_of_id IS NULL
        GROUP BY u.service_id, t.product_id, t.account_id, t.window_end
        HAVING count(DISTINCT u.destination) >= %(numbers)s AND avg({SECONDS}) < %(seconds)s
    )
    SELECT c.service_id, c.product_id, c.account_id, c.window_end,
           c.calls, c.numbers, c.average_seconds,
           ARRAY(
               SELECT DISTINCT u.destination FROM {USAGE} u
               WHERE u.product_id = c.product_id AND u.service_id = c.service_id
                 AND u.usage_date >= c.window_end - make_interval(hours => %(hours)s)
                 AND u.usage_date < c.window_end AND {VOICE} AND u.destination <> ''
               ORDER BY 1 LIMIT %(sample)s
           ) AS sample
    FROM calls c
    ORDER BY c.service_id
"""  # noqa: S608 - see TOUCHED_SQL
