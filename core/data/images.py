"""Uploaded image bytes -> a 28x28 MNIST-style model input, keeping every intermediate step."""

from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError
from skimage.filters import gaussian, threshold_otsu
from skimage.measure import label
from skimage.morphology import dilation, disk, opening

from core.data.pixels import center_by_mass, normalize_pixels, resize_pixels

# 16.7 megapixels: room for a 12 MP phone photo (4032x3024), yet ~5x below Pillow's own warning
# level (89 MP), so a decompression bomb is refused from its header before any pixel is decoded.
MAX_PIXELS = 4096 * 4096
MAX_BYTES = 10 * 1024 * 1024  # a photo of a digit is a few MB at most
MIN_SIDE = 8  # scikit-learn's digits are 8x8; anything smaller cannot hold a readable digit
# Only formats the upload page offers; this also keeps Pillow away from e.g. EPS (which runs Ghostscript).
FORMATS = ("PNG", "JPEG", "GIF", "BMP", "WEBP")  # "JPEG" also opens MPO, which some cameras write
REASONS = ("empty", "too_large", "not_an_image", "truncated", "too_small", "blank")

WORK_SIDE = 1024  # larger images are shrunk first: the digit ends up 20 px tall, and the UI shows every step
FRAME_SIDE = 28  # MNIST: 28x28 frame ...
DIGIT_SIDE = 20  # ... with the digit's bounding box scaled to 20 px on its longer side
MIN_CONTRAST = 0.1  # ink must differ from the background by 10% of full scale, else the image is blank
NOISE_FLOOR = 0.1  # MNIST's background is exactly 0: zero the faint haze of JPEG artefacts and paper grain
CROP_THRESHOLD = 0.25  # pixels this strong (of the ink's range) define the bounding box ...
CROP_MARGIN = 1  # ... widened by this many pixels to keep the soft, anti-aliased edges
# The paper's light varies slowly, so it is estimated on a copy this small (longer side): fast at any size,
# and averaging 8x8 blocks of a photo smooths its grain away.
BACKGROUND_SIDE = 128
BACKGROUND_SPAN = 1 / 3  # a disk this share of the longer side across is wider than any pen stroke
SPECK_SHARE = 0.01  # strong blobs under 1% of the largest one's area are grain or JPEG noise: not cropped to
LUMA = np.array([0.299, 0.587, 0.114], dtype=np.float32)  # ITU-R 601, as Pillow's convert("L")


class ImageError(ValueError):
    """An upload that cannot become a digit; `reason` (one of REASONS) tells the cases apart."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True, eq=False)
class PreparedImage:
    """Every step from the uploaded file to the model input, as numpy arrays for display."""

    original: np.ndarray  # (h, w, 3) uint8: upright, transparency flattened, at most WORK_SIDE px
    grayscale: np.ndarray  # (h, w) float32 in [0, 1]
    inverted: np.ndarray  # (h, w) float32 in [0, 1], white ink on black (== grayscale if not inverted)
    was_inverted: bool
    background_removed: np.ndarray  # (h, w) float32 in [0, 1]: the paper's light subtracted, paper 0, strongest ink 1
    cropped: np.ndarray  # the ink's bounding box, background removed and contrast stretched to [0, 1]
    scaled: np.ndarray  # longer side DIGIT_SIDE px, aspect ratio kept, brightest pixel 1
    centered: np.ndarray  # (28, 28) float32 in [0, 1], centre of mass at the centre
    model_input: np.ndarray  # (1, 1, 28, 28) float32, normalised with the MNIST mean and std
    width: int  # size of the uploaded image, upright (after EXIF rotation)
    height: int
    format: str  # as Pillow names it: "PNG", "JPEG", ...

    @property
    def steps(self) -> list[tuple[str, np.ndarray]]:
        """(title, image) pairs in pipeline order, for showing side by side."""
        return [("Original", self.original), ("Grayscale", self.grayscale), ("Inverted", self.inverted),
                ("Background removed", self.background_removed), ("Cropped", self.cropped),
                ("28×28 centred", self.centered)]


def prepare_image(data: bytes, *, max_pixels: int = MAX_PIXELS, max_bytes: int = MAX_BYTES) -> PreparedImage:
    """Uploaded image bytes -> the MNIST-style model input and every step on the way; bad uploads raise ImageError."""
    if not isinstance(data, bytes | bytearray | memoryview):
        raise TypeError(f"data must be the file's bytes. Got {type(data).__name__} instead.")
    for name, limit in (("max_pixels", max_pixels), ("max_bytes", max_bytes)):
        if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
            raise ValueError(f"{name} must be a positive integer. Got {limit!r} instead.")
    image = _open(_check_bytes(bytes(data), max_bytes), max_pixels)
    upright = _decode(image)
    original, grayscale = _flatten(_shrink(upright))
    invert = _dark_ink(grayscale)
    inverted = 1.0 - grayscale if invert else grayscale
    ink = _remove_background(inverted)  # before looking for the ink: uneven light would pass for ink
    cropped = _crop_ink(ink)
    scaled = _scale(cropped)
    centered = _center(scaled)
    return PreparedImage(original=original, grayscale=grayscale, inverted=inverted, was_inverted=invert,
                         background_removed=ink, cropped=cropped, scaled=scaled, centered=centered,
                         model_input=normalize_pixels(centered)[None, None], width=upright.width,
                         height=upright.height, format=image.format or "unknown")


def _check_bytes(data: bytes, max_bytes: int) -> bytes:
    """Refuse an empty file or one over the byte limit."""
    if not data:
        raise ImageError("empty", "The file is empty: upload an image of a digit.")
    if len(data) > max_bytes:
        raise ImageError("too_large", f"The file is {len(data):,} bytes; at most {max_bytes:,} "
                                      f"({max_bytes / 2**20:.3g} MB) are accepted. Upload a smaller image.")
    return data


def _open(data: bytes, max_pixels: int) -> Image.Image:
    """Read only the header; refuse unknown formats, too many pixels and too few before decoding any."""
    try:
        image = Image.open(io.BytesIO(data), formats=FORMATS)
    except UnidentifiedImageError as exc:
        raise ImageError("not_an_image", "This file is not an image we can read: upload a PNG, JPEG, GIF, "
                                         "BMP or WebP image.") from exc
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        # Pillow's own check, for images even larger than ours; the warning arrives only under "-W error".
        raise ImageError("too_large", f"The image has far more than {max_pixels:,} pixels, the most "
                                      f"accepted. Shrink it and try again.") from exc
    except Exception as exc:  # a known format whose header is cut short or damaged: plugins raise many types
        raise ImageError("truncated", "The image file is truncated or damaged. Save it again and retry.") from exc
    width, height = image.size
    if width * height > max_pixels:
        raise ImageError("too_large", f"The image is {width}×{height} = {width * height:,} pixels; at most "
                                      f"{max_pixels:,} are accepted. Shrink it and try again.")
    if min(width, height) < MIN_SIDE:
        raise ImageError("too_small", f"The image is {width}×{height} pixels; a digit needs at least "
                                      f"{MIN_SIDE}×{MIN_SIDE}. Upload a larger image.")
    return image


def _decode(image: Image.Image) -> Image.Image:
    """Decode the first frame, upright per its EXIF tag, as RGB, RGBA or F (high bit depths, in [0, 1])."""
    try:
        # Loads the first frame only. LOAD_TRUNCATED_IMAGES stays off, so a cut-short file raises here.
        image.load()
        image = ImageOps.exif_transpose(image)
        if image.mode.startswith("I") or image.mode == "F":
            scale = 1.0 if image.mode == "F" else 65535.0  # I;16 and I hold 16-bit samples
            return Image.fromarray(np.clip(np.asarray(image, dtype=np.float32) / scale, 0.0, 1.0))
        return image.convert("RGBA" if image.has_transparency_data else "RGB")
    except Exception as exc:  # decoders raise OSError, SyntaxError, ValueError, EOFError... on bad data
        raise ImageError("truncated", "The image file is truncated or damaged. Save it again and retry.") from exc


def _shrink(image: Image.Image) -> Image.Image:
    """Shrink to at most WORK_SIDE px on the longer side (antialiased); smaller images pass unchanged."""
    if max(image.size) <= WORK_SIDE:
        return image
    factor = WORK_SIDE / max(image.size)
    size = (max(1, round(image.width * factor)), max(1, round(image.height * factor)))
    return image.resize(size, Image.Resampling.LANCZOS, reducing_gap=3.0)  # reduce by blocks first: fast


def _flatten(image: Image.Image) -> tuple[np.ndarray, np.ndarray]:
    """An RGB, RGBA or F image -> (RGB uint8, grayscale float32 in [0, 1]), transparency on white."""
    pixels = np.clip(np.asarray(image, dtype=np.float32) / (1.0 if image.mode == "F" else 255.0), 0.0, 1.0)
    if image.mode == "F":
        rgb = np.repeat(pixels[..., None], 3, axis=2)
    elif image.mode == "RGBA":
        color, alpha = pixels[..., :3], pixels[..., 3:]
        rgb = color * alpha + (1.0 - alpha)
        if _contrast(rgb @ LUMA) < MIN_CONTRAST:
            # A light digit drawn only in the alpha channel vanishes on white: show it on black instead.
            rgb = color * alpha
    else:
        rgb = pixels
    return np.round(rgb * 255.0).astype(np.uint8), (rgb @ LUMA).astype(np.float32)


def _border(pixels: np.ndarray) -> np.ndarray:
    """The outermost ring of pixels."""
    return np.concatenate([pixels[0], pixels[-1], pixels[1:-1, 0], pixels[1:-1, -1]])


def _dark_ink(grayscale: np.ndarray) -> bool:
    """Whether the ink is darker than the paper (read from the border), so the image must be inverted."""
    background = float(np.median(_border(grayscale)))
    # The ink is whichever extreme lies further from the background.
    return background - float(grayscale.min()) > float(grayscale.max()) - background


def _contrast(grayscale: np.ndarray) -> float:
    """How far the strongest ink stands out from the background (the border), in [0, 1]."""
    ink = 1.0 - grayscale if _dark_ink(grayscale) else grayscale
    return float(ink.max()) - float(np.median(_border(ink)))


def _background(inverted: np.ndarray) -> np.ndarray:
    """The paper's brightness under uneven light, shadows and tint (ink bright on dark), same shape as `inverted`."""
    factor = min(1.0, BACKGROUND_SIDE / max(inverted.shape))
    small = resize_pixels(inverted, tuple(max(1, round(side * factor)) for side in inverted.shape))
    radius = max(1, round(max(small.shape) * BACKGROUND_SPAN / 2))
    # First guess, rolling-ball style: an opening (erode, then dilate) keeps what is wider than the disk: no stroke.
    guess = opening(small, disk(radius, decomposition="sequence"))
    # The guess sags where the light curves (a vignetted corner), so refine it from the paper alone: Otsu tells
    # ink from paper, and a Gaussian average of the paper pixels only (normalised convolution) follows the light.
    rest = small - guess
    paper = ~dilation(rest > threshold_otsu(rest), disk(2))  # ... grown over the strokes' soft edges
    share = gaussian(paper.astype(np.float32), sigma=radius / 2)  # (h, w) in [0, 1]: how much paper is near
    light = gaussian(np.where(paper, small, 0.0), sigma=radius / 2) / np.maximum(share, 1e-6)
    # Inside a dense tangle of ink, where little paper is near, trust the opening instead.
    light = share * light + (1.0 - share) * guess
    # Each estimate errs low where it fails (the opening under curved light, the average beside a shadow's sharp
    # edge), and a background estimated too low leaves paper that passes for ink: take the higher of the two.
    return resize_pixels(np.maximum(light, guess).astype(np.float32), inverted.shape)


def _remove_background(inverted: np.ndarray) -> np.ndarray:
    """Subtract the paper's light, then stretch: paper 0, strongest ink 1, faint haze 0; a blank image raises."""
    flat = np.clip(inverted - _background(inverted), 0.0, 1.0)
    level, peak = float(np.median(_border(flat))), float(flat.max())
    if peak - level < MIN_CONTRAST:
        raise ImageError("blank", "The image looks blank: no digit found. Draw a dark digit on a light "
                                  "background (or light on dark) and try again.")
    ink = np.clip((flat - level) / (peak - level), 0.0, 1.0)
    ink[ink < NOISE_FLOOR] = 0.0
    return ink


def _bounds(mask: np.ndarray) -> tuple[int, int, int, int]:
    """(top, bottom, left, right) of a non-empty mask, bottom and right exclusive."""
    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    return int(rows[0]), int(rows[-1]) + 1, int(cols[0]), int(cols[-1]) + 1


def _without_specks(mask: np.ndarray) -> np.ndarray:
    """The mask less its blobs under SPECK_SHARE of the largest one's area: grain and JPEG noise, not strokes."""
    blobs = label(mask)
    areas = np.bincount(blobs.ravel())
    areas[0] = 0  # the background's label
    return (areas >= SPECK_SHARE * areas.max())[blobs]


def _crop_ink(ink: np.ndarray) -> np.ndarray:
    """Cut out the ink: the box around its strong pixels plus a margin, trimmed of empty rows and columns."""
    top, bottom, left, right = _bounds(_without_specks(ink >= CROP_THRESHOLD))
    window = ink[max(top - CROP_MARGIN, 0): bottom + CROP_MARGIN, max(left - CROP_MARGIN, 0): right + CROP_MARGIN]
    top, bottom, left, right = _bounds(window > 0)
    return window[top:bottom, left:right]


def _scale(cropped: np.ndarray) -> np.ndarray:
    """Scale so the longer side is DIGIT_SIDE px, keeping the aspect ratio; brightest pixel becomes 1."""
    factor = DIGIT_SIDE / max(cropped.shape)
    size = (max(1, round(cropped.shape[0] * factor)), max(1, round(cropped.shape[1] * factor)))
    scaled = np.clip(resize_pixels(cropped, size), 0.0, 1.0)
    # Shrinking thins a fine stroke into a faint one; MNIST's strokes are saturated.
    return scaled / scaled.max() if scaled.max() > 0 else scaled


def _center(scaled: np.ndarray) -> np.ndarray:
    """Paste into the 28x28 frame and move the centre of mass to the centre."""
    frame = np.zeros((FRAME_SIDE, FRAME_SIDE), dtype=np.float32)
    top, left = (FRAME_SIDE - scaled.shape[0]) // 2, (FRAME_SIDE - scaled.shape[1]) // 2
    frame[top: top + scaled.shape[0], left: left + scaled.shape[1]] = scaled
    return center_by_mass(frame)
