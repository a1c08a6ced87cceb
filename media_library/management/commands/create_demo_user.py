import os

from django.conf import settings
from django.core.management.base import BaseCommand
from django.utils.translation import gettext as _

from media_library.demo_login import CHANGED, CREATED, NOT_OURS, REMOVED, UNCHANGED, ensure_demo_login


class Command(BaseCommand):
    help = "Create the demo login of `make run` once (random password in var/demo_login) and print it."

    def add_arguments(self, parser):
        parser.add_argument("--username", default=os.environ.get("DEMO_USERNAME", "demo"))

    def handle(self, *args, username, **options):
        record = settings.VAR_DIR / "demo_login"
        login = ensure_demo_login(record, username)
        if login.state in (CREATED, UNCHANGED):
            verb = _("Created demo login") if login.state == CREATED else _("Demo login")
            self.stdout.write(
                self.style.SUCCESS(f"{verb}  ->  username: {login.username}   password: {login.password}")
            )
        elif login.state == CHANGED:
            self.stdout.write(
                _("Demo login '%(username)s': its password was changed, so it is not shown.")
                % {"username": login.username}
            )
        elif login.state == REMOVED:
            self.stdout.write(
                _("The demo login '%(username)s' was deleted; delete %(record)s to have a new one made.")
                % {"username": login.username, "record": record}
            )
        elif login.state == NOT_OURS:
            self.stdout.write(
                _("A user '%(username)s' already exists; it is left as it is (no demo login made).")
                % {"username": login.username}
            )
            if login.public_password:
                self.stderr.write(
                    self.style.WARNING(
                        _(
                            "WARNING: '%(username)s' still has the former public demo password. "
                            "Change it: python manage.py changepassword %(username)s"
                        )
                        % {"username": login.username}
                    )
                )
