"""The phone bridge's Twilio webhooks, under twilio/voice/ (waitingroom/urls.py). The names are
the contract with calling.py and twiml.py, which give Twilio these URLs."""

from __future__ import annotations

from django.urls import path

from waitingroom.voice import webhooks

urlpatterns = [
    path("<int:call_id>/answer/", webhooks.voice_answer, name="voice_answer"),
    path("<int:call_id>/gather/", webhooks.voice_gather, name="voice_gather"),
    path("<int:call_id>/whisper/", webhooks.voice_whisper, name="voice_whisper"),
    path("<int:call_id>/dial-result/", webhooks.voice_dial_result, name="voice_dial_result"),
    path("<int:call_id>/status/", webhooks.voice_staff_status, name="voice_staff_status"),
    path("<int:call_id>/recording/", webhooks.voice_recording_status, name="voice_recording_status"),
    path("inbound/", webhooks.voice_inbound, name="voice_inbound"),
]
