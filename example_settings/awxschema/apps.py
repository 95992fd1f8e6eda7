from django.apps import AppConfig


class AwxSchemaConfig(AppConfig):
    name = "example_settings.awxschema"
    label = "awxschema"
    verbose_name = "AWX schema stand-in (example project only)"
