"""System checks: the engine's timings must fit inside the broker's redelivery window.

Redis gives an unacknowledged message to another worker after its visibility timeout: a chunk
that may run longer, or a countdown parked in the broker that long, would run twice.
"""

from celery import current_app
from django.core import checks

from jobs.conf import settings


@checks.register()
def timings_fit_the_visibility_timeout(app_configs, **kwargs):
    visibility = (current_app.conf.broker_transport_options or {}).get("visibility_timeout")
    if visibility is None:
        return []  # a broker without one (RabbitMQ) never redelivers a message a worker holds
    errors = []
    if visibility <= settings.JOB_CHUNK_TIME_LIMIT * 4:
        errors.append(
            checks.Error(
                f"JOB_CHUNK_TIME_LIMIT ({settings.JOB_CHUNK_TIME_LIMIT} s) must be under a quarter of the "
                f"broker's visibility_timeout ({visibility} s).",
                id="jobs.E001",
            )
        )
    if visibility <= settings.JOBS_MAX_COUNTDOWN * 10:
        errors.append(
            checks.Error(
                f"JOBS_MAX_COUNTDOWN ({settings.JOBS_MAX_COUNTDOWN} s) must be under a tenth of the "
                f"broker's visibility_timeout ({visibility} s).",
                id="jobs.E002",
            )
        )
    return errors
