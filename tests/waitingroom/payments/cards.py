"""What Stripe.js does in the page, done the way localstripe's Stripe.js mock does it (so the
service tests walk the browser's path without a browser): confirm a SetupIntent with the card
typed in, and answer the bank's 3-D Secure question."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

from django.conf import settings

OK = "4242424242424242"
DECLINED_AT_SAVE = "4000000000009995"
DECLINED_AT_CHARGE = "4000000000000341"
NEEDS_AUTHENTICATION = "4000002500003155"


def _post(path: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    request = urllib.request.Request(
        settings.LOCALSTRIPE_URL + path,
        data=json.dumps({"key": settings.STRIPE_PUBLISHABLE_KEY, **body}).encode(),
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=5) as answer:
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def confirm_setup(client_secret: str, number: str = OK) -> tuple[int, dict[str, Any]]:
    """stripe.confirmCardSetup(client_secret, {payment_method: {card, billing_details}})."""
    seti = client_secret.split("_secret_")[0]
    return _post(
        f"/v1/setup_intents/{seti}/confirm",
        {
            "use_stripe_sdk": True,
            "client_secret": client_secret,
            "payment_method_data": {
                "type": "card",
                "card": {"number": number, "exp_month": "12", "exp_year": "2031", "cvc": "123"},
                "billing_details": {"name": "Rosa Client", "email": "rosa@example.test"},
            },
        },
    )


def complete_setup_authentication(client_secret: str) -> tuple[int, dict[str, Any]]:
    """The mock's 3-D Secure modal, "Complete authentication", for a SetupIntent."""
    seti = client_secret.split("_secret_")[0]
    return _post(
        f"/v1/setup_intents/{seti}/confirm", {"use_stripe_sdk": True, "client_secret": client_secret}
    )


def authenticate_payment(client_secret: str, *, success: bool = True) -> tuple[int, dict[str, Any]]:
    """stripe.confirmCardPayment(client_secret): the mock's modal, then its _authenticate call."""
    pi = client_secret.split("_secret_")[0]
    return _post(
        f"/v1/payment_intents/{pi}/_authenticate?success={'true' if success else 'false'}",
        {"client_secret": client_secret},
    )
