from django.apps import AppConfig
from django.db.models.signals import post_migrate


class TelcoConfig(AppConfig):
    name = "telco"
    verbose_name = "Telco platform"

    def ready(self):
        from django.db.models import Field, ForeignObject

        from telco.db import AnyOf
        from telco.events import publishing, triggers

        # `field__any=[...]`: one array parameter (telco.db); relations keep lookups of their own.
        Field.register_lookup(AnyOf)
        ForeignObject.register_lookup(AnyOf)

        # The outbox triggers follow the tables the apps register (telco.events.triggers).
        post_migrate.connect(triggers.install_after_migrate, sender=self)
        # A commit that wrote wakes event delivery (telco.events.publishing).
        publishing.connect()
