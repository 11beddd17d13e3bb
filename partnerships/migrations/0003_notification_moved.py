"""Notification moved to the notifications app (same table, `partnerships_notification`): drop it from this
app's state only; the database is not touched."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("partnerships", "0002_partnerships_register"),
        ("notifications", "0001_initial"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.DeleteModel(name="Notification")],
            database_operations=[],
        ),
    ]
