"""An upload handler that keeps an oversized upload from filling the disk.

Django writes every upload larger than FILE_UPLOAD_MAX_MEMORY_SIZE to a temporary file, all of
it, before any view runs. This handler stops writing a file once it passes MAX_UPLOAD_BYTES: the
rest of that part is read off the wire and dropped, while the file still reports the full size
the parser counted, so ingest rejects it as too large ("larger than the upload limit") and the
other files of the request are stored as usual. Enabled by FILE_UPLOAD_HANDLERS in settings.
"""

from django.conf import settings
from django.core.files.uploadhandler import TemporaryFileUploadHandler


class SizeCappedTemporaryFileUploadHandler(TemporaryFileUploadHandler):
    def receive_data_chunk(self, raw_data, start):
        if start + len(raw_data) > settings.MAX_UPLOAD_BYTES:
            return None  # past the limit: nothing more of this file reaches the disk
        return super().receive_data_chunk(raw_data, start)
