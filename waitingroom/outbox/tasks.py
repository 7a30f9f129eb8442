"""Thin Celery adapters: each takes a row's id and calls the delivery that sends it.

The names are the ones these tasks had as waitingroom/tasks.py, so a task already queued by a
running deployment still finds its function after an upgrade.

The broker redelivers an unacknowledged task after its visibility timeout (settings,
CELERY_BROKER_TRANSPORT_OPTIONS), so a task whose worker was killed runs again; sms_deliver is
safe to run again at any point (delivery.sms_deliver_now), so a worker process lost mid-task
also requeues it at once (reject_on_worker_lost).
"""

from celery import shared_task

from waitingroom.outbox import delivery
from waitingroom.outbox.sms_backends import SmsRefused


@shared_task(
    name="waitingroom.tasks.sms_deliver",
    ignore_result=True,
    acks_late=True,
    reject_on_worker_lost=True,
    autoretry_for=(SmsRefused,),  # raised only for a temporary refusal (rate limited)
    retry_backoff=5,
    retry_backoff_max=60,  # below the visibility timeout (a longer countdown is redelivered)
    max_retries=5,
)
def sms_deliver(message_id: int) -> None:
    delivery.sms_deliver_now(message_id=message_id)


@shared_task(name="waitingroom.outbox.sms_sweep", ignore_result=True)
def sms_sweep() -> int:
    """Beat runs this (settings.CELERY_BEAT_SCHEDULE): messages whose task was lost are enqueued
    again; those whose worker died while sending are checked with the provider."""
    again = delivery.sms_sweep()
    for message_id in again:
        sms_deliver.delay(message_id)
    return len(again)


@shared_task(
    name="waitingroom.tasks.email_deliver",
    ignore_result=True,
    autoretry_for=(OSError,),
    retry_backoff=5,
    retry_backoff_max=600,
    max_retries=8,
)
def email_deliver(message_id: int) -> None:
    delivery.email_deliver_now(message_id=message_id)
