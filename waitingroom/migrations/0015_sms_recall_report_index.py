# Reports (visits/reports.py) count a clinic's recall SMS of a period: a small partial index (recall
# messages only), built concurrently so that the outbox keeps storing messages meanwhile (hence not
# atomic). Issue 20; another helper may add a waitingroom migration of the same number: re-chain.

from django.contrib.postgres.operations import AddIndexConcurrently
from django.db import migrations, models


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("waitingroom", "0014_card_payments"),
    ]

    operations = [
        AddIndexConcurrently(
            model_name="smsmessage",
            index=models.Index(
                condition=models.Q(("reference__startswith", "recall:")),
                fields=["clinic", "created_at"],
                name="sms_recall_by_clinic",
            ),
        ),
    ]
