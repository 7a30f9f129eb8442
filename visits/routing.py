from django.urls import path

from visits import consumers

websocket_urlpatterns = [
    path("ws/staff/<slug:slug>/", consumers.StaffDashboardConsumer.as_asgi()),
    path("ws/visit/<str:token>/", consumers.PatientConsumer.as_asgi()),
    path("ws/call/<slug:slug>/<int:visit_id>/", consumers.StaffCallConsumer.as_asgi()),
]
