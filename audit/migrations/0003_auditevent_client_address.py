"""The client address of the request behind each audit event (issue 18; schoolpartners.clientaddr).

A nullable column without a default, so SQLite adds it with ALTER TABLE instead of rebuilding the table; the
append-only triggers of 0002 are recreated all the same (DROP IF EXISTS, then CREATE), so they hold whatever the
schema editor did.
"""

import importlib
from typing import Any

from django.db import migrations, models

v2 = importlib.import_module("audit.migrations.0002_audit_v2")


def recreate_triggers(apps: Any, schema_editor: Any) -> None:
    v2.drop_triggers(apps, schema_editor)
    v2.create_triggers(apps, schema_editor)


class Migration(migrations.Migration):
    dependencies = [("audit", "0002_audit_v2")]

    operations = [
        migrations.AddField(
            model_name="auditevent",
            name="client_address",
            field=models.CharField(blank=True, max_length=45, null=True),
        ),
        migrations.RunPython(recreate_triggers, recreate_triggers),
    ]
