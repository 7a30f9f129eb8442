from django.urls import path

from visits import account, guest, patient, staff

urlpatterns = [
    # Staff
    path("account/phone/", account.phone, name="account_phone"),
    path("dashboard/", staff.dashboard_landing, name="dashboard"),
    path("dashboard/<slug:slug>/", staff.dashboard, name="clinic_dashboard"),
    path("dashboard/<slug:slug>/board/", staff.board, name="dashboard_board"),
    path("dashboard/<slug:slug>/broadcast/", staff.broadcast, name="dashboard_broadcast"),
    path("dashboard/<slug:slug>/close/", staff.close_now, name="dashboard_close"),
    path("dashboard/<slug:slug>/reopen/", staff.reopen, name="dashboard_reopen"),
    path("dashboard/<slug:slug>/opening/", staff.opening_state, name="dashboard_opening"),
    path("dashboard/<slug:slug>/visits/<int:visit_id>/chat/", staff.visit_chat, name="visit_chat"),
    path("dashboard/<slug:slug>/visits/<int:visit_id>/room/", staff.visit_room, name="visit_room"),
    path(
        "dashboard/<slug:slug>/visits/<int:visit_id>/<str:action>/", staff.visit_action, name="visit_action"
    ),
    # Patients
    path("c/<slug:slug>/", patient.intake, name="clinic_intake"),
    path("v/<str:token>/", patient.wait, name="patient_wait"),
    path("v/<str:token>/state/", patient.state, name="patient_state"),
    path("v/<str:token>/leave/", patient.leave, name="patient_leave"),
    path("v/<str:token>/chat/", patient.chat_send, name="patient_chat"),
    path("v/<str:token>/phone/", patient.phone_start, name="patient_phone"),
    path("v/<str:token>/phone/verify/", patient.phone_verify, name="patient_phone_verify"),
    path("v/<str:token>/call-me/", patient.ask_for_phone, name="patient_ask_for_phone"),
    path("v/<str:token>/call-me/cancel/", patient.use_video, name="patient_use_video"),
    path("r/<str:link_token>/", patient.recall_link, name="patient_recall_link"),
    # Call guests (visits/call_guests.py): staff in the call invite and admit; the guest's link.
    path(
        "dashboard/<slug:slug>/visits/<int:visit_id>/guests/invite/",
        staff.call_guest_invite,
        name="call_guest_invite",
    ),
    path(
        "dashboard/<slug:slug>/visits/<int:visit_id>/guests/<int:guest_id>/<str:action>/",
        staff.call_guest_action,
        name="call_guest_action",
    ),
    path(
        "dashboard/<slug:slug>/visits/<int:visit_id>/guests/panel/",
        staff.call_guest_panel,
        name="call_guest_panel",
    ),
    path("g/<str:token>/", guest.call, name="guest_call"),
    path("g/<str:token>/state/", guest.state, name="guest_state"),
    path("g/<str:token>/ask/", guest.ask, name="guest_ask"),
    path("g/<str:token>/leave/", guest.leave, name="guest_leave"),
]
