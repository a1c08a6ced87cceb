"""Build multipart bodies by hand, so tests can send file names no well-behaved client would
(Django's test client strips the directory part of a file name before sending it)."""

import uuid
from urllib.parse import quote


def multipart_body(files=(), fields=()):
    """(body, content_type) for `files` = [(field, filename, bytes)] and `fields` = [(name, value)]."""
    boundary = f"mediaflow-{uuid.uuid4().hex}"
    out = bytearray()
    for name, value in fields:
        out += f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'.encode()
        out += str(value).encode() + b"\r\n"
    for field, filename, data in files:
        if any(ord(ch) < 0x20 and ch != "\x00" for ch in filename):
            # Line breaks cannot travel raw in a header: RFC 2231/5987 percent-encoding can.
            disposition = f"filename*=UTF-8''{quote(filename, safe='')}"
        else:
            disposition = 'filename="{}"'.format(filename.replace('"', "%22"))
        out += f"--{boundary}\r\n".encode()
        out += f'Content-Disposition: form-data; name="{field}"; {disposition}\r\n'.encode()
        out += b"Content-Type: application/octet-stream\r\n\r\n" + data + b"\r\n"
    out += f"--{boundary}--\r\n".encode()
    return bytes(out), f"multipart/form-data; boundary={boundary}"


def post_files(client, url, files, fields=(), **extra):
    body, content_type = multipart_body([("files", name, data) for name, data in files], fields)
    return client.generic("POST", url, body, content_type=content_type, **extra)
