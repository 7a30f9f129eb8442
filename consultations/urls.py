from django.urls import URLPattern, URLResolver

# Filled by the booking, room and file views.
urlpatterns: list[URLPattern | URLResolver] = []
