"""Seed the standard bill cycle specifications (monthly, days 1-28), bill formats and
presentation media, and point every existing billing account at the cycle of its day."""

from django.db import migrations
from django.db.models import OuterRef, Subquery

from crm.reference_data import ensure_standard_bill_structure


def seed(apps, schema_editor):
    using = schema_editor.connection.alias
    ensure_standard_bill_structure(apps, using)
    cycles = apps.get_model("crm", "BillingCycleSpecification")
    accounts = apps.get_model("crm", "BillingAccount")
    # One UPDATE for all accounts, however many there are: the oldest monthly cycle of the day.
    by_day = (
        cycles.objects.using(using)
        .filter(billing_date_shift=OuterRef("bill_cycle_day"), frequency="monthly")
        .order_by("id")
        .values("id")[:1]
    )
    accounts.objects.using(using).filter(cycle_specification__isnull=True).update(
        cycle_specification=Subquery(by_day)
    )


class Migration(migrations.Migration):
    dependencies = [("crm", "0007_account_management")]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
