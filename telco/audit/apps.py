from django.apps import AppConfig


class AuditConfig(AppConfig):
    """Who changed what, when, from where: event tables filled by PostgreSQL triggers."""

    name = "telco.audit"
    label = "audit"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from telco.audit import context, panels

        context.connect_task_signals()
        context.wrap_management_commands()
        panels.register_history_panels()
