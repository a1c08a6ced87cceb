from django.apps import AppConfig


class JobsConfig(AppConfig):
    name = "jobs"
    verbose_name = "Jobs"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from importlib import import_module

        from django.conf import settings

        from jobs import signals  # noqa: F401  (connects the Celery signal handlers)

        for module in getattr(settings, "JOBS_EXTRA_KIND_MODULES", []):
            import_module(module)
