from django.apps import AppConfig


class TelcoConfig(AppConfig):
    name = "telco"
    verbose_name = "Telco platform"
