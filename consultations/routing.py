from django.urls import URLPattern

# Filled by the consultation room consumers.
websocket_urlpatterns: list[URLPattern] = []
