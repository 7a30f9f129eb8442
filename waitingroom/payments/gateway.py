"""The one way the app talks to Stripe: a StripeClient from settings (Stripe's API in production,
localstripe in development and the tests). Tests hand it the SDK's own kind of fake HTTP client
(`use_http_client`) to see the exact requests for what localstripe does not model."""

from __future__ import annotations

import stripe
from django.conf import settings

_http_client: stripe.HTTPClient | None = None

# The SDK retries a request whose answer was lost (a connection error, a 409 or a 5xx) with the
# same idempotency key, so Stripe applies it once; two retries keep a charge inside its task's time.
NETWORK_RETRIES = 2


def client() -> stripe.StripeClient:
    return stripe.StripeClient(
        settings.STRIPE_SECRET_KEY,
        base_addresses={"api": settings.STRIPE_API_BASE},
        http_client=_http_client,
        max_network_retries=NETWORK_RETRIES,
    )


def use_http_client(http_client: stripe.HTTPClient | None) -> None:
    """Route every request through `http_client` (None: the SDK's default). For tests."""
    global _http_client
    _http_client = http_client
