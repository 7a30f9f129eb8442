from django.urls import URLPattern, URLResolver, path

from consultations import client, public, recordings, staff, uploads

urlpatterns: list[URLPattern | URLResolver] = [
    # The client books (consultations/public.py)
    path("c/<slug:slug>/consult/", public.book, name="consultation_book"),
    path("c/<slug:slug>/consult/code/send/", public.code_send, name="consultation_code_send"),
    path("c/<slug:slug>/consult/code/verify/", public.code_verify, name="consultation_code_verify"),
    # Staff: the room, its parts and actions, and the dashboard's Upcoming Appointments panel
    path("consultations/<int:consultation_id>/", staff.room, name="consultation_room"),
    path("consultations/<int:consultation_id>/part/<str:part>/", staff.part, name="consultation_part"),
    path("consultations/<int:consultation_id>/message/", staff.message, name="consultation_message"),
    path("consultations/<int:consultation_id>/call/", staff.call_start, name="consultation_call_start"),
    path("consultations/<int:consultation_id>/note/", staff.note, name="consultation_note"),
    path("consultations/<int:consultation_id>/charge/", staff.charge, name="consultation_charge"),
    path(
        "consultations/<int:consultation_id>/charge/retry/",
        staff.charge_retry,
        name="consultation_charge_retry",
    ),
    path(
        "consultations/<int:consultation_id>/charge/cancel/",
        staff.charge_cancel,
        name="consultation_charge_cancel",
    ),
    path("consultations/<int:consultation_id>/do/<str:action>/", staff.action, name="consultation_action"),
    path("dashboard/<slug:slug>/consultations/", staff.upcoming_panel, name="consultations_panel"),
    # The client, through their link
    path("consult/room/<str:token>/", client.room, name="consultation_client_room"),
    path("consult/room/<str:token>/part/<str:part>/", client.part, name="consultation_client_part"),
    path("consult/room/<str:token>/message/", client.message, name="consultation_client_message"),
    # The room's files (consultations/uploads.py). The two upload paths are also in
    # settings.REQUEST_BODY_LIMITS, which refuses a body over the largest file before Django reads it.
    path("consultations/<int:consultation_id>/files/", uploads.staff_upload, name="consultation_files"),
    path(
        "consultations/<int:consultation_id>/files/<int:attachment_id>/",
        uploads.staff_download,
        name="consultation_file",
    ),
    path("consult/room/<str:token>/files/", uploads.client_upload, name="consult_room_files"),
    path(
        "consult/room/<str:token>/files/<int:attachment_id>/",
        uploads.client_download,
        name="consult_room_file",
    ),
    # The calls' recordings (consultations/recordings.py): who may hear them is checked per request.
    path(
        "consultations/<int:consultation_id>/recordings/<int:recording_id>/",
        recordings.staff_audio,
        name="consultation_recording",
    ),
    path(
        "consult/room/<str:token>/recordings/<int:recording_id>/",
        recordings.client_audio,
        name="consult_room_recording",
    ),
]
