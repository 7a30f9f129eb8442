from django.urls import path

from scheduling.requests import consumers

# django-stubs types path() for HTTP views; Channels routes its ASGI consumers through the same
# path() (as its documentation does), so each route ignores that one argument type.
websocket_urlpatterns = [
    path("ws/dispatch/", consumers.DispatchConsumer.as_asgi()),  # type: ignore[arg-type]
]
