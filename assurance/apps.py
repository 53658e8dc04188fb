from django.apps import AppConfig


class AssuranceConfig(AppConfig):
    name = "assurance"

    def ready(self):
        from assurance.panels import register_panels

        register_panels()

        from assurance.kpis.panels import register_kpis

        register_kpis()
