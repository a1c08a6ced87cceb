"""Measure how much memory one large object costs through `default_storage`, in a fresh process.

    python -m tests.support.s3_memory_probe SIZE_MB   (with MEDIA_STORAGE=s3 and AWS_* set)

Writes SIZE_MB of random bytes to a file on disk (like an upload Django spooled to disk), saves it
through default_storage, then opens and reads it back in 64 KB pieces. A sampling thread records
the process's resident memory during each step; prints JSON with the growth over the step's start
in MB, whether the read buffer spilled to disk, and whether the bytes came back intact.
A fresh process keeps the test runner's own memory out of the numbers.
"""

import hashlib
import json
import os
import sys
import tempfile
import threading
import time

import django

MB = 1024 * 1024


class PeakRss:
    """Highest RSS seen while the block runs, sampled every 2 ms, minus the RSS at its start."""

    def __init__(self, process):
        self.process = process

    def __enter__(self):
        self.base = self.highest = self.process.memory_info().rss
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def _sample(self):
        while not self._stop.is_set():
            self.highest = max(self.highest, self.process.memory_info().rss)
            time.sleep(0.002)

    def __exit__(self, *exc_info):
        self._stop.set()
        self._thread.join()
        self.growth_mb = round((self.highest - self.base) / MB, 1)
        return False


def main(size_mb):
    import psutil

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "project.settings")
    django.setup()
    from django.core.files import File
    from django.core.files.base import ContentFile
    from django.core.files.storage import default_storage

    process = psutil.Process()
    digest = hashlib.sha256()
    with tempfile.NamedTemporaryFile(suffix=".upload", delete=False) as source:
        for _ in range(size_mb):
            block = os.urandom(MB)
            digest.update(block)
            source.write(block)
    name = f"probe/{digest.hexdigest()}"
    try:
        default_storage.save("probe/warm-up", ContentFile(b"x" * 1000))  # client, threads, pools
        with default_storage.open("probe/warm-up", "rb") as handle:
            handle.read()
        with open(source.name, "rb") as upload, PeakRss(process) as save:
            saved = default_storage.save(name, File(upload))
        read_back = hashlib.sha256()
        with PeakRss(process) as read, default_storage.open(name, "rb") as handle:
            while piece := handle.read(64 * 1024):
                read_back.update(piece)
            spilled = bool(getattr(handle.file, "_rolled", False))
        default_storage.delete(name)
        default_storage.delete("probe/warm-up")
    finally:
        os.unlink(source.name)
    print(json.dumps({
        "size_mb": size_mb, "saved_as": saved, "save_growth_mb": save.growth_mb,
        "read_growth_mb": read.growth_mb, "read_spilled_to_disk": spilled,
        "intact": read_back.hexdigest() == digest.hexdigest(),
    }))  # fmt: skip


if __name__ == "__main__":
    main(int(sys.argv[1]))
