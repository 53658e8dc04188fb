"""The PostgreSQL triggers that write the outbox, generated from the registry.

Statement-level (`FOR EACH STATEMENT ... REFERENCING NEW TABLE / OLD TABLE`), so a set-based
change (an alarm storm, a usage batch, a bill run) writes its events in one INSERT ... SELECT,
and the event commits or rolls back with its change. A statement first checks whether any
listener of the resource's APIs exists: with none, it writes nothing.

Installed after every `migrate` (post_migrate) and by `manage.py events_install_triggers`, not by
a migration: the registry, which each app keeps beside its API, stays the one list of published
tables and their state columns, and a table an app adds or rebuilds gets its trigger back.

Order without gaps: outbox ids are taken in the order the triggers run, but transactions commit
in another order, so a reader could pass an id that a transaction still running will commit
later. Each writing transaction therefore holds a shared advisory lock keyed by the sequence's
value before it takes its first id (`telco_events_hold`); delivery reads only ids below the
smallest held key (see `delivery.safe_horizon`). Two changes of one row commit one after the
other (the row lock), so their ids, hence their events, keep that order.
"""

from django.db import connection

from telco.events.registry import EventResource, apis_of, resources

OUTBOX = "telco_outboxevent"
LISTENERS = "telco_eventlistener"
SEQUENCE = "telco_outboxevent_id_seq"
# Advisory lock keys: (namespace << 40) | outbox id, so pg_locks tells ours from any other.
LOCK_NAMESPACE = 0x7E
ID_BITS = 40

# Identifiers and constants of ours and of the registry, never input.
HOLD_FUNCTION = f"""
CREATE OR REPLACE FUNCTION telco_events_hold() RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    -- Once per transaction: a shared lock keyed at or below every id it will take.
    IF current_setting('telco.events_hold', true) IS DISTINCT FROM txid_current()::text THEN
        PERFORM pg_advisory_xact_lock_shared(
            ({LOCK_NAMESPACE}::bigint << {ID_BITS}) | (SELECT last_value FROM {SEQUENCE}));
        PERFORM set_config('telco.events_hold', txid_current()::text, true);
    END IF;
END $$;
"""  # noqa: S608


def _quote(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def function_name(resource: EventResource) -> str:
    return f"telco_events_{resource.name.lower()}"


def trigger_sql(resource: EventResource) -> list[str]:
    """The function and the three triggers of one resource's table."""
    model = resource.model
    table = connection.ops.quote_name(resource.table)
    pk = connection.ops.quote_name(model._meta.pk.column)
    if resource.state_field:
        state = connection.ops.quote_name(model._meta.get_field(resource.state_field).column)
        new_state, old_state = f"n.{state}::text", f"o.{state}::text"
        changed = f"CASE WHEN o.{state} IS DISTINCT FROM n.{state} THEN 'stateChange'"
        changed += " ELSE 'attributeValueChange' END"
    else:
        new_state = old_state = "NULL"
        changed = "'attributeValueChange'"
    apis = "ARRAY[" + ", ".join(_quote(api) for api in apis_of(resource)) + "]::text[]"
    columns = "txid, resource_type, resource_id, kind, old_state, new_state, occurred_at"
    common = f"txid_current(), {_quote(resource.name)}"
    function = function_name(resource)
    new_kept = f"AND {resource.condition.format(row='n')}" if resource.condition else ""
    old_kept = f"AND {resource.condition.format(row='o')}" if resource.condition else ""
    body = f"""
CREATE OR REPLACE FUNCTION {function}() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM {LISTENERS} WHERE api = ANY({apis})) THEN
        RETURN NULL;
    END IF;
    PERFORM telco_events_hold();
    IF TG_OP = 'INSERT' THEN
        INSERT INTO {OUTBOX} ({columns})
        SELECT {common}, n.{pk}::text, 'create', NULL, {new_state}, clock_timestamp()
        FROM new_rows n WHERE true {new_kept} ORDER BY n.{pk};
    ELSIF TG_OP = 'UPDATE' THEN
        INSERT INTO {OUTBOX} ({columns})
        SELECT {common}, n.{pk}::text, {changed}, {old_state}, {new_state}, clock_timestamp()
        FROM new_rows n JOIN old_rows o ON o.{pk} = n.{pk}
        WHERE NOT (o *= n) {new_kept} ORDER BY n.{pk};
    ELSE
        INSERT INTO {OUTBOX} ({columns})
        SELECT {common}, o.{pk}::text, 'delete', {old_state}, NULL, clock_timestamp()
        FROM old_rows o WHERE true {old_kept} ORDER BY o.{pk};
    END IF;
    RETURN NULL;
END $$;
"""  # noqa: S608
    statements = [body]
    for operation, referencing in (
        ("INSERT", "NEW TABLE AS new_rows"),
        ("UPDATE", "OLD TABLE AS old_rows NEW TABLE AS new_rows"),
        ("DELETE", "OLD TABLE AS old_rows"),
    ):
        name = f"{function}_{operation.lower()}"
        statements += [
            f"DROP TRIGGER IF EXISTS {name} ON {table}",
            f"CREATE TRIGGER {name} AFTER {operation} ON {table} REFERENCING {referencing}"
            f" FOR EACH STATEMENT EXECUTE FUNCTION {function}()",
        ]
    return statements


def install_triggers(using_connection=None) -> list[str]:
    """(Re)create every registered table's triggers; returns the tables. PostgreSQL only."""
    target = using_connection or connection
    if target.vendor != "postgresql":
        return []
    tables = []
    with target.cursor() as cursor:
        cursor.execute(HOLD_FUNCTION)
        for resource in resources().values():
            for statement in trigger_sql(resource):
                cursor.execute(statement)
            tables.append(resource.table)
    return tables


def install_after_migrate(sender, using="default", **kwargs) -> None:
    """post_migrate: the tables exist now, with the columns the registry names."""
    from django.db import connections

    if sender.name == "telco":
        install_triggers(connections[using])
