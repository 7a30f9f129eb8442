from django.apps import AppConfig


class VisitsConfig(AppConfig):
    name = "visits"
    verbose_name = "Waiting room"

    def ready(self) -> None:
        from waitingroom.outbox.delivery import sms_status_changed

        sms_status_changed.connect(recall_sms_status_changed, dispatch_uid="visits-recall-sms")


def recall_sms_status_changed(sender, message, **kwargs) -> None:
    """A Recall SMS's delivery status moved: the visit's card shows "SMS failed" when it failed."""
    from visits import publishing
    from visits.lifecycle import Status
    from visits.models import Visit

    for visit in Visit.objects.filter(last_recall_sms=message).select_related("clinic"):
        publishing.visit_changed(visit, before=Status(visit.status))
