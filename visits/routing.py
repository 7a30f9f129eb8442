from django.urls import path

from visits import consumers

# django-stubs types path() for HTTP views; Channels routes its ASGI consumers through the same
# path() (as its documentation does), so each route ignores that one argument type.
websocket_urlpatterns = [
    path("ws/staff/<slug:slug>/", consumers.StaffDashboardConsumer.as_asgi()),  # type: ignore[arg-type]
    path("ws/visit/<str:token>/", consumers.PatientConsumer.as_asgi()),  # type: ignore[arg-type]
    path("ws/call/<slug:slug>/<int:visit_id>/", consumers.StaffCallConsumer.as_asgi()),  # type: ignore[arg-type]
    path("ws/guest/<str:token>/", consumers.CallGuestConsumer.as_asgi()),  # type: ignore[arg-type]
]
