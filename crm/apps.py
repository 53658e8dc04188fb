from django.apps import AppConfig
from django.apps import apps as project_apps
from django.db.models.signals import post_migrate


def _ensure_reference_data(sender, using: str = "default", apps=None, **kwargs) -> None:
    """After every `migrate` and every flush of a test database (which sends post_migrate with
    no `apps`): the standard bill cycles, formats and presentation media exist."""
    from crm.reference_data import ensure_standard_bill_structure

    registry = apps or project_apps
    try:
        registry.get_model("crm", "BillPresentationMedia")
    except LookupError:
        return  # migrated back to before the models existed
    ensure_standard_bill_structure(registry, using)


class CrmConfig(AppConfig):
    name = "crm"

    def ready(self):
        post_migrate.connect(_ensure_reference_data, sender=self)
