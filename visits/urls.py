from django.urls import path

from visits import views

urlpatterns = [
    path("dashboard/", views.dashboard_landing, name="dashboard"),
    path("dashboard/<slug:slug>/", views.dashboard, name="clinic_dashboard"),
]
