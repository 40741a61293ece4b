"""Hostile and odd image files, made in memory with Pillow and numpy, with the outcome each should have."""

from __future__ import annotations

import io
import struct
import zipfile
import zlib
from functools import lru_cache

import numpy as np
from PIL import Image, ImageDraw

from core.data.images import MAX_BYTES

Color = int | str | tuple[int, ...]  # as Pillow takes them: 0, "white", (255, 0, 0)
DIGITS = ("0", "1", "7")


def draw_digit(digit: str = "0", *, size: tuple[int, int] = (100, 100), box: tuple[int, int, int, int] | None = None,
               stroke: int | None = None, ink: Color = "black", paper: Color = "white", mode: str = "L") -> Image.Image:
    """A digit ("0" ring, "1" bar with a flag, "7") in `box` (left, top, right, bottom), black on white by default."""
    if digit not in DIGITS:
        raise ValueError(f"digit must be one of {DIGITS}. Got {digit!r} instead.")
    width, height = size
    if box is None:  # a digit-shaped box (3:5) filling 60% of the height, in the middle
        side = int(height * 0.6)
        box = ((width - side * 3 // 5) // 2, (height - side) // 2, (width + side * 3 // 5) // 2, (height + side) // 2)
    left, top, right, bottom = box
    stroke = stroke if stroke is not None else max(1, (bottom - top) // 8)
    image = Image.new(mode, size, paper)
    draw = ImageDraw.Draw(image)
    if digit == "0":
        draw.ellipse(box, outline=ink, width=stroke)
    elif digit == "1":
        middle = (left + right) // 2
        draw.line([(middle, top), (middle, bottom)], fill=ink, width=stroke)
        draw.line([(middle, top), (left, top + (bottom - top) // 4)], fill=ink, width=stroke)
    else:
        draw.line([(left, top + stroke // 2), (right, top + stroke // 2)], fill=ink, width=stroke)
        draw.line([(right, top), ((left + right) // 2, bottom)], fill=ink, width=stroke)
    return image


def encode(image: Image.Image, fmt: str, **options: object) -> bytes:
    """An image saved to bytes in a format, with Pillow's save options."""
    buffer = io.BytesIO()
    image.save(buffer, fmt, **options)
    return buffer.getvalue()


def png_bytes(image: Image.Image) -> bytes:
    """An image as PNG file bytes."""
    return encode(image, "PNG")


def bomb_png(width: int, height: int) -> bytes:
    """A valid 1-bit PNG of width x height black pixels: huge when decoded, ~1000x smaller as a file."""
    row = bytes(1 + (width + 7) // 8)  # filter byte + packed bits, all zero
    rows_per_block = max(1, 2**20 // len(row))
    packer = zlib.compressobj(9)
    chunks = [packer.compress(row * min(rows_per_block, height - done)) for done in range(0, height, rows_per_block)]
    idat = b"".join(chunks) + packer.flush()

    def chunk(tag: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + tag + body + struct.pack(">I", zlib.crc32(tag + body))

    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)  # 1-bit grayscale, no interlace
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def zip_bytes() -> bytes:
    """A ZIP archive holding a PNG of a digit."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("digit.png", png_bytes(draw_digit()))
    return buffer.getvalue()


def animated_gif(first: Image.Image, *rest: Image.Image) -> bytes:
    """A looping GIF of the frames, first frame first."""
    return encode(first, "GIF", save_all=True, append_images=list(rest), duration=100, loop=0)


def alpha_digit(color: tuple[int, int, int]) -> bytes:
    """An RGBA PNG of one uniform colour whose digit exists only in the alpha channel."""
    image = Image.new("RGBA", (80, 80), (*color, 0))
    image.putalpha(draw_digit("0", size=(80, 80), ink=255, paper=0))
    return png_bytes(image)


def exif_rotated_jpeg() -> bytes:
    """A wide bar stored sideways: EXIF orientation 6 (rotate 90° clockwise) makes it a tall image."""
    image = Image.new("L", (120, 60), 255)
    ImageDraw.Draw(image).rectangle((20, 25, 100, 35), fill=0)  # a horizontal bar, 80x11
    exif = Image.Exif()
    exif[0x0112] = 6
    return encode(image, "JPEG", exif=exif, quality=95)


def gray16_png() -> bytes:
    """A 16-bit grayscale PNG: a dark digit on a light background, values spread over 0..65535."""
    pixels = np.asarray(draw_digit("7", size=(64, 64)), dtype=np.uint16) * 257
    return png_bytes(Image.fromarray(pixels))


def noise_png(seed: int = 0) -> bytes:
    """Uniform random grey levels."""
    return png_bytes(Image.fromarray(np.random.default_rng(seed).integers(0, 256, (64, 64), dtype=np.uint8)))


def paper_photo(digit: str | None = "0", *, size: tuple[int, int] = (640, 480),
                box: tuple[int, int, int, int] | None = None, shadow: bool = False, seed: int = 0) -> bytes:
    """A phone-photo-like JPEG: grey ink (or none) on grey paper, lit from one side or with a hard shadow."""
    width, height = size
    ink = np.zeros((height, width), dtype=np.float32)
    if digit is not None:
        ink = np.asarray(draw_digit(digit, size=size, box=box, ink=255, paper=0), dtype=np.float32) / 255.0
    light = np.linspace(1.2, 0.8, width, dtype=np.float32)  # a window on the left: the far side is 1/3 darker
    if shadow:
        # Evenly lit but for the left third, in the shadow of a hand or a phone: 60% of the light, its edge
        # 8 px soft, as even a hard shadow's is.
        light = np.interp(np.arange(width), [width / 3 - 4, width / 3 + 4], [0.6, 1.0]).astype(np.float32)
    pixels = (190.0 * (1.0 - ink) + 90.0 * ink) * light[None, :]
    pixels += np.random.default_rng(seed).normal(0.0, 4.0, size=pixels.shape)  # sensor noise
    return encode(Image.fromarray(np.clip(pixels, 0, 255).round().astype(np.uint8)), "JPEG", quality=70)


def _hostile() -> dict[str, tuple[bytes, str]]:
    """Files that must be refused, with the ImageError reason each should give."""
    digit = draw_digit("0", size=(200, 200))
    png, jpeg = png_bytes(digit), encode(digit, "JPEG", quality=90)
    return {
        "empty": (b"", "empty"),
        "text_named_png": (b"These are my notes, not a picture.\n", "not_an_image"),
        "html": (b"<!DOCTYPE html><html><body><img src='digit.png'></body></html>", "not_an_image"),
        "svg": (b'<svg xmlns="http://www.w3.org/2000/svg" width="28" height="28">'
                b'<circle cx="14" cy="14" r="8" stroke="black" fill="none"/></svg>', "not_an_image"),
        "zip": (zip_bytes(), "not_an_image"),
        "eps": (b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 28 28\nshowpage\n", "not_an_image"),
        "tiff": (encode(digit, "TIFF"), "not_an_image"),
        "truncated_png": (png[: len(png) // 2], "truncated"),
        "truncated_jpeg": (jpeg[: len(jpeg) // 2], "truncated"),
        "jpeg_cut_in_header": (jpeg[:300], "truncated"),
        "one_pixel": (png_bytes(Image.new("L", (1, 1), 0)), "too_small"),
        "bomb_30000x30000": (bomb_png(30_000, 30_000), "too_large"),
        "bomb_8000x8000": (bomb_png(8_000, 8_000), "too_large"),  # under Pillow's own limit, over ours
        "over_byte_limit": (png + bytes(MAX_BYTES), "too_large"),
        "pure_white": (png_bytes(Image.new("L", (64, 64), 255)), "blank"),
        "pure_black": (png_bytes(Image.new("L", (64, 64), 0)), "blank"),
        "uniform_colour": (png_bytes(Image.new("RGB", (64, 64), (200, 40, 90))), "blank"),
        "white_jpeg": (encode(Image.new("RGB", (64, 64), "white"), "JPEG", quality=50), "blank"),
        "fully_transparent": (png_bytes(Image.new("RGBA", (64, 64), (0, 0, 0, 0))), "blank"),
        "gif_first_frame_blank": (animated_gif(Image.new("L", (64, 64), 255), draw_digit(size=(64, 64))), "blank"),
        "photo_of_blank_paper": (paper_photo(None), "blank"),  # uneven light and grain are not a digit
    }


def _readable() -> dict[str, tuple[bytes, str]]:
    """Odd but valid files that must prepare to a digit."""
    black_on_white = draw_digit("0", size=(100, 100))
    palette = draw_digit("7", size=(64, 64), mode="RGB", ink=(20, 20, 160), paper=(250, 240, 200))
    transparent_palette = draw_digit("1", size=(64, 64), mode="P", ink=1, paper=0)
    transparent_palette.putpalette([0, 0, 0, 0, 0, 0])
    return {
        "digit_black_on_white": (png_bytes(black_on_white), "ok"),
        "digit_white_on_black": (png_bytes(draw_digit("0", size=(100, 100), ink=255, paper=0)), "ok"),
        "thin_stroke": (png_bytes(draw_digit("7", size=(300, 300), stroke=1)), "ok"),
        "thick_stroke": (png_bytes(draw_digit("0", size=(100, 100), box=(10, 5, 90, 95), stroke=30)), "ok"),
        "random_noise": (noise_png(), "ok"),  # no digit, but no crash: the model gets noise and says so
        "animated_gif": (animated_gif(draw_digit("1", size=(64, 64)), Image.new("L", (64, 64), 255)), "ok"),
        "gray16_png": (gray16_png(), "ok"),
        "palette_png": (png_bytes(palette.convert("P", palette=Image.Palette.ADAPTIVE, colors=8)), "ok"),
        "palette_png_transparent": (encode(transparent_palette, "PNG", transparency=0), "ok"),
        "one_bit_png": (png_bytes(black_on_white.convert("1")), "ok"),
        "la_png": (png_bytes(draw_digit("1", size=(64, 64), mode="LA", ink=(0, 255), paper=(0, 0))), "ok"),
        "cmyk_jpeg": (encode(draw_digit("0", size=(80, 80), mode="CMYK", ink=(0, 0, 0, 255), paper=(0, 0, 0, 0)),
                             "JPEG"), "ok"),
        "rgba_black_digit_in_alpha": (alpha_digit((0, 0, 0)), "ok"),
        "rgba_white_digit_in_alpha": (alpha_digit((255, 255, 255)), "ok"),
        "exif_rotated_jpeg": (exif_rotated_jpeg(), "ok"),
        "jpeg": (encode(black_on_white, "JPEG", quality=40), "ok"),
        "mpo_jpeg": (encode(black_on_white.convert("RGB"), "MPO", save_all=True,  # as some cameras save
                            append_images=[black_on_white.convert("RGB")]), "ok"),
        "webp": (encode(black_on_white, "WEBP"), "ok"),
        "bmp": (encode(black_on_white, "BMP"), "ok"),
        "eight_by_eight": (png_bytes(draw_digit("1", size=(8, 8), stroke=2)), "ok"),
        "photo_uneven_light": (paper_photo("7"), "ok"),
        "photo_hard_shadow": (paper_photo("1", shadow=True), "ok"),
    }


@lru_cache(maxsize=1)
def _build() -> tuple[tuple[str, tuple[bytes, str]], ...]:
    """Every case, once: the bombs take a moment to compress."""
    return tuple({**_hostile(), **_readable()}.items())


def corpus() -> dict[str, tuple[bytes, str]]:
    """Case name -> (file bytes, expected outcome: "ok" or the ImageError reason); built once per process."""
    return dict(_build())
