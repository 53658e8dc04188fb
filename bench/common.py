"""What every benchmark does first: a migrated database of its own and Django set up."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def django_on_bench_database(database_url: str, **environment: str) -> None:
    """Use DATABASE_URL (else `database_url`), create and migrate it, and set Django up."""
    os.environ.setdefault("DATABASE_URL", database_url)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "telco.settings")
    os.environ.setdefault("SECRET_KEY", "bench-only-key")
    os.environ.setdefault("DEBUG", "false")
    for name, value in environment.items():
        os.environ.setdefault(name, value)
    os.chdir(ROOT)
    sys.path.insert(0, str(ROOT))
    subprocess.run([sys.executable, "scripts/create_database.py"], check=True)

    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
