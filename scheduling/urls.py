from django.urls import path

from scheduling import dispatch_views, guest_views, meeting_views, views

urlpatterns = [
    # Staff
    path("dispatch/", dispatch_views.dispatch, name="dispatch"),
    path("dispatch/rows/", dispatch_views.dispatch_rows, name="dispatch_rows"),
    path("dispatch/requests/<int:request_id>/assign/", dispatch_views.assign, name="dispatch_assign"),
    path("dispatch/requests/<int:request_id>/decide/", dispatch_views.decide, name="request_decide"),
    path("dashboard/<slug:slug>/requests/", dispatch_views.requests_panel, name="requests_panel"),
    path(
        "dashboard/<slug:slug>/availability/", dispatch_views.availability_toggle, name="availability_toggle"
    ),
    # Requesters
    path("c/<slug:slug>/request/", views.request_form, name="request_form"),
    path("c/<slug:slug>/request/sent/", views.request_sent, name="request_sent"),
    path("c/<slug:slug>/calendar/", views.calendar, name="clinic_calendar"),
    path("c/<slug:slug>/calendar/<int:membership_id>/", views.calendar, name="provider_calendar"),
    path("requests/", views.requester_home, name="requester_home"),
    path("requests/link/<str:token>/", views.requester_enter, name="requester_enter"),
    path("requests/<int:request_id>/withdraw/", views.requester_withdraw, name="requester_withdraw"),
    # Meetings: the staff's overview and actions
    path("meetings/", meeting_views.overview, name="meetings"),
    path("meetings/rows/", meeting_views.rows, name="meetings_rows"),
    path("meetings/new/", meeting_views.meeting_new, name="meeting_new"),
    path("meetings/<int:meeting_id>/agenda.ics", meeting_views.agenda, name="meeting_agenda"),
    path("meetings/<int:meeting_id>/change/", meeting_views.change, name="meeting_change"),
    path("meetings/<int:meeting_id>/enter/", meeting_views.enter_room, name="meeting_enter_room"),
    path("meetings/<int:meeting_id>/summary/", meeting_views.summary, name="meeting_summary"),
    # Meeting guests
    path("meet/", guest_views.meet, name="meet"),
    path("c/<slug:slug>/meet/", guest_views.meet, name="clinic_meet"),
    path("m/<str:token>/", guest_views.meeting_join, name="meeting_join"),
]
