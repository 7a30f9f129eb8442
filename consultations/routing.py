from django.urls import URLPattern, path

from consultations import consumers

# django-stubs types path() for HTTP views; Channels routes its ASGI consumers through the same
# path() (as its documentation does), so each route ignores that one argument type.
websocket_urlpatterns: list[URLPattern] = [
    path("ws/consultations/<int:consultation_id>/", consumers.StaffRoomConsumer.as_asgi()),  # type: ignore[arg-type]
    path("ws/consult/room/<str:token>/", consumers.ClientRoomConsumer.as_asgi()),  # type: ignore[arg-type]
]
