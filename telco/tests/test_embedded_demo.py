"""The first README command's default: the demo on the embedded SQLite file. The suite runs on
PostgreSQL, so a query only PostgreSQL understands would break the demo unseen: seed it here."""

import os
import re
import sqlite3
import subprocess
import sys

from django.conf import settings


def test_the_demo_seeds_on_sqlite_with_what_fibre_and_vpn_orders_need(tmp_path, lab):
    database = tmp_path / "demo.sqlite3"
    environment = {
        **{k: v for k, v in os.environ.items() if k not in ("CELERY_BROKER_URL",)},
        "DATABASE_URL": f"sqlite:///{database}",
        "SECRET_KEY": "embedded-demo-test",
        "LABNET_URL": settings.LABNET_URL,
    }

    def manage(*arguments):
        return subprocess.run(  # noqa: S603 - our own manage.py, our arguments
            [sys.executable, "manage.py", *arguments],
            env=environment,
            cwd=settings.BASE_DIR,
            capture_output=True,
            text=True,
            timeout=300,
        )

    for command in (["migrate", "-v0"], ["seed_demo", "--customers", "20", "--skip-bill-run"]):
        done = manage(*command)
        assert done.returncode == 0, done.stderr[-3000:]
    # The demo lines are configured on the lab's elements, as the inventory expects them.
    loaded = re.search(r"lab network: (\d+) service configurations loaded", done.stdout)
    assert loaded, done.stdout[-2000:]
    on_elements = lab.configured()
    assert sum(len(services) for services in on_elements.values()) == int(loaded[1]) > 0
    with sqlite3.connect(database) as connection:
        (pon_ports,) = connection.execute(
            "SELECT COUNT(*) FROM inventory_resource WHERE resource_kind = 'port'"
            " AND json_extract(characteristics, '$.portType') = 'pon'"
        ).fetchone()
        (route_targets,) = connection.execute(
            "SELECT COUNT(*) FROM inventory_resource WHERE resource_kind = 'routeTarget'"
        ).fetchone()
        (customers,) = connection.execute("SELECT COUNT(*) FROM crm_customer").fetchone()
    assert customers == 20
    assert pon_ports > 0
    assert route_targets > 0
