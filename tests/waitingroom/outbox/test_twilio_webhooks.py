from django.http import HttpResponse
from django.test import RequestFactory

from tests.support.twilio import twilio_signature
from waitingroom.twilio_signing import twilio_webhook

PARAMS = {"MessageSid": "SM1", "MessageStatus": "delivered"}
calls: list[dict] = []


@twilio_webhook
def view(request):
    calls.append(request.POST.dict())
    return HttpResponse("ok")


def post(signature: str | None, params=PARAMS, path="/twilio/sms-status/"):
    headers = {"X-Twilio-Signature": signature} if signature is not None else None
    return RequestFactory().post(path, params, headers=headers)


def setup_function():
    calls.clear()


def test_signed_request_reaches_the_view(settings):
    sig = twilio_signature(
        settings.PUBLIC_BASE_URL + "/twilio/sms-status/", PARAMS, settings.TWILIO_AUTH_TOKEN
    )
    assert view(post(sig)).status_code == 200
    assert calls == [PARAMS]


def test_unsigned_request_is_403_and_runs_nothing():
    assert view(post(None)).status_code == 403
    assert calls == []


def test_signature_for_other_params_or_token_is_403(settings):
    url = settings.PUBLIC_BASE_URL + "/twilio/sms-status/"
    tampered = twilio_signature(url, {**PARAMS, "MessageStatus": "failed"}, settings.TWILIO_AUTH_TOKEN)
    wrong_token = twilio_signature(url, PARAMS, "someone-elses-token")
    assert view(post(tampered)).status_code == 403
    assert view(post(wrong_token)).status_code == 403
    assert calls == []


def test_get_is_refused():
    assert view(RequestFactory().get("/twilio/sms-status/")).status_code == 405
