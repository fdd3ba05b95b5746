"""Rollup histograms packed (``monitoring.aggregates.Histogram``) instead of JSON objects: a long
window reads thousands of them, and decoding JSON took most of a call's time. Each row's
histogram is converted, so rollups made before (which may count executions retention deleted
since) are kept."""

from django.db import migrations, models

from monitoring.aggregates import Histogram


def pack(apps, schema_editor):  # noqa: ANN001, ANN201 (a migration's function)
    for name in ("ExecutionRollup", "NodeRollup"):
        model = apps.get_model("monitoring", name)
        batch = []
        for row in model.objects.only("pk", "histogram").iterator(chunk_size=2000):
            row.durations = Histogram.of({int(bucket): count for bucket, count in (row.histogram or {}).items()}).pack()
            batch.append(row)
            if len(batch) == 2000:
                model.objects.bulk_update(batch, ["durations"])
                batch = []
        model.objects.bulk_update(batch, ["durations"])


def analyze(apps, schema_editor):  # noqa: ANN001, ANN201 (a migration's function)
    """Every row was rewritten: fresh statistics, or PostgreSQL may take the rollup tables for
    empty and read all of a tenant's rows to find a day's (autovacuum comes later)."""
    if schema_editor.connection.vendor == "postgresql":
        for table in ("monitoring_executionrollup", "monitoring_noderollup"):
            schema_editor.execute(f"ANALYZE {table}")


class Migration(migrations.Migration):

    dependencies = [
        ("monitoring", "0003_metrics_rollups"),
    ]

    operations = [
        migrations.AddField(
            model_name="executionrollup",
            name="durations",
            field=models.BinaryField(default=b"", help_text="The ended executions' durations by bucket, packed "
                                                            "(monitoring.aggregates.Histogram)."),
        ),
        migrations.AddField(
            model_name="noderollup",
            name="durations",
            field=models.BinaryField(default=b"", help_text="The runs' durations by bucket, packed "
                                                            "(monitoring.aggregates.Histogram)."),
        ),
        migrations.RunPython(pack, migrations.RunPython.noop),
        migrations.RemoveField(model_name="executionrollup", name="histogram"),
        migrations.RemoveField(model_name="noderollup", name="histogram"),
        migrations.RunPython(analyze, migrations.RunPython.noop),
    ]
