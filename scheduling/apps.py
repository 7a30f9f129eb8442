from django.apps import AppConfig
from django.db.models.signals import post_save


def create_profile(sender, instance, created: bool, raw: bool = False, **kwargs) -> None:
    """Every clinic has its scheduling settings from the start, so pages never write on a GET."""
    if created and not raw:
        from scheduling.models import SchedulingProfile

        SchedulingProfile.objects.get_or_create(clinic=instance)


class SchedulingConfig(AppConfig):
    name = "scheduling"
    verbose_name = "Scheduling"

    def ready(self) -> None:
        from waitingroom.models import Clinic

        post_save.connect(create_profile, sender=Clinic, dispatch_uid="scheduling-profile")
