from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from media_library.api.tokens import create_api_token


class Command(BaseCommand):
    help = (
        "Create the API token of USER and print its key (shown only once). "
        "Running it again rotates the token: the previous key stops working."
    )

    def add_arguments(self, parser):
        parser.add_argument("username")

    def handle(self, *args, username, **options):
        try:
            user = get_user_model().objects.get(username=username)
        except get_user_model().DoesNotExist:
            raise CommandError(f"No user named {username!r}.") from None
        _token, key = create_api_token(user)
        self.stdout.write(key)
