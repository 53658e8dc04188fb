"""`seed_demo --customers N` on a fresh PostgreSQL database: its seconds per step, printed beside
the floor, the same rows COPYed into the same tables (every index and constraint, foreign keys
checked at commit) of a second fresh database in one transaction, in the same run.

    .venv/bin/python bench/seed_demo.py [--customers 100000] [--skip-bill-run]

Uses DATABASE_URL (default postgres://postgres@127.0.0.1:5432/telco_demo100k), dropped and made
again, and a second database of the same name with "_floor" appended for the floor.
"""

import argparse
import io
import os
import sys
import time
from urllib.parse import urlparse

import psycopg
from psycopg import sql

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/telco_demo100k"


def recreate(admin_url: str, name: str, template: str | None = None) -> None:
    with psycopg.connect(admin_url, autocommit=True) as connection:
        connection.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )
        query = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name))
        if template:
            query += sql.SQL(" TEMPLATE {}").format(sql.Identifier(template))
        connection.execute(query)


def floor_seconds(source_url: str, target_url: str) -> tuple[float, int]:
    """Seconds to COPY every row of the source's tables into the target's (emptied) same tables
    in one transaction; and the rows copied."""
    with psycopg.connect(source_url) as source, psycopg.connect(target_url) as target:
        tables = [
            row[0]
            for row in source.execute(
                # Not the KPI tables' day partitions, made at run time (the template lacks them).
                "SELECT relname FROM pg_class WHERE relkind = 'r' AND NOT relispartition"
                " AND relnamespace = 'public'::regnamespace ORDER BY relname"
            )
        ]
        elapsed, rows = 0.0, 0
        with target.transaction():
            target.execute(
                sql.SQL("TRUNCATE {} CASCADE").format(
                    sql.SQL(", ").join(sql.Identifier(table) for table in tables)
                )
            )
            for table in tables:
                # The rows already hold what the audit and event triggers wrote: not again.
                # (Foreign keys are system triggers: still checked at commit.)
                target.execute(
                    sql.SQL("ALTER TABLE {} DISABLE TRIGGER USER").format(sql.Identifier(table))
                )
                buffer = io.BytesIO()
                with source.cursor().copy(
                    sql.SQL("COPY {} TO STDOUT").format(sql.Identifier(table))
                ) as copy:
                    for chunk in copy:
                        buffer.write(chunk)
                rows += buffer.getvalue().count(b"\n")
                began = time.monotonic()
                with target.cursor().copy(
                    sql.SQL("COPY {} FROM STDIN").format(sql.Identifier(table))
                ) as copy:
                    copy.write(buffer.getvalue())
                elapsed += time.monotonic() - began
            began = time.monotonic()
        elapsed += time.monotonic() - began  # the commit: deferred foreign-key checks
    return elapsed, rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--skip-bill-run", action="store_true")
    args = parser.parse_args()

    url = os.environ.setdefault("DATABASE_URL", DEFAULT_URL)
    parsed = urlparse(url)
    name = parsed.path.lstrip("/")
    admin_url = parsed._replace(path="/postgres").geturl()
    floor_name = f"{name}_floor"
    floor_url = parsed._replace(path=f"/{floor_name}").geturl()
    recreate(admin_url, name)
    sys.path.insert(0, os.path.dirname(__file__))
    from common import django_on_bench_database

    django_on_bench_database(url)
    from django.core.management import call_command
    from django.db import connection

    connection.close()
    recreate(admin_url, floor_name, template=name)  # the migrated, empty schema

    began = time.monotonic()
    options = ["--customers", str(args.customers)]
    if args.skip_bill_run:
        options.append("--skip-bill-run")
    out = io.StringIO()
    call_command("seed_demo", *options, stdout=out)
    seconds = time.monotonic() - began
    connection.close()
    for line in out.getvalue().splitlines():
        if not line.startswith(("  customers", "accounts ")):
            print(line)
    floor, rows = floor_seconds(url, floor_url)
    print(
        f"seed_demo --customers {args.customers}{' --skip-bill-run' if args.skip_bill_run else ''}:"
        f" {seconds:.1f}s; floor (COPY of the same {rows} rows into the same tables):"
        f" {floor:.1f}s; ratio {seconds / floor:.1f}x"
    )


if __name__ == "__main__":
    main()
