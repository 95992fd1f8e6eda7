from django.db import migrations


def add(apps, schema_editor):
    from example_settings.awxschema.schema import add_node_columns

    add_node_columns(schema_editor.connection)


def remove(apps, schema_editor):
    from example_settings.awxschema.schema import remove_node_columns

    remove_node_columns(schema_editor.connection)


class Migration(migrations.Migration):
    dependencies = [("awxschema", "0002_legacy_tables_and_job_types")]

    operations = [migrations.RunPython(add, remove)]
