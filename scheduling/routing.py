from django.urls import path

from scheduling.requests import consumers

websocket_urlpatterns = [
    path("ws/dispatch/", consumers.DispatchConsumer.as_asgi()),
]
