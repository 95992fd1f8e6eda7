from django.db import migrations, models


def create(apps, schema_editor):
    from example_settings.awxschema.schema import create_schema

    create_schema(schema_editor.connection)


def drop(apps, schema_editor):
    from example_settings.awxschema.schema import drop_schema

    drop_schema(schema_editor.connection)


class Migration(migrations.Migration):
    initial = True
    dependencies = []

    operations = [
        migrations.RunPython(create, drop),
        migrations.CreateModel(
            name="UnifiedJob",
            fields=[
                (
                    "id",
                    models.AutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID"),
                ),
                ("created", models.DateTimeField()),
                ("modified", models.DateTimeField()),
                ("name", models.CharField(max_length=512)),
                ("status", models.CharField(max_length=20)),
                ("started", models.DateTimeField(null=True)),
                ("finished", models.DateTimeField(null=True)),
            ],
            options={"db_table": "main_unifiedjob", "managed": False},
        ),
        migrations.CreateModel(
            name="JobEvent",
            fields=[
                ("id", models.BigAutoField(primary_key=True, serialize=False)),
                ("created", models.DateTimeField(null=True)),
                ("modified", models.DateTimeField()),
                ("event", models.CharField(max_length=100)),
                ("counter", models.PositiveIntegerField()),
                ("job_id", models.IntegerField(null=True)),
                ("job_created", models.DateTimeField()),
            ],
            options={"db_table": "main_jobevent", "managed": False},
        ),
    ]
