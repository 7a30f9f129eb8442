"""Card payments' public URLs, under pay/ (waitingroom/urls.py): the card step's endpoints and
the client's confirmation page. Stripe's webhook is stripe/webhook/ (waitingroom/urls.py)."""

from __future__ import annotations

from django.urls import path, re_path

from waitingroom.payments import public

urlpatterns = [
    path("cards/<slug:slug>/setup/", public.card_setup, name="payments_card_setup"),
    path("cards/<slug:slug>/finish/", public.card_finish, name="payments_card_finish"),
    re_path(r"^(?P<client_token>[A-Za-z0-9_-]{16,40})/$", public.pay, name="payments_pay"),
    re_path(
        r"^(?P<client_token>[A-Za-z0-9_-]{16,40})/confirmed/$",
        public.pay_confirmed,
        name="payments_pay_confirmed",
    ),
]
