"""Thin Celery adapters: each takes a row's id and calls the outbox service that delivers it.

The services queue these tasks, so the tasks import the services inside their bodies (no import
cycle). The names are the ones the tasks had as waitingroom/tasks.py, so tasks already queued
by a running deployment still find their function after an upgrade.
"""

from celery import shared_task
from twilio.base.exceptions import TwilioException


@shared_task(
    name="waitingroom.tasks.sms_deliver",
    ignore_result=True,
    autoretry_for=(TwilioException, ConnectionError, TimeoutError),
    retry_backoff=5,
    retry_backoff_max=300,
    max_retries=5,
)
def sms_deliver(message_id: int) -> None:
    from waitingroom.outbox import sms

    sms.sms_deliver_now(message_id=message_id)


@shared_task(
    name="waitingroom.tasks.email_deliver",
    ignore_result=True,
    autoretry_for=(OSError,),
    retry_backoff=5,
    retry_backoff_max=600,
    max_retries=8,
)
def email_deliver(message_id: int) -> None:
    from waitingroom.outbox import mail

    mail.email_deliver_now(message_id=message_id)
