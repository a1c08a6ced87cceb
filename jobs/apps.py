from importlib import import_module

from django.apps import AppConfig

import jobs
from jobs.conf import settings


class JobsConfig(AppConfig):
    name = "jobs"
    verbose_name = "Jobs"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        # The only imports inside a function in this app: these modules need the models loaded.
        from jobs import checks, services, signals  # noqa: F401  (checks and signals register themselves)

        # The package's public functions (`jobs.submit(...)`), bound once they can be imported.
        jobs.submit = services.submit
        jobs.cancel_job = services.cancel_job
        jobs.retry_failed = services.retry_failed
        for module in settings.JOBS_EXTRA_KIND_MODULES:
            import_module(module)
