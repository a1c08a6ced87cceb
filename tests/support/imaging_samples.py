"""Real image bytes for the imaging tests, made with Pillow (and one hand-built ICC profile)."""

import io
import struct
import zlib

from PIL import Image, ImageChops


def encode(im, fmt, **params):
    out = io.BytesIO()
    im.save(out, fmt, **params)
    return out.getvalue()


def photo_like(width, height, blotch=16):
    """Gradients, blotches (`blotch` px wide) and grain: compresses like a photo, not like flat colour."""
    small = (max(1, width // blotch), max(1, height // blotch))
    blotches = Image.merge(
        "RGB",
        [Image.effect_noise(small, 70).resize((width, height), Image.Resampling.BICUBIC) for _ in "RGB"],
    )
    grain = Image.effect_noise((width, height), 20).convert("RGB")
    gradient = Image.linear_gradient("L").resize((width, height)).convert("RGB")
    return ImageChops.blend(ImageChops.blend(blotches, grain, 0.2), gradient, 0.3)


def halves(width, height, left, right, mode="RGB"):
    """Left half one colour, right half another: orientation shows as where the colours end up."""
    im = Image.new(mode, (width, height), left)
    im.paste(right, (width // 2, 0, width, height))
    return im


def with_orientation(im, orientation):
    exif = Image.Exif()
    exif[0x0112] = orientation
    return encode(im, "JPEG", quality=95, exif=exif)


def _s15(value):
    return struct.pack(">i", round(value * 65536))


def swapped_primaries_icc():
    """A minimal ICC v2 RGB display profile whose red and green colorants are sRGB's green and red.

    Pixels tagged with it that read (255, 0, 0) are really sRGB green: a colour-managed pipeline must
    turn them green, an unmanaged one leaves them red.
    """
    d50 = (0.9642, 1.0, 0.8249)
    srgb_red, srgb_green, srgb_blue = (
        (0.4361, 0.2225, 0.0139),
        (0.3851, 0.7169, 0.0971),
        (0.1431, 0.0606, 0.7141),
    )

    def xyz(values):
        return b"XYZ " + b"\0" * 4 + b"".join(_s15(v) for v in values)

    text = b"Swapped primaries test profile"
    desc = b"desc" + b"\0" * 4 + struct.pack(">I", len(text) + 1) + text + b"\0"
    desc += b"\0" * 8 + b"\0" * 3 + b"\0" * 67  # empty Unicode and ScriptCode parts
    identity_curve = b"curv" + b"\0" * 4 + struct.pack(">I", 0)
    tags = [
        (b"desc", desc),
        (b"wtpt", xyz(d50)),
        (b"rXYZ", xyz(srgb_green)),
        (b"gXYZ", xyz(srgb_red)),
        (b"bXYZ", xyz(srgb_blue)),
        (b"rTRC", identity_curve),
        (b"gTRC", identity_curve),
        (b"bTRC", identity_curve),
    ]
    offset = 128 + 4 + 12 * len(tags)
    table, body = b"", b""
    for signature, data in tags:
        data += b"\0" * (-len(data) % 4)
        table += signature + struct.pack(">II", offset + len(body), len(data))
        body += data
    size = offset + len(body)
    header = (
        struct.pack(">I", size) + b"\0" * 4 + bytes([2, 0x10, 0, 0]) + b"mntrRGB XYZ " + b"\0" * 12
        + b"acsp" + b"\0" * 24 + b"\0" * 4 + b"".join(_s15(v) for v in d50) + b"\0" * 48
    )  # fmt: skip
    assert len(header) == 128
    return header + struct.pack(">I", len(tags)) + table + body


def png_claiming_size(width, height):
    """A PNG whose header claims width x height pixels but carries almost no data (a bomb header)."""

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(b"\0" * 64))
        + chunk(b"IEND", b"")
    )
