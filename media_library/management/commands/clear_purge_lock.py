from django.core.management.base import BaseCommand

from media_library.maintenance import retention, single_run


class Command(BaseCommand):
    help = "Free the trash-purge single-run lock (after a crash, or before a deploy)."

    def handle(self, *args, **options):
        ttl = single_run.holder_ttl(retention.PURGE_LOCK)
        if single_run.clear(retention.PURGE_LOCK):
            self.stdout.write(self.style.SUCCESS(f"Cleared the purge lock (it had {ttl}s left)."))
        else:
            self.stdout.write("The purge lock was not held.")
