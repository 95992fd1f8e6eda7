from django.db import migrations


def add(apps, schema_editor):
    from example_settings.awxschema.schema import add_emitted_events

    add_emitted_events(schema_editor.connection)


def remove(apps, schema_editor):
    from example_settings.awxschema.schema import remove_emitted_events

    remove_emitted_events(schema_editor.connection)


class Migration(migrations.Migration):
    dependencies = [("awxschema", "0003_unifiedjob_nodes")]

    operations = [migrations.RunPython(add, remove)]
