"""Play Twilio's side of a phone call against this app's own webhooks (development, with the
console voice backend): `manage.py voice_play <call id> [--outcome busy]`.

The webhooks are called in this process through Django's test Client, signed like Twilio signs
them, so they change the database and publish to the running app's rooms as Twilio's would. The
signing key is TWILIO_AUTH_TOKEN; when it is empty (the usual local set-up) and DEBUG is on, this
command alone uses a random one-off token: the running server keeps refusing every unsigned or
mis-signed webhook, and nothing else learns a development token."""

from __future__ import annotations

import secrets
from urllib.parse import urlencode, urlsplit

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.http.response import HttpResponseBase
from django.test import Client
from django.test.utils import override_settings
from twilio.request_validator import RequestValidator

from waitingroom.voice.models import PhoneCall
from waitingroom.voice.playback import OUTCOMES, Player

CONSOLE = "waitingroom.voice.calling.ConsoleVoiceBackend"


class Command(BaseCommand):
    help = "Play Twilio's callbacks of a phone call (console voice backend) through the signed webhooks."

    def add_arguments(self, parser) -> None:
        parser.add_argument("call_id", type=int)
        parser.add_argument("--outcome", choices=OUTCOMES, default="completed")

    def handle(self, *args, call_id: int, outcome: str, **options) -> None:
        if settings.VOICE_BACKEND != CONSOLE:
            # With Twilio placing calls, its own callbacks drive them: playing made-up ones would
            # end or connect a real call (and print its people's numbers).
            raise CommandError(f"voice_play plays only calls of the console backend ({CONSOLE}).")
        call = PhoneCall.objects.filter(pk=call_id).first()
        if call is None:
            raise CommandError(f"No phone call {call_id}.")
        token = settings.TWILIO_AUTH_TOKEN
        if not token:
            if not settings.DEBUG:
                raise CommandError("TWILIO_AUTH_TOKEN is not set: the webhooks can't be signed.")
            token = secrets.token_hex(16)  # this process only: see the module's docstring
        with override_settings(TWILIO_AUTH_TOKEN=token):
            self._play(call, outcome, token)

    def _play(self, call: PhoneCall, outcome: str, token: str) -> None:
        public = urlsplit(settings.PUBLIC_BASE_URL)
        client = Client(HTTP_HOST=public.netloc, secure=public.scheme == "https")
        validator = RequestValidator(token)

        def post(path: str, params: dict[str, str]) -> HttpResponseBase:
            signature = validator.compute_signature(settings.PUBLIC_BASE_URL + path, params)
            response = client.post(
                path,
                data=urlencode(params),
                content_type="application/x-www-form-urlencoded",
                HTTP_X_TWILIO_SIGNATURE=signature,
            )
            self.stdout.write(f"POST {path} {params} -> {response.status_code}")
            if response.content:
                self.stdout.write("   " + response.content.decode())
            if response.status_code >= 300:
                raise CommandError(f"{path} answered {response.status_code}")
            return response

        Player(call=call, post=post).play(outcome)
        call.refresh_from_db()
        self.stdout.write(self.style.SUCCESS(f"Call {call.pk}: {call.status} {call.outcome}".rstrip()))
