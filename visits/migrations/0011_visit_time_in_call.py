# Visit.time_in_call (visits/call_time.py): each visit's time in call, stored when it closes, so the
# clinic report aggregates one column instead of reading every visit's events (docs/performance.md,
# item 21). Closed visits from before it are filled here from their events, by the rules the report
# used until now (frozen here: the statuses as they are today); open visits get theirs when they close.

from django.db import migrations, models

# The In Progress statuses and the closed ones (visits/lifecycle.py at this migration).
IN_PROGRESS = ("in_call", "available", "away")
CLOSED = ("completed", "cancelled", "expired", "left")

# Every closed, called visit's sum of the intervals its events spent In Progress, each interval from
# the event entering the status to the visit's next event in (at, id) order. One pass over the
# events (a window per visit): a backfill reads them all, so a scan is what it should do.
BACKFILL_SQL = f"""
UPDATE visits_visit v SET time_in_call = calls.in_call
FROM (
    SELECT steps.visit_id,
        SUM(steps.length) FILTER (WHERE steps.to_status IN {IN_PROGRESS!r}) AS in_call
    FROM (
        SELECT e.visit_id, e.to_status,
            LEAD(e.at) OVER (PARTITION BY e.visit_id ORDER BY e.at, e.id) - e.at AS length
        FROM visits_visitevent e
    ) steps
    GROUP BY steps.visit_id
) calls
WHERE calls.visit_id = v.id AND v.status IN {CLOSED!r}
    AND v.first_called_at IS NOT NULL AND calls.in_call IS NOT NULL
"""


class Migration(migrations.Migration):
    dependencies = [
        ("visits", "0010_call_guests"),
    ]

    operations = [
        migrations.AddField(
            model_name="visit",
            name="time_in_call",
            field=models.DurationField(blank=True, null=True),
        ),
        # Backwards the column is dropped by the AddField's reverse: nothing to undo here.
        migrations.RunSQL(BACKFILL_SQL, reverse_sql=migrations.RunSQL.noop),
    ]
