"""Real image bytes for tests, made with Pillow: good files of each format and bad ones.

Every good image is made from seeded noise so different seeds give different bytes (and
different SHA-256s), while the same seed gives the same bytes (for duplicate tests).
"""

import io
import random
import struct
import zlib

from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

CONTENT_TYPES = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp", "GIF": "image/gif"}


def noise_image(width=64, height=48, seed=0):
    rng = random.Random(seed)
    return Image.frombytes("RGB", (width, height), rng.randbytes(width * height * 3))


def encode(image, fmt, **options):
    buffer = io.BytesIO()
    image.save(buffer, fmt, **options)
    return buffer.getvalue()


def jpeg_bytes(width=64, height=48, seed=0, quality=85):
    return encode(noise_image(width, height, seed), "JPEG", quality=quality)


def png_bytes(width=64, height=48, seed=0):
    return encode(noise_image(width, height, seed), "PNG")


def webp_bytes(width=64, height=48, seed=0):
    return encode(noise_image(width, height, seed), "WEBP", quality=80)


def gif_bytes(width=64, height=48, seed=0):
    return encode(noise_image(width, height, seed).convert("P"), "GIF")


def image_bytes(fmt, **kwargs):
    return {"JPEG": jpeg_bytes, "PNG": png_bytes, "WEBP": webp_bytes, "GIF": gif_bytes}[fmt](**kwargs)


def truncated(data, keep=0.5):
    """The first part of a file, as a browser would send after a dropped connection."""
    return data[: int(len(data) * keep)]


def truncated_jpeg(seed=0):
    return truncated(jpeg_bytes(256, 256, seed=seed))


def truncated_png(seed=0):
    return truncated(png_bytes(256, 256, seed=seed))


def corrupt_png(seed=0):
    """A PNG of the right length with a byte flipped inside its image data (its CRC no longer matches)."""
    data = bytearray(png_bytes(128, 128, seed=seed))
    data[len(data) // 2] ^= 0xFF
    return bytes(data)


def random_bytes(size=4096, seed=0):
    return random.Random(seed).randbytes(size)


TEXT_BYTES = b"This is a plain text file, whatever its name says.\n"
HTML_BYTES = b"<html><script>alert(1)</script></html>\n"


def _png_chunk(kind, payload):
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))


def decompression_bomb_png(width=100_000, height=100_000):
    """A tiny, well-formed PNG whose header claims `width` x `height` pixels.

    It is a few dozen bytes on disk; decoding it would need width * height * 3 bytes of memory.
    """
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)  # 8-bit RGB, no interlace
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", header)
        + _png_chunk(b"IDAT", zlib.compress(b"\x00" * 16))
        + _png_chunk(b"IEND", b"")
    )


def large_png_bytes(target_size=10 * 1024 * 1024, seed=0):
    """An incompressible PNG of about `target_size` bytes (noise does not compress)."""
    side = int((target_size / 3) ** 0.5) + 1
    return png_bytes(side, side, seed=seed)


def upload(name, data, content_type="application/octet-stream"):
    return SimpleUploadedFile(name, data, content_type=content_type)
