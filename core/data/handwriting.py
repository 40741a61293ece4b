"""Your own handwriting: a canvas drawing as PNG bytes, and a small labelled set of drawn digits scored as a group.

The canvas hands back RGBA pixels; `drawing_png` flattens them onto the canvas's own background and encodes
them with Pillow, so a drawing takes exactly the path of an uploaded photo (core.data.images.prepare_image).
`Handwriting` keeps the prepared 28x28 digits with the label the user gave each ("this was a 7"); it is
immutable (every change returns a new set) and bounded, so a session cannot grow it without limit.
"""

from __future__ import annotations

import io
import json
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageColor
from torch import nn

from core.data.pixels import normalize_pixels
from core.evaluate import Metrics, evaluate_model

MAX_DIGITS = 100  # a set this size is scored in milliseconds and holds ~300 KB of pixels
FRAME = (28, 28)  # the prepared digit, as the model sees it (before normalisation)
MIN_INK = 26  # of 255: a canvas whose every pixel is this close to the background has nothing drawn on it
MAX_PAD_CHARS = 300_000  # a digit's strokes take ~5-40 k characters of JSON; a pad scribbled past this is not kept


class HandwritingError(ValueError):
    """A drawing or a label the set cannot take; the message says what to do instead."""


def _colour(background: str) -> tuple[int, int, int]:
    try:
        return ImageColor.getrgb(background)[:3]
    except (ValueError, TypeError) as exc:
        raise HandwritingError(f"background must be a CSS colour such as 'black' or '#ffffff'. Got {background!r}.") \
            from exc


def drawing_png(rgba: np.ndarray, *, background: str) -> bytes | None:
    """A canvas's (h, w, 4) uint8 RGBA pixels on its `background` colour -> PNG bytes; None when nothing is drawn."""
    pixels = np.asarray(rgba)
    if pixels.ndim != 3 or pixels.shape[2] != 4 or pixels.dtype != np.uint8:
        raise HandwritingError(f"A drawing must be (height, width, 4) RGBA bytes. Got {pixels.shape} {pixels.dtype}.")
    colour = _colour(background)
    drawn = Image.fromarray(pixels, "RGBA")
    # Strokes are anti-aliased with partly transparent edges: flatten them onto the colour the user saw.
    flat = Image.alpha_composite(Image.new("RGBA", drawn.size, (*colour, 255)), drawn).convert("RGB")
    if np.abs(np.asarray(flat, dtype=np.int16) - np.array(colour, dtype=np.int16)).max() < MIN_INK:
        return None
    buffer = io.BytesIO()
    flat.save(buffer, format="PNG")
    return buffer.getvalue()


@dataclass(frozen=True, eq=False)
class PadDrawing:
    """What the digit pad shows: its strokes as the canvas describes them (to draw them again after a reload), the
    PNG the model read, and the ink. `keep` makes one, or None for a pad too large to keep."""

    strokes: str  # the canvas's JSON, as text
    png: bytes
    white_ink: bool

    @classmethod
    def keep(cls, strokes: object, png: bytes, *, white_ink: bool) -> PadDrawing | None:
        """The pad's drawing when its strokes are JSON of at most MAX_PAD_CHARS characters, else None."""
        try:
            text = json.dumps(strokes, separators=(",", ":"), allow_nan=False)
        except (TypeError, ValueError):  # not what this component version sends: nothing to draw again
            return None
        return cls(text, png, white_ink) if len(text) <= MAX_PAD_CHARS else None

    def canvas(self) -> dict:
        """The strokes for the canvas's `initial_drawing`."""
        return json.loads(self.strokes)


@dataclass(frozen=True, eq=False)
class HandwrittenDigit:
    """One kept drawing: its prepared 28x28 pixels in [0, 1] and the class the user says it is."""

    number: int  # 1, 2, ... in the order kept; never reused within a set, so it names the digit in the UI
    label: int
    pixels: np.ndarray  # (28, 28) float32 in [0, 1], read-only


@dataclass(frozen=True, eq=False)
class Handwriting:
    """A small labelled set of the user's own digits (at most `limit`); every change returns a new set."""

    digits: tuple[HandwrittenDigit, ...] = ()
    next_number: int = 1
    limit: int = MAX_DIGITS

    def __len__(self) -> int:
        return len(self.digits)

    @property
    def labels(self) -> np.ndarray:
        """(n,) int64: the class each digit was meant to be."""
        return np.array([d.label for d in self.digits], dtype=np.int64)

    @property
    def model_input(self) -> np.ndarray:
        """(n, 1, 28, 28) float32, normalised as every image input is."""
        return normalize_pixels(np.stack([d.pixels for d in self.digits]))[:, None]

    def add(self, pixels: np.ndarray, label: int, *, n_classes: int) -> Handwriting:
        """This set with one more digit: `pixels` (28, 28) in [0, 1], `label` in [0, n_classes)."""
        frame = np.asarray(pixels, dtype=np.float32)
        if frame.shape != FRAME or not np.all(np.isfinite(frame)) or frame.min() < 0 or frame.max() > 1:
            raise HandwritingError(f"A kept digit must be 28x28 pixels in [0, 1]. Got shape {frame.shape}.")
        if isinstance(label, bool) or not isinstance(label, int | np.integer) or not 0 <= label < n_classes:
            raise HandwritingError(f"Pick the class the digit was meant to be (0 to {n_classes - 1}). Got {label!r}.")
        if len(self.digits) >= self.limit:
            raise HandwritingError(f"The set holds at most {self.limit} digits: remove some before adding more.")
        for kept in self.digits:
            if np.array_equal(kept.pixels, frame):
                raise HandwritingError(f"This drawing is already in the set (#{kept.number}): draw a new one.")
        frame.setflags(write=False)
        digit = HandwrittenDigit(self.next_number, int(label), frame)
        return Handwriting((*self.digits, digit), self.next_number + 1, self.limit)

    def remove(self, number: int) -> Handwriting:
        """This set without digit #`number`."""
        kept = tuple(d for d in self.digits if d.number != number)
        if len(kept) == len(self.digits):
            raise HandwritingError(f"There is no digit #{number} in the set (it may have been removed already).")
        return Handwriting(kept, self.next_number, self.limit)


def evaluate_handwriting(model: nn.Module, handwriting: Handwriting, class_names: Sequence[str]) -> Metrics:
    """The model's metrics on the kept digits as one group: accuracy, confusion matrix, per-class report."""
    if not len(handwriting):
        raise HandwritingError("The set is empty: draw a digit, pick what it was meant to be and add it.")
    if handwriting.labels.max() >= len(class_names):
        raise HandwritingError(f"The set has labels this model does not know (it has {len(class_names)} classes): "
                               "clear the set or use a model with the same classes.")
    return evaluate_model(model, handwriting.model_input, handwriting.labels, class_names)
