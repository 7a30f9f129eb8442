from celery import shared_task

from waitingroom.audit import services


@shared_task(name="waitingroom.audit.tasks.purge_access_events")
def purge_access_events() -> int:
    """Beat runs it (settings.CELERY_BEAT_SCHEDULE); safe to run twice."""
    return services.purge_expired()
