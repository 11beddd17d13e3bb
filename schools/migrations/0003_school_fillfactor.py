"""PostgreSQL only: leave room on each page of schools_school so that updates of non-indexed columns
(coordinates, Ofsted date, ...) are HOT updates that rewrite none of the table's ~27 indexes. The importer
updates tens of thousands of School rows per file; on SQLite this migration does nothing."""

from django.db import migrations


def set_fillfactor(apps, schema_editor):  # type: ignore[no-untyped-def]
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("ALTER TABLE schools_school SET (fillfactor = 50)")


def reset_fillfactor(apps, schema_editor):  # type: ignore[no-untyped-def]
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("ALTER TABLE schools_school RESET (fillfactor)")


class Migration(migrations.Migration):
    dependencies = [("schools", "0002_importrun_details_alter_schoollink_link_type")]

    operations = [migrations.RunPython(set_fillfactor, reset_fillfactor, elidable=False)]
