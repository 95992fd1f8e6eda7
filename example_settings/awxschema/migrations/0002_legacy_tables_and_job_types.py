from django.db import migrations


def create(apps, schema_editor):
    from example_settings.awxschema.schema import add_job_types_and_legacy_tables

    add_job_types_and_legacy_tables(schema_editor.connection)


def drop(apps, schema_editor):
    from example_settings.awxschema.schema import remove_job_types_and_legacy_tables

    remove_job_types_and_legacy_tables(schema_editor.connection)


class Migration(migrations.Migration):
    dependencies = [("awxschema", "0001_awx_tables"), ("contenttypes", "0002_remove_content_type_name")]

    operations = [migrations.RunPython(create, drop)]
