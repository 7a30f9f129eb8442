from django.urls import URLPattern, URLResolver, path

from consultations import uploads

# Filled by the booking, room and file views.
urlpatterns: list[URLPattern | URLResolver] = [
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
]
