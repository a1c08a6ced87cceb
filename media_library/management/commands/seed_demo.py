"""`manage.py seed_demo --user demo --files 100000 --folders 20`: a library of real, distinct images.

Every image goes through the same ingest functions as an upload (`inspect_upload` then
`store_inspected`): hashed, verified by Pillow, stored content-addressed, named by the naming
rules. Only the *making* of the images is special: small (64x48) JPEGs and PNGs, each carrying a
unique 8x8 bit pattern (run salt + index) so every one has its own bytes, encoded in worker
processes while the main process writes to the database in batched transactions.
"""

import io
import multiprocessing
import os
import random
import time

from django.contrib.auth import get_user_model
from django.core.files.base import ContentFile
from django.core.management.base import BaseCommand, CommandError
from django.db import connections, transaction
from PIL import Image

from media_library.folders import child_folder
from media_library.ingest import (
    NamePlanner,
    RejectedUpload,
    inspect_upload,
    request_thumbnails,
    store_inspected,
)

WIDTH, HEIGHT = 64, 48
_bases = []


def _base_images():
    """A few gradients to draw on (made once per process)."""
    if not _bases:
        for hue in range(8):
            tint = Image.new(
                "RGB", (WIDTH, HEIGHT), ((hue * 97) % 256, (hue * 57 + 80) % 256, (hue * 31 + 160) % 256)
            )
            gradient = Image.linear_gradient("L").resize((WIDTH, HEIGHT))
            _bases.append(Image.merge("RGB", [Image.blend(band, gradient, 0.5) for band in tint.split()]))
    return _bases


def demo_image(index, salt):
    """(file name, bytes) of demo image `index`: JPEG or PNG, unique for (salt, index)."""
    bits = (salt << 32) | index
    pattern = bytes(255 if bits >> shift & 1 else 0 for shift in range(64))
    tile = Image.frombytes("L", (8, 8), pattern).resize((32, 32), Image.Resampling.NEAREST).convert("RGB")
    image = _base_images()[index % 8].copy()
    image.paste(tile, (16, 8))
    buffer = io.BytesIO()
    if index % 2:
        image.save(buffer, "PNG", compress_level=1)
        return f"demo-{index:06d}.png", buffer.getvalue()
    image.save(buffer, "JPEG", quality=80, comment=f"mediaflow demo {salt:08x}-{index}".encode())
    return f"demo-{index:06d}.jpg", buffer.getvalue()


def make_batch(args):
    """Worker: make and inspect (hash + verify, exactly as for an upload) a batch of images."""
    start, stop, salt = args
    batch = []
    for index in range(start, stop):
        name, data = demo_image(index, salt)
        inspected = inspect_upload(ContentFile(data, name=name))
        batch.append((index, name, data, inspected))
    return batch


def made_batches(batches, workers):
    """The made batches in order: from worker processes, or in this process with workers=0."""
    if workers < 1:
        yield from map(make_batch, batches)
        return
    connections.close_all()  # never share a database connection with forked workers
    with multiprocessing.get_context("fork").Pool(workers) as pool:
        yield from pool.imap(make_batch, batches)


class Command(BaseCommand):
    help = "Create N real, distinct demo images for a user through the normal ingest path."

    def add_arguments(self, parser):
        parser.add_argument("--user", required=True, help="username (created if missing)")
        parser.add_argument("--password", default="mediaflow-demo", help="password for a newly created user")
        parser.add_argument("--files", type=int, required=True)
        parser.add_argument("--folders", type=int, default=0, help="spread the files over K root folders")
        parser.add_argument("--batch", type=int, default=1000, help="files per database transaction")
        parser.add_argument(
            "--workers", type=int, default=min(2, os.cpu_count() or 1), help="image makers (0 = in process)"
        )
        parser.add_argument(
            "--thumbnails", action="store_true", help="submit one thumbnails job over all the new files"
        )

    def handle(self, *args, user, password, files, folders, batch, workers, thumbnails, **options):
        if files < 0 or folders < 0 or batch < 1:
            raise CommandError("--files and --folders must be >= 0 and --batch >= 1.")
        owner, created = get_user_model().objects.get_or_create(username=user)
        if created:
            owner.set_password(password)
            owner.save()
        targets = [child_folder(owner.pk, None, f"Demo {n + 1:03d}") for n in range(folders)] or [None]
        salt = random.getrandbits(32)
        batches = [(start, min(start + batch, files), salt) for start in range(0, files, batch)]
        planner = NamePlanner(owner)
        new_ids, rejected, started = [], 0, time.monotonic()

        for done, made in enumerate(made_batches(batches, workers), start=1):
            with transaction.atomic():
                for index, name, data, inspected in made:
                    folder = targets[index % len(targets)]
                    try:
                        item = store_inspected(owner, folder, name, ContentFile(data), inspected, planner)
                    except RejectedUpload:
                        rejected += 1
                        continue
                    if thumbnails:
                        new_ids.append(item.file.pk)
            if done % 10 == 0 or done == len(batches):
                stored = made[-1][0] + 1
                self.stdout.write(f"  {stored:>8} / {files} files  ({time.monotonic() - started:.1f} s)")
                self.stdout.flush()

        job_id = request_thumbnails(owner, new_ids) if thumbnails else None
        elapsed = time.monotonic() - started
        summary = f"Seeded {files - rejected} files for {owner.username} in {elapsed:.1f} s"
        if job_id:
            summary += f"; thumbnails job {job_id}"
        self.stdout.write(self.style.SUCCESS(summary))
