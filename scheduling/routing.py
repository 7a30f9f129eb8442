from django.urls import path

from scheduling.meetings import consumers as meetings_consumers
from scheduling.requests import consumers as requests_consumers

# django-stubs types path() for HTTP views; Channels routes its ASGI consumers through the same
# path() (as its documentation does), so each route ignores that one argument type.
websocket_urlpatterns = [
    path("ws/dispatch/", requests_consumers.DispatchConsumer.as_asgi()),  # type: ignore[arg-type]
    path("ws/meetings/<slug:slug>/", meetings_consumers.MeetingsOverviewConsumer.as_asgi()),  # type: ignore[arg-type]
]
