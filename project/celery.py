"""The Celery app. Configuration lives in settings (CELERY_* names)."""

import os

from celery import Celery
from celery.app.amqp import AMQP
from kombu import Connection

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "project.settings")

# While the broker is down, a worker tries to reconnect 2, 4, 6 … up to 30 s apart (kombu's
# defaults, which Celery's consumer does not let settings change): after an outage of a minute a
# worker idled up to 30 s more with Redis back. Tries at most this far apart take it back within
# seconds, at the cost of one failed connect every few seconds while Redis is down.
RECONNECT_INTERVAL_MAX = 3.0


class BrokerConnection(Connection):
    def _ensure_connection(self, errback=None, max_retries=None, *args, interval_max=30, **kwargs):
        interval_max = min(interval_max, RECONNECT_INTERVAL_MAX)
        return super()._ensure_connection(errback, max_retries, *args, interval_max=interval_max, **kwargs)


class BrokerAMQP(AMQP):
    Connection = BrokerConnection


app = Celery("project", amqp=BrokerAMQP)
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
app.autodiscover_tasks(["project"])
