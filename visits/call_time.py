"""A visit's time in call (Visit.time_in_call), stored once when the visit closes: the sum of the
intervals its events spent in an In Progress status (in call, staff stepped out, away), each
interval from the event that entered the status to the visit's next event, events in (at, id)
order. These are the rules and the SQL the clinic report ran on every render over each visit's
events (docs/performance.md, items 20 and 21); now it runs once per visit, and the report
(visits/reports.py) aggregates the stored column.

Events that do not change the status (a call guest's, a second staff member joining, a failed
video connection: from_status == to_status) only split an interval in two, so they add nothing.
A visit that never had an In Progress interval (never called) keeps null, as the report left it
out. Migration 0011 fills closed visits from before this field with the same SQL."""

from __future__ import annotations

from django.db import connection

from visits.lifecycle import IN_PROGRESS_STATUSES
from visits.models import Visit, VisitEvent

# One visit's time in call from its events (parameters: the In Progress statuses, the visit's id);
# NULL when no event entered an In Progress status. The window needs the visit's next event, so it
# runs over the visit's own events through the (visit, at) index.
TIME_IN_CALL_SQL = f"""
    SELECT SUM(steps.length) FILTER (WHERE steps.to_status = ANY(%s))
    FROM (
        SELECT e.to_status, LEAD(e.at) OVER (ORDER BY e.at, e.id) - e.at AS length
        FROM {VisitEvent._meta.db_table} e WHERE e.visit_id = %s
    ) steps
"""  # noqa: S608 - the table name from the model, values as parameters

IN_PROGRESS = sorted(s.value for s in IN_PROGRESS_STATUSES)


def store_time_in_call(visit: Visit) -> None:
    """Store the time in call of a visit that has just closed, its closing event already recorded
    (visits/services.py apply_event, inside the row lock): one UPDATE, the value read back onto
    `visit`. A visit never called stores null (first_called_at unset), as the report counted it."""
    sql = f"""
        UPDATE {Visit._meta.db_table} SET time_in_call =
            CASE WHEN first_called_at IS NOT NULL THEN ({TIME_IN_CALL_SQL}) END
        WHERE id = %s RETURNING time_in_call
    """  # noqa: S608 - table names from the models, values as parameters
    with connection.cursor() as cursor:
        cursor.execute(sql, [IN_PROGRESS, visit.pk, visit.pk])
        (visit.time_in_call,) = cursor.fetchone()
