from django.apps import AppConfig


class WaitingroomConfig(AppConfig):
    name = "waitingroom"
    verbose_name = "Clinics"

    def ready(self) -> None:
        from django.contrib.auth.signals import user_logged_in
        from django.core.signals import request_finished

        from waitingroom import access
        from waitingroom.db.connections import close_request_connections
        from waitingroom.middleware import session_refreshed_at_login

        user_logged_in.connect(session_refreshed_at_login, dispatch_uid="waitingroom-idle-refresh")
        request_finished.connect(close_request_connections, dispatch_uid="waitingroom-close-connections")
        access.connect_signals()
