from django.apps import AppConfig
from django.db.models.signals import post_migrate


def _ensure_reference_data(sender, using, apps=None, **kwargs) -> None:
    """After every `migrate` (and every flush of a test database, which sends it too), as
    Django does for permissions: the default usage specifications and fraud rules exist."""
    from django.apps import apps as global_apps

    from billing.reference import ensure_fraud_rules, ensure_usage_specifications

    apps = apps or global_apps  # a flush sends no `apps`: the models as they are
    for model_name, ensure in (
        ("UsageSpecification", ensure_usage_specifications),
        ("FraudRule", ensure_fraud_rules),
    ):
        try:
            model = apps.get_model("billing", model_name)
        except LookupError:
            continue  # migrated back to before the model existed
        ensure(model.objects.db_manager(using))


class BillingConfig(AppConfig):
    name = "billing"

    def ready(self):
        from billing.panels import register_panels
        from billing.prepaid_panels import register_prepaid_panels

        post_migrate.connect(_ensure_reference_data, sender=self)
        register_panels()
        register_prepaid_panels()
        import billing.prepaid_admin  # noqa: F401 - registers the prepaid models' admin
