# Reports (visits/reports.py) read a clinic's visits of a period whatever their status; the index
# on (clinic, arrived_at) before this one covers open visits only. Built concurrently, so a busy
# clinic's visits stay writable while it builds (hence not atomic).

from django.contrib.postgres.operations import AddIndexConcurrently
from django.db import migrations, models


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("visits", "0008_visit_phone_requested_at"),
    ]

    operations = [
        AddIndexConcurrently(
            model_name="visit",
            index=models.Index(fields=["clinic", "arrived_at"], name="visit_by_clinic_arrival"),
        ),
    ]
