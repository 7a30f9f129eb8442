from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("waitingroom", "0007_rate_limits_and_sms_ceiling")]

    operations = [
        migrations.AddField(
            model_name="smsmessage",
            name="attempt",
            field=models.CharField(blank=True, db_default="", default="", max_length=32),
        ),
        migrations.AddField(
            model_name="smsmessage",
            name="attempt_started_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
    ]
