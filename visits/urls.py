from django.urls import path

from visits import patient_views, views

urlpatterns = [
    # Staff
    path("dashboard/", views.dashboard_landing, name="dashboard"),
    path("dashboard/<slug:slug>/", views.dashboard, name="clinic_dashboard"),
    path("dashboard/<slug:slug>/board/", views.board, name="dashboard_board"),
    path("dashboard/<slug:slug>/broadcast/", views.broadcast, name="dashboard_broadcast"),
    path("dashboard/<slug:slug>/visits/<int:visit_id>/chat/", views.visit_chat, name="visit_chat"),
    path("dashboard/<slug:slug>/visits/<int:visit_id>/room/", views.visit_room, name="visit_room"),
    path(
        "dashboard/<slug:slug>/visits/<int:visit_id>/<str:action>/", views.visit_action, name="visit_action"
    ),
    # Patients
    path("c/<slug:slug>/", patient_views.intake, name="clinic_intake"),
    path("v/<str:token>/", patient_views.wait, name="patient_wait"),
    path("v/<str:token>/state/", patient_views.state, name="patient_state"),
    path("v/<str:token>/leave/", patient_views.leave, name="patient_leave"),
    path("v/<str:token>/chat/", patient_views.chat_send, name="patient_chat"),
    path("v/<str:token>/phone/", patient_views.phone_start, name="patient_phone"),
    path("v/<str:token>/phone/verify/", patient_views.phone_verify, name="patient_phone_verify"),
    path("r/<str:link_token>/", patient_views.recall_link, name="patient_recall_link"),
]
