from django.urls import path

from scheduling.requests import dispatch, public

urlpatterns = [
    # Staff: the dispatch page, and the provider's panel and toggle on the dashboard
    path("dispatch/", dispatch.dispatch, name="dispatch"),
    path("dispatch/rows/", dispatch.dispatch_rows, name="dispatch_rows"),
    path("dispatch/requests/<int:request_id>/assign/", dispatch.assign, name="dispatch_assign"),
    path("dispatch/requests/<int:request_id>/decide/", dispatch.decide, name="request_decide"),
    path("dashboard/<slug:slug>/requests/", dispatch.requests_panel, name="requests_panel"),
    path("dashboard/<slug:slug>/availability/", dispatch.availability_toggle, name="availability_toggle"),
    # Requesters
    path("c/<slug:slug>/request/", public.request_form, name="request_form"),
    path("c/<slug:slug>/request/sent/", public.request_sent, name="request_sent"),
    path("c/<slug:slug>/calendar/", public.calendar, name="clinic_calendar"),
    path("c/<slug:slug>/calendar/<int:membership_id>/", public.calendar, name="provider_calendar"),
    path("requests/", public.requester_home, name="requester_home"),
    path("requests/link/<str:token>/", public.requester_enter, name="requester_enter"),
    path("requests/<int:request_id>/withdraw/", public.requester_withdraw, name="requester_withdraw"),
]
