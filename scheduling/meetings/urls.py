from django.urls import path

from scheduling.meetings import guest, staff

urlpatterns = [
    # Staff: the overview and its actions
    path("meetings/", staff.overview, name="meetings"),
    path("meetings/rows/", staff.rows, name="meetings_rows"),
    path("meetings/new/", staff.meeting_new, name="meeting_new"),
    path("meetings/<int:meeting_id>/agenda.ics", staff.agenda, name="meeting_agenda"),
    path("meetings/<int:meeting_id>/change/", staff.change, name="meeting_change"),
    path("meetings/<int:meeting_id>/enter/", staff.enter_room, name="meeting_enter_room"),
    path("meetings/<int:meeting_id>/summary/", staff.summary, name="meeting_summary"),
    path("meetings/<int:meeting_id>/payment/", staff.payment, name="meeting_payment"),
    path("meetings/<int:meeting_id>/payment/part/", staff.payment_part, name="meeting_payment_part"),
    # Guests
    path("meet/", guest.meet, name="meet"),
    path("c/<slug:slug>/meet/", guest.meet, name="clinic_meet"),
    path("m/<str:token>/", guest.meeting_join, name="meeting_join"),
]
