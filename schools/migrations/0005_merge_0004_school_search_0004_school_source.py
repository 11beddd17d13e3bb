"""Merge of the search index (0004_school_search) and the record's source (0004_school_source).

On SQLite, adding a NOT NULL column rebuilds schools_school, which drops the triggers that keep the FTS5 search
index in step; whichever order the two migrations ran in, the index and its triggers are (re)created here
(`CREATE ... IF NOT EXISTS`, then a rebuild of the index from the table)."""

from django.db import migrations

from schools import search


def create_index(apps, schema_editor):  # type: ignore[no-untyped-def]
    search.create_index(schema_editor)


class Migration(migrations.Migration):
    dependencies = [
        ("schools", "0004_school_search"),
        ("schools", "0004_school_source"),
    ]

    operations = [migrations.RunPython(create_index, migrations.RunPython.noop, elidable=False)]
