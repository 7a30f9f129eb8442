from django.urls import include, path

# The two sides keep their own routes; paths and names are the project's public URLs.
urlpatterns = [
    path("", include("scheduling.requests.urls")),
    path("", include("scheduling.meetings.urls")),
]
