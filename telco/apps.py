from django.apps import AppConfig
from django.db.models.signals import post_migrate


class TelcoConfig(AppConfig):
    name = "telco"
    verbose_name = "Telco platform"

    def ready(self):
        from telco.events import publishing, triggers

        # The outbox triggers follow the tables the apps register (telco.events.triggers).
        post_migrate.connect(triggers.install_after_migrate, sender=self)
        # A commit that wrote wakes event delivery (telco.events.publishing).
        publishing.connect()
