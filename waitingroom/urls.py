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
    path("reports/", include("waitingroom.reports.urls")),
    path("accounts/", include("django.contrib.auth.urls")),
    path("admin/", admin.site.urls),
    path("", include("visits.urls")),
    path("", include("scheduling.urls")),
    path("", include("consultations.urls")),
]

# Dead ends get the product's pages (waitingroom/errors.py), never Django's bare ones.
handler400 = "waitingroom.errors.bad_request"
handler403 = "waitingroom.errors.permission_denied"
handler404 = "waitingroom.errors.page_not_found"
handler500 = "waitingroom.errors.server_error"
