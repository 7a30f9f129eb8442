from django.contrib import admin
from django.urls import include, path

from waitingroom import views
from waitingroom.outbox.twilio_webhooks import twilio_sms_status
from waitingroom.payments.webhooks import stripe_webhook

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    path("twilio/sms-status/", twilio_sms_status, name="twilio_sms_status"),
    path("twilio/voice/", include("waitingroom.voice.urls")),
    path("pay/", include("waitingroom.payments.urls")),
    path("stripe/webhook/", stripe_webhook, name="stripe_webhook"),
    path("accounts/", include("django.contrib.auth.urls")),
    path("admin/", admin.site.urls),
    path("", include("visits.urls")),
    path("", include("scheduling.urls")),
    path("", include("consultations.urls")),
]
