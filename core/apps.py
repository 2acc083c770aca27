from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CoreConfig(AppConfig):
    name = "core"
    verbose_name = _("Security logs")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Library plumbing: every simple-history table refuses UPDATE and DELETE (migrated
        # triggers), and models with history remember what was loaded so that the activity
        # trail can say what a save changed.
        from django.apps import apps
        from django.contrib.auth.signals import user_logged_in, user_login_failed
        from django.db.models.signals import post_init

        from .activity import on_logged_in, on_login_failed, remember_loaded
        from .append_only import protect_historical_models

        protect_historical_models()
        for model in apps.get_models():
            if hasattr(model, "history") and not hasattr(model, "instance_type"):
                post_init.connect(remember_loaded, sender=model, dispatch_uid=f"activity:{model}")
        # Every sign-in and failed sign-in goes into the activity trail.
        user_logged_in.connect(on_logged_in, dispatch_uid="activity:login")
        user_login_failed.connect(on_login_failed, dispatch_uid="activity:login_failed")
        # A changed password hash revokes the user's API tokens, whatever path changed it.
        from django.conf import settings
        from django.db.models.signals import post_save, pre_save

        from .tokens import user_password_changed, user_password_watch

        user_model = apps.get_model(settings.AUTH_USER_MODEL)
        pre_save.connect(user_password_watch, sender=user_model, dispatch_uid="tokens:pw")
        post_save.connect(user_password_changed, sender=user_model, dispatch_uid="tokens:pw")
