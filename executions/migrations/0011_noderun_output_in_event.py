"""A node run's output is read from its event (``output_seq``); the column keeps the outputs of
rows written before (``stored_output`` in the model, still the column ``output``)."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("executions", "0010_noderun_due_index"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.RenameField("noderun", "output", "stored_output"),
                migrations.AlterField("noderun", "stored_output",
                                      models.JSONField(blank=True, db_column="output", null=True)),
            ],
            database_operations=[],
        ),
        migrations.AddField("noderun", "output_seq", models.PositiveIntegerField(blank=True, null=True)),
    ]
