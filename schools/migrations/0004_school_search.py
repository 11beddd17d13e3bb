"""The school search index (schools/search.py): normalised name and text columns, then SQLite FTS5 (virtual
table + triggers that keep it in step with schools_school) or PostgreSQL GIN index on
`to_tsvector('simple', search_text)`, then the columns filled for existing rows."""

from django.db import migrations, models

from schools import search


def create_index(apps, schema_editor):  # type: ignore[no-untyped-def]
    search.create_index(schema_editor)


def drop_index(apps, schema_editor):  # type: ignore[no-untyped-def]
    search.drop_index(schema_editor)


def fill(apps, schema_editor):  # type: ignore[no-untyped-def]
    search.refresh(schema_editor.connection)


class Migration(migrations.Migration):
    dependencies = [("schools", "0003_school_fillfactor")]

    operations = [
        migrations.AddField(
            model_name="school",
            name="search_name",
            field=models.CharField(blank=True, db_index=True, default="", editable=False, max_length=200),
        ),
        migrations.AddField(
            model_name="school",
            name="search_text",
            field=models.TextField(blank=True, default="", editable=False),
        ),
        migrations.RunPython(create_index, drop_index, elidable=False),
        migrations.RunPython(fill, migrations.RunPython.noop, elidable=False),
    ]
