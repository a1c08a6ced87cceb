"""Count the S3 requests a storage sends, per operation name (PutObject, DeleteObjects, ...).

botocore emits `before-send.s3.<OperationName>` just before each HTTP request leaves (every
attempt, retries included), on the event system of the client that sends it. django-storages
keeps one boto3 client per thread; the counter hooks the calling thread's, which is also the one
s3transfer's helper threads use for that thread's uploads and downloads.

    with S3RequestCounter(default_storage) as requests:
        copy_files(...)
    assert requests.total == 0
    assert requests["DeleteObjects"] == 1
"""

import threading
from collections import Counter


class S3RequestCounter:
    EVENT = "before-send.s3"

    def __init__(self, storage):
        self.storage = storage
        self.counts = Counter()
        self.sent = []  # (operation, method, header names in lower case), in order
        self._lock = threading.Lock()
        self._events = None

    def _count(self, event_name, request=None, **kwargs):
        operation = event_name.rsplit(".", 1)[-1]
        headers = {name.lower(): value for name, value in (request.headers.items() if request else ())}
        with self._lock:
            self.counts[operation] += 1
            self.sent.append((operation, getattr(request, "method", None), headers))
        # None: let the request go out (a value here would replace the response)

    def __enter__(self):
        client = self.storage.connection.meta.client
        self._events = client.meta.events
        self._events.register(self.EVENT, self._count, unique_id=f"mediaflow-counter-{id(self)}")
        return self

    def __exit__(self, *exc_info):
        self._events.unregister(self.EVENT, unique_id=f"mediaflow-counter-{id(self)}")
        return False

    def __getitem__(self, operation):
        return self.counts[operation]

    @property
    def total(self):
        return sum(self.counts.values())

    def as_dict(self):
        return dict(sorted(self.counts.items()))
