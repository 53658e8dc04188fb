"""The standard TMF666 reference rows every installation has: a monthly bill cycle for each
day 1-28, the bill formats and the presentation media (`crm.choices`).

Written by the data migration and again after every `migrate` and test-database flush (which
empties tables the migration filled), so they are there whatever ran before.
"""

from crm.choices import (
    BILL_CYCLE_DAYS,
    STANDARD_BILL_FORMATS,
    STANDARD_PRESENTATION_MEDIA,
    cycle_specification_name,
)


def ensure_standard_bill_structure(apps, using: str = "default") -> None:
    """Create the standard rows that are missing (by name); existing rows are left as they are.

    `apps` is a model registry (the migration's historical one, or the project's).
    """
    cycles = apps.get_model("crm", "BillingCycleSpecification").objects.db_manager(using)
    formats = apps.get_model("crm", "BillFormat").objects.db_manager(using)
    media = apps.get_model("crm", "BillPresentationMedia").objects.db_manager(using)
    names = {cycle_specification_name(day): day for day in BILL_CYCLE_DAYS}
    present = set(cycles.filter(name__in=names).values_list("name", flat=True))
    cycles.bulk_create(
        [
            cycles.model(
                name=name,
                description=f"Bills cut on day {day} of every month.",
                billing_date_shift=day,
                billing_period="month",
                frequency="monthly",
            )
            for name, day in names.items()
            if name not in present
        ]
    )
    for manager, rows in ((formats, STANDARD_BILL_FORMATS), (media, STANDARD_PRESENTATION_MEDIA)):
        present = set(manager.filter(name__in=rows).values_list("name", flat=True))
        manager.bulk_create(
            [
                manager.model(name=name, description=description)
                for name, description in rows.items()
                if name not in present
            ]
        )
