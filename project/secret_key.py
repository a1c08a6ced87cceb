"""The SECRET_KEY of an install that did not set one: generated once into var/, then reused.

Every process of `make run` (web, workers, beat) may start at the same moment on a fresh install,
so the key is written to a private temporary file first and linked into place: exactly one writer
wins, and nobody ever reads a half-written key.
"""

import contextlib
import os
import secrets
from pathlib import Path


def load_or_create_secret_key(path: Path) -> str:
    """The key stored at `path` (mode 0600), creating it with a fresh random key if absent."""
    path = Path(path)
    try:
        return _read(path)
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(descriptor, "w") as handle:
            handle.write(secrets.token_urlsafe(50) + "\n")
        with contextlib.suppress(FileExistsError):  # another process linked its key first: use theirs
            os.link(temporary, path)  # atomic
    finally:
        temporary.unlink(missing_ok=True)
    return _read(path)


def _read(path: Path) -> str:
    key = path.read_text().strip()
    if not key:
        raise ValueError(f"{path} is empty: delete it to have a new secret key generated")
    return key
