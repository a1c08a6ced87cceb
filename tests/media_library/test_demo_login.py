"""`manage.py create_demo_user`, which `make run` calls on every start: the demo login is made
once, with a random password kept in var/demo_login (0600) and printed while it still is the
password; an operator's change of password or of permissions holds across restarts."""

import io
import json
import re
import stat

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command

pytestmark = pytest.mark.django_db


@pytest.fixture
def var_dir(settings, tmp_path):
    settings.VAR_DIR = tmp_path
    return tmp_path


def start(**options):
    """What one `make run` start prints: (stdout, stderr, the printed password or None)."""
    out, err = io.StringIO(), io.StringIO()
    call_command("create_demo_user", stdout=out, stderr=err, **options)
    printed = re.search(r"username: (\S+)\s+password: (\S+)", out.getvalue())
    return out.getvalue(), err.getvalue(), printed and printed[2]


def demo():
    return get_user_model().objects.get(username="demo")


def test_the_demo_login_is_made_once_with_a_private_random_password(var_dir):
    _out, _err, password = start()
    record = var_dir / "demo_login"
    assert stat.S_IMODE(record.stat().st_mode) == 0o600
    assert password and len(password) >= 16 and password != "mediaflow-demo"
    user = demo()
    assert user.check_password(password) and user.is_staff and user.is_superuser
    hashed = user.password

    _out, _err, again = start()
    assert again == password  # printed at each start while it is unchanged
    assert demo().password == hashed  # and nothing was reset


def test_a_changed_password_holds_and_is_no_longer_printed(var_dir):
    _out, _err, password = start()
    user = demo()
    user.set_password("the-operators-own-choice")
    user.save()

    out, _err, printed = start()
    assert printed is None and password not in out and "was changed" in out
    assert password not in (var_dir / "demo_login").read_text()  # struck from the record too
    assert demo().check_password("the-operators-own-choice")
    out, _err, printed = start()
    assert printed is None and "was changed" in out


def test_permissions_taken_away_are_not_granted_back(var_dir):
    _out, _err, password = start()
    get_user_model().objects.filter(username="demo").update(is_superuser=False, is_staff=False)
    _out, _err, printed = start()
    assert printed == password
    user = demo()
    assert not user.is_superuser and not user.is_staff


def test_a_deleted_demo_login_is_not_made_again(var_dir):
    start()
    demo().delete()
    out, _err, printed = start()
    assert printed is None and "was deleted" in out
    assert not get_user_model().objects.filter(username="demo").exists()
    (var_dir / "demo_login").unlink()  # what the message says to do for a new one
    _out, _err, printed = start()
    assert printed and demo().check_password(printed)


def test_an_existing_user_is_left_alone_and_the_former_public_password_is_flagged(var_dir, make_user):
    make_user("demo", password="mediaflow-demo")  # an install from before: reset on every start
    hashed = demo().password
    out, err, printed = start()
    assert printed is None and "left as it is" in out and "former public demo password" in err
    user = demo()
    assert user.password == hashed and not user.is_superuser and not user.is_staff
    assert not (var_dir / "demo_login").exists()

    user.set_password("changed-since")
    user.save()
    _out, err, _printed = start()
    assert err == ""


def test_the_record_names_the_user_it_made(var_dir):
    _out, _err, password = start(username="ops")
    assert json.loads((var_dir / "demo_login").read_text()) == {"username": "ops", "password": password}
    assert get_user_model().objects.get(username="ops").check_password(password)
