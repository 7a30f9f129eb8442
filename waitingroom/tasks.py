"""Thin Celery adapters for the clinic core."""

from celery import shared_task
from twilio.base.exceptions import TwilioException

from waitingroom import mail, messaging


@shared_task(
    ignore_result=True,
    autoretry_for=(TwilioException, ConnectionError, TimeoutError),
    retry_backoff=5,
    retry_backoff_max=300,
    max_retries=5,
)
def sms_deliver(message_id: int) -> None:
    messaging.sms_deliver_now(message_id=message_id)


@shared_task(
    ignore_result=True,
    autoretry_for=(OSError,),
    retry_backoff=5,
    retry_backoff_max=600,
    max_retries=8,
)
def email_deliver(message_id: int) -> None:
    mail.email_deliver_now(message_id=message_id)
