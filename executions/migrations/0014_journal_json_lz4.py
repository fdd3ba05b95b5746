"""The journal's JSON columns compressed with lz4 on PostgreSQL servers built with it.

PostgreSQL compresses a value that would make its row longer than about 2 kB, with pglz unless a
column says otherwise. pglz took most of the time of inserting a 160-node chain's events (their
outputs grow to 2-3 kB): that insert went from 5-7 ms to 1.5-2 ms with lz4, and the start from
33-46 ms to 28-33 ms in process. The setting applies to values written from now on (no rewrite:
a change of the catalog only); a server without lz4 (built without ``--with-lz4``) keeps pglz.
"""

from django.db import migrations

COLUMNS = [
    ("executions_executionevent", "payload"),
    ("executions_noderun", "input"),
    ("executions_noderun", "output"),
    ("executions_execution", "input"),
    ("executions_execution", "output"),
]


def _lz4_supported(schema_editor) -> bool:
    if schema_editor.connection.vendor != "postgresql":
        return False
    with schema_editor.connection.cursor() as cursor:
        cursor.execute("SELECT 'lz4' = ANY(enumvals) FROM pg_settings WHERE name = 'default_toast_compression'")
        row = cursor.fetchone()
    return bool(row and row[0])


def _compress_with(method: str):
    def apply(apps, schema_editor) -> None:
        if not _lz4_supported(schema_editor):
            return
        quote = schema_editor.quote_name
        for table, column in COLUMNS:
            schema_editor.execute(f"ALTER TABLE {quote(table)} ALTER COLUMN {quote(column)} SET COMPRESSION {method}")

    return apply


class Migration(migrations.Migration):
    dependencies = [
        ("executions", "0013_journal_rows_without_fk_constraint"),
    ]

    operations = [
        migrations.RunPython(_compress_with("lz4"), _compress_with("default"), elidable=False),
    ]
