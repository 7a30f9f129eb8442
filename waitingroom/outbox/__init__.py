"""The outbox: every SMS and email the clinic sends, stored before it is sent and delivered by a
Celery task that is safe to run twice.

`models` (the stored messages), `sms` and `mail` (queue, deliver, delivery status), `sms_backends`
(console, in-memory, Twilio), `tasks` (the Celery adapters) and `twilio_webhooks` (Twilio's signed
delivery-status callback). Apps above build the content; the outbox only stores and sends it.
"""
