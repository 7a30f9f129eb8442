from django.urls import URLPattern, URLResolver, path

from consultations import public

# Filled by the booking, room and file views.
urlpatterns: list[URLPattern | URLResolver] = [
    # The client books (consultations/public.py)
    path("c/<slug:slug>/consult/", public.book, name="consultation_book"),
    path("c/<slug:slug>/consult/code/send/", public.code_send, name="consultation_code_send"),
    path("c/<slug:slug>/consult/code/verify/", public.code_verify, name="consultation_code_verify"),
    # Stand-in until the client's room (consultations/client.py) is merged: drop it then.
    path("consult/room/<str:token>/", public.room_pending, name="consultation_client_room"),
]
