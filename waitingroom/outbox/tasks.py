"""Thin Celery adapters: each takes a row's id and calls the delivery that sends it.

The names are the ones these tasks had as waitingroom/tasks.py, so a task already queued by a
running deployment still finds its function after an upgrade.
"""

from celery import shared_task
from twilio.base.exceptions import TwilioException

from waitingroom.outbox import delivery


@shared_task(
    name="waitingroom.tasks.sms_deliver",
    ignore_result=True,
    autoretry_for=(TwilioException, ConnectionError, TimeoutError),
    retry_backoff=5,
    retry_backoff_max=300,
    max_retries=5,
)
def sms_deliver(message_id: int) -> None:
    delivery.sms_deliver_now(message_id=message_id)


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
