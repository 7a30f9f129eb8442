"""Phone codes keyed by a subject (visits/phone_codes.py): a visit's codes get "visit:<id>", and
a code no longer needs a visit (the consultation booking page verifies numbers too)."""

from django.db import migrations, models
from django.db.models import Value
from django.db.models.functions import Cast, Concat
import django.db.models.deletion


def fill_subjects(apps, schema_editor):
    PhoneVerification = apps.get_model("visits", "PhoneVerification")
    PhoneVerification.objects.filter(visit__isnull=False).update(
        subject=Concat(Value("visit:"), Cast("visit_id", models.CharField()))
    )


class Migration(migrations.Migration):
    dependencies = [
        ("visits", "0005_presence_leases"),
    ]

    operations = [
        migrations.AddField(
            model_name="phoneverification",
            name="subject",
            field=models.CharField(db_index=True, default="", max_length=80),
            preserve_default=False,
        ),
        migrations.RunPython(fill_subjects, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="phoneverification",
            name="visit",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="phone_verifications",
                to="visits.visit",
            ),
        ),
    ]
