"""A staff member's sockets end with the right to them. Whatever takes access away (logging out,
a membership removed or its role changed, the account deactivated, deleted or given a new
password) tells every socket of theirs at once, through their own group
(waitingroom/realtime/groups.py: staff_member_group): the logged-out session's sockets close,
the others re-check their right and close when it is gone. The consumers' own timer
(waitingroom/realtime/consumer.py) catches what no signal tells, such as an expired session.

Model signals, so that every path that changes a membership or an account (the admin's forms and
inlines, a delete that cascades, a management command) tells the sockets; a bulk `update()` sends
no signal, and then the timer closes the sockets within its period."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.auth.signals import user_logged_out
from django.db.models.signals import post_delete, post_save

from waitingroom.models import Membership
from waitingroom.realtime import groups, messages, publisher
from waitingroom.realtime.consumer import session_fingerprint


def access_changed(*, user_id: int, session=None) -> None:
    """After commit, tell every socket of this staff member: with `session`, that session ended
    (its sockets close); without, that their access changed (each re-checks it)."""
    publisher.publish(
        groups.staff_member_group(user_id),
        {"type": messages.ACCESS.name, "session": session_fingerprint(session)},
    )


def _logged_out(sender, request, user, **kwargs) -> None:
    if user is not None and user.pk is not None:
        access_changed(user_id=user.pk, session=getattr(request, "session", None))


def _membership_saved(sender, instance: Membership, created: bool, **kwargs) -> None:
    if not created:  # a new membership takes nothing away
        access_changed(user_id=instance.user_id)


def _membership_deleted(sender, instance: Membership, **kwargs) -> None:
    access_changed(user_id=instance.user_id)


def _account_saved(sender, instance, created: bool, update_fields=None, **kwargs) -> None:
    # Signing in saves last_login only: nothing to re-check for that.
    if created or (update_fields is not None and set(update_fields) <= {"last_login"}):
        return
    access_changed(user_id=instance.pk)


def _account_deleted(sender, instance, **kwargs) -> None:
    access_changed(user_id=instance.pk)


def connect_signals() -> None:
    """Called once from the app's ready()."""
    user_model = get_user_model()
    user_logged_out.connect(_logged_out, dispatch_uid="waitingroom-access-logout")
    post_save.connect(_membership_saved, sender=Membership, dispatch_uid="waitingroom-access-membership")
    post_delete.connect(_membership_deleted, sender=Membership, dispatch_uid="waitingroom-access-membership")
    post_save.connect(_account_saved, sender=user_model, dispatch_uid="waitingroom-access-account")
    post_delete.connect(_account_deleted, sender=user_model, dispatch_uid="waitingroom-access-account")
