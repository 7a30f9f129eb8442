from django.urls import path

from scheduling.meetings import consumers as meetings_consumers
from scheduling.requests import consumers as requests_consumers

websocket_urlpatterns = [
    path("ws/dispatch/", requests_consumers.DispatchConsumer.as_asgi()),
    path("ws/meetings/<slug:slug>/", meetings_consumers.MeetingsOverviewConsumer.as_asgi()),
]
