"""The imaging pipeline on real bytes made with Pillow: sizes, orientation, colour, formats, bad input."""

import io
import math

import pytest
from PIL import Image, ImageChops, ImageStat

from media_library.imaging import (
    ImageRejected,
    decode_reduced,
    fit_within,
    open_image,
    render_images,
    render_renditions,
)
from tests.support.imaging_samples import (
    encode,
    halves,
    photo_like,
    png_claiming_size,
    swapped_primaries_icc,
    with_orientation,
)

LIMIT = 50_000_000
RED, BLUE, GREEN = (255, 0, 0), (0, 0, 255), (0, 255, 0)


@pytest.fixture(autouse=True)
def restore_pillow_pixel_limit():
    """The pipeline sets Pillow's process-wide limit; don't leak a test's value into other tests."""
    before = Image.MAX_IMAGE_PIXELS
    yield
    Image.MAX_IMAGE_PIXELS = before


def render(data, sizes=(1024, 256), limit=LIMIT):
    return render_renditions(io.BytesIO(data), sizes, max_pixels=limit)


def webp(rendition):
    im = Image.open(io.BytesIO(rendition.data))
    assert im.format == "WEBP"
    assert im.size == (rendition.width, rendition.height)
    im.load()
    return im


def near(pixel, expected, tolerance=12):
    return all(abs(a - b) <= tolerance for a, b in zip(pixel, expected, strict=False))


def test_fit_within_keeps_aspect_and_never_enlarges():
    assert fit_within(4000, 3000, 1024) == (1024, 768)
    assert fit_within(3000, 4000, 256) == (192, 256)
    assert fit_within(100, 50, 256) == (100, 50)
    assert fit_within(10000, 1, 256) == (256, 1)


def test_large_jpeg_makes_webp_preview_and_thumbnail_within_bounds():
    data = encode(photo_like(3000, 2000), "JPEG", quality=90)
    preview, thumbnail = render(data)
    assert (preview.size, preview.width, preview.height) == (1024, 1024, 683)
    assert (thumbnail.size, thumbnail.width, thumbnail.height) == (256, 256, 171)
    assert webp(preview).mode == "RGB"
    assert webp(thumbnail).mode == "RGB"
    assert len(thumbnail.data) < len(preview.data) < len(data)


def test_jpeg_is_decoded_in_the_dct_domain_not_at_full_resolution():
    data = encode(photo_like(3000, 2000), "JPEG", quality=90)
    with open_image(io.BytesIO(data), LIMIT) as im:
        assert decode_reduced(im, 1024).size == (1500, 1000)  # 1/2 scale still covers 1024
    with open_image(io.BytesIO(data), LIMIT) as im:
        assert decode_reduced(im, 256).size == (375, 250)  # 1/8 scale covers 256


def psnr(a, b):
    squares = ImageStat.Stat(ImageChops.difference(a.convert("RGB"), b.convert("RGB"))).sum2
    mse = sum(squares) / (3 * a.width * a.height)
    return 10 * math.log10(255**2 / mse)


def test_a_slightly_smaller_dct_scale_is_enlarged_to_the_preview_without_visible_loss():
    # 2000x1500 is the 12 MP case at half size: 1/2 scale gives 1000x750, 2.4% short of 1024x768.
    data = encode(photo_like(2000, 1500), "JPEG", quality=95)
    with open_image(io.BytesIO(data), LIMIT) as im:
        assert decode_reduced(im, 1024).size == (1000, 750)
    [(_, preview)] = render_images(io.BytesIO(data), (1024,), max_pixels=LIMIT)
    assert preview.size == (1024, 768)
    reference = Image.open(io.BytesIO(data)).resize((1024, 768), Image.Resampling.LANCZOS)
    assert psnr(preview, reference) > 42  # measured ~47 dB; 40+ is visually indistinguishable


def test_thumbnail_derived_from_preview_matches_a_direct_full_resolution_resize():
    # Blotches that stay a few pixels wide at 256 px, so WebP's chroma subsampling is not what we measure.
    data = encode(photo_like(2400, 1600, blotch=120), "JPEG", quality=95)
    thumbnail = webp(render(data)[1])
    reference = Image.open(io.BytesIO(data)).resize(thumbnail.size, Image.Resampling.LANCZOS)
    mean_error = sum(ImageStat.Stat(ImageChops.difference(thumbnail, reference)).mean) / 3
    assert mean_error < 4, mean_error


def test_progressive_jpeg_and_large_png_fit_their_bounds():
    progressive = encode(photo_like(2000, 1500), "JPEG", quality=85, progressive=True)
    assert [(r.width, r.height) for r in render(progressive)] == [(1024, 768), (256, 192)]
    png = encode(photo_like(1500, 2000), "PNG")  # no DCT scaling: resize reduces in integer steps
    assert [(r.width, r.height) for r in render(png)] == [(768, 1024), (192, 256)]


def test_small_images_are_not_enlarged():
    preview, thumbnail = render(encode(photo_like(120, 80), "PNG"))
    assert (preview.width, preview.height) == (120, 80)
    assert (thumbnail.width, thumbnail.height) == (120, 80)


@pytest.mark.parametrize(
    ("orientation", "size", "probes"),
    [
        # Stored 400x200: red left half, blue right half. Probes are (x, y) in the 256 px output.
        (1, (256, 128), {(10, 64): RED, (246, 64): BLUE}),
        (2, (256, 128), {(10, 64): BLUE, (246, 64): RED}),  # mirrored
        (3, (256, 128), {(10, 64): BLUE, (246, 64): RED}),  # upside down
        (6, (128, 256), {(64, 10): RED, (64, 246): BLUE}),  # camera turned right: rotate 90 CW
        (8, (128, 256), {(64, 10): BLUE, (64, 246): RED}),  # camera turned left: rotate 90 CCW
    ],
)
def test_exif_orientation_is_applied(orientation, size, probes):
    data = with_orientation(halves(400, 200, RED, BLUE), orientation)
    thumbnail = webp(render(data, (256,))[0])
    assert thumbnail.size == size
    for (x, y), colour in probes.items():
        assert near(thumbnail.getpixel((x, y)), colour, 30), (orientation, (x, y), thumbnail.getpixel((x, y)))


def test_orientation_applies_to_a_draft_decoded_jpeg():
    data = with_orientation(halves(4000, 2000, RED, BLUE), 6)
    preview, thumbnail = render(data)
    assert (preview.width, preview.height) == (512, 1024)
    assert near(webp(thumbnail).getpixel((64, 10)), RED, 30)


def test_cmyk_jpeg_comes_out_rgb_with_the_right_colours():
    im = halves(64, 48, (0, 255, 255, 0), (255, 255, 0, 0), mode="CMYK")  # red | blue in CMYK
    data = encode(im, "JPEG", quality=95)
    assert Image.open(io.BytesIO(data)).mode == "CMYK"
    thumbnail = webp(render(data)[1])
    assert thumbnail.mode == "RGB"
    assert near(thumbnail.getpixel((8, 24)), RED, 20)
    assert near(thumbnail.getpixel((56, 24)), BLUE, 20)


def test_embedded_icc_profile_is_converted_to_srgb():
    # The profile says the first channel is really sRGB green: a colour-managed result is green.
    data = encode(Image.new("RGB", (64, 64), RED), "JPEG", quality=95, icc_profile=swapped_primaries_icc())
    thumbnail = webp(render(data)[1])
    assert near(thumbnail.getpixel((32, 32)), GREEN, 20)
    assert "icc_profile" not in thumbnail.info  # converted, so no profile travels with the WebP


def test_icc_conversion_keeps_alpha():
    im = Image.new("RGBA", (64, 64), (255, 0, 0, 255))
    im.paste((255, 0, 0, 0), (32, 0, 64, 64))
    thumbnail = webp(render(encode(im, "PNG", icc_profile=swapped_primaries_icc()))[1])
    assert thumbnail.mode == "RGBA"
    assert near(thumbnail.getpixel((8, 32)), (*GREEN, 255), 20)
    assert thumbnail.getpixel((56, 32))[3] == 0


def test_srgb_profile_keeps_colours():
    from PIL import ImageCms

    srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    data = encode(Image.new("RGB", (64, 64), (200, 120, 40)), "PNG", icc_profile=srgb)
    assert near(webp(render(data)[1]).getpixel((32, 32)), (200, 120, 40), 6)


def test_palette_png_with_transparency_keeps_alpha():
    im = Image.new("P", (80, 40), 0)
    im.putpalette([255, 0, 0, 0, 0, 255] + [0] * 762)
    im.paste(1, (40, 0, 80, 40))
    data = encode(im, "PNG", transparency=0)  # palette index 0 (red) is fully transparent
    thumbnail = webp(render(data)[1])
    assert thumbnail.mode == "RGBA"
    assert thumbnail.getpixel((10, 20))[3] == 0
    assert thumbnail.getpixel((70, 20))[3] == 255
    assert near(thumbnail.getpixel((70, 20))[:3], BLUE, 12)


def test_palette_png_without_transparency_is_rgb():
    im = Image.new("P", (40, 40), 0)
    im.putpalette([10, 200, 30] + [0] * 765)
    thumbnail = webp(render(encode(im, "PNG"))[1])
    assert thumbnail.mode == "RGB"
    assert near(thumbnail.getpixel((20, 20)), (10, 200, 30), 12)


def test_sixteen_bit_grey_png_is_scaled_not_clipped():
    im = Image.new("I;16", (64, 32), 65535)
    im.paste(32896, (32, 0, 64, 32))  # half intensity in 16 bits
    data = encode(im, "PNG")
    assert Image.open(io.BytesIO(data)).mode.startswith("I")
    thumbnail = webp(render(data)[1])
    assert near(thumbnail.getpixel((8, 16)), (255, 255, 255), 4)
    assert near(thumbnail.getpixel((56, 16)), (128, 128, 128), 4)  # clipping would make it white


def test_grey_with_alpha_keeps_alpha():
    im = Image.new("LA", (64, 32), (200, 255))
    im.paste((50, 0), (32, 0, 64, 32))
    thumbnail = webp(render(encode(im, "PNG"))[1])
    assert thumbnail.mode == "RGBA"
    assert near(thumbnail.getpixel((8, 16)), (200, 200, 200, 255), 6)
    assert thumbnail.getpixel((56, 16))[3] == 0


def test_grey_jpeg_and_bilevel_png():
    grey = webp(render(encode(Image.new("L", (300, 100), 90), "JPEG"))[1])
    assert grey.mode == "RGB"
    assert near(grey.getpixel((100, 30)), (90, 90, 90), 4)
    bilevel = webp(render(encode(Image.new("1", (300, 100), 1), "PNG"))[1])
    assert near(bilevel.getpixel((100, 30)), (255, 255, 255), 4)


@pytest.mark.parametrize("fmt", ["GIF", "WEBP"])
def test_animated_images_use_the_first_frame(fmt):
    frames = [Image.new("RGB", (60, 40), RED), Image.new("RGB", (60, 40), BLUE)]
    data = encode(frames[0], fmt, save_all=True, append_images=frames[1:], duration=100, loop=0)
    assert getattr(Image.open(io.BytesIO(data)), "n_frames", 1) == 2
    thumbnail = webp(render(data)[1])
    assert near(thumbnail.getpixel((30, 20))[:3], RED, 20)


def test_gif_transparency_is_kept():
    im = Image.new("P", (40, 40), 0)
    im.putpalette([0, 0, 0, 0, 200, 0] + [0] * 762)
    im.paste(1, (20, 0, 40, 40))
    thumbnail = webp(render(encode(im, "GIF", transparency=0))[1])
    assert thumbnail.mode == "RGBA"
    assert thumbnail.getpixel((5, 20))[3] == 0
    assert thumbnail.getpixel((35, 20))[3] == 255


def test_truncated_jpeg_is_rejected_with_a_reason():
    data = encode(photo_like(800, 600), "JPEG", quality=90)
    with pytest.raises(ImageRejected, match="truncated or corrupt"):
        render(data[: len(data) // 2])


def test_random_bytes_named_jpg_are_not_an_image():
    with pytest.raises(ImageRejected, match="not a supported image"):
        render(bytes(range(256)) * 40)


def test_unsupported_format_is_rejected():
    with pytest.raises(ImageRejected, match="not a supported image"):
        render(encode(Image.new("RGB", (20, 20)), "BMP"))


@pytest.mark.parametrize("size", [(100_000, 100_000), (9_000, 6_000)])
def test_decompression_bomb_header_is_rejected_before_decoding(size):
    # 10 gigapixels trips Pillow's own error; 54 MP only our limit (a warning for Pillow).
    with pytest.raises(ImageRejected, match="too many pixels"):
        render(png_claiming_size(*size))
