"""The demo login `make run` offers on a new install: made once, never reset, never re-granted.

The first start creates an operator (staff + superuser, so the beat schedule can be edited in the
admin) with a random password, recorded in var/demo_login (mode 0600) so that each later start
can print it again, as long as it still is the password. Once the operator changes it, the old
one is struck from the record and nothing is printed. An existing user is never touched: no
password reset, no permission granted back; a demo login the operator deleted is not made again
(delete var/demo_login to have a new one made).
"""

import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import check_password
from django.db import transaction

# What `create_demo_user` used to set on every start: an install that still has it is warned.
FORMER_PUBLIC_PASSWORD = "mediaflow-demo"

CREATED, UNCHANGED, CHANGED, REMOVED, NOT_OURS = "created", "unchanged", "changed", "removed", "not ours"


@dataclass(frozen=True)
class DemoLogin:
    state: str
    username: str
    password: str | None = None  # only while it is still the user's password
    public_password: bool = False  # NOT_OURS: the user still has FORMER_PUBLIC_PASSWORD


def ensure_demo_login(record_path: Path, username: str) -> DemoLogin:
    """Create the demo login if this install never made one; report what became of it."""
    record_path = Path(record_path)
    record = _read_record(record_path)
    user = get_user_model().objects.filter(username=username).first()
    if record is None:
        if user is not None:
            public = check_password(FORMER_PUBLIC_PASSWORD, user.password)
            return DemoLogin(NOT_OURS, username, public_password=public)
        password = secrets.token_urlsafe(12)
        with transaction.atomic():  # no user without its record: a failed write undoes the user
            get_user_model().objects.create_superuser(username=username, password=password, email="")
            _write_record(record_path, {"username": username, "password": password})
        return DemoLogin(CREATED, username, password)
    username = record.get("username", username)
    user = get_user_model().objects.filter(username=username).first()
    if user is None:
        return DemoLogin(REMOVED, username)
    password = record.get("password")
    # hashers.check_password, not user.check_password: that one may re-hash and save the user.
    if password and check_password(password, user.password):
        return DemoLogin(UNCHANGED, username, password)
    if password:
        _write_record(record_path, {"username": username, "password": None})  # no longer a secret to keep
    return DemoLogin(CHANGED, username)


def _read_record(path):
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        return None


def _write_record(path, record):
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        json.dump(record, handle)
    os.replace(temporary, path)
