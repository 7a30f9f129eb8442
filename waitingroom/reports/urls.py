from django.urls import path

from waitingroom.reports import views

urlpatterns = [
    path("", views.page, name="reports"),
    path("csv/<slug:key>/", views.download, name="report_csv"),
]
