"""The rows of nodes waiting for their time, by due time: what the timer pump reads
(executions.engine.timers: the next due time, and the due rows oldest first).

Without it each look and each claim read every pending node run (with 10,000 parked runs,
20,000 rows: tens of milliseconds a look, many looks a second when runs come due one after
another). Partial, so a row is in it only while it waits for its time.

Written as SQL only, with no model state: ``NodeRun.Meta.indexes`` does not list it (the model
module is the engine's write path), so ``makemigrations`` neither adds nor drops it.
"""

from django.db import migrations

INDEX = "noderun_due"


class Migration(migrations.Migration):

    dependencies = [
        ('executions', '0009_noderun_open_status_index'),
    ]

    operations = [
        migrations.RunSQL(
            sql=(f"CREATE INDEX IF NOT EXISTS {INDEX} ON executions_noderun (scheduled_at) "
                 "WHERE status IN ('pending', 'retrying') AND scheduled_at IS NOT NULL"),
            reverse_sql=f"DROP INDEX IF EXISTS {INDEX}",
        ),
    ]
