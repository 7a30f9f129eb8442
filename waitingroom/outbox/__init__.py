"""The outbox: every SMS and email the clinic sends, stored before it is sent and delivered by a
Celery task that is safe to run twice.

`queueing` is what apps above call (store, then send after commit); `tasks` (the Celery
adapters) run `delivery`, which hands each message to Django's mail backend or to an SMS backend
(`sms_backends`: console, in-memory, Twilio) and applies Twilio's delivery statuses, received by
`twilio_webhooks`. `models` stores every message. Imports run queueing -> tasks -> delivery, never
back. Apps above build the content: every email is a pair of templates (text and HTML) that
`rendering` renders; the outbox only stores and sends it.
"""
