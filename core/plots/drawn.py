"""The drawing plane: your points on a clickable image (Pillow), mapped with the same `View` that maps clicks back.

Not a plotly figure: the click component needs a plain image, and clicks must land exactly where they show.
"""

from __future__ import annotations

import math

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from core.data.drawn import View, to_pixels
from core.plots.style import INK, NEUTRAL, class_color

SUPERSAMPLE = 2  # drawn at twice the size and scaled down: smooth edges without an anti-aliasing library
GRID, ZERO, LABEL = "#eceef1", "#c9ced4", "#5f6770"  # labels at 5.9:1 on white (#8a929b was 3.2:1)
# Text sizes in the image's pixels: a 1024-px screen shows the 720-px plane about 560 px wide, so these read as
# about 12 and 13 px there (11 and 13 read as 5 and 6 px in the 315-px plane of old).
TICK_PX, KEY_PX = 15, 17


def nice_ticks(low: float, high: float, *, target: int = 6) -> np.ndarray:
    """Round tick values (steps of 1, 2 or 5 times a power of ten) inside [low, high]."""
    raw = (high - low) / max(target, 1)
    power = 10.0 ** math.floor(math.log10(raw)) if raw > 0 else 1.0
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw)
    return np.arange(math.ceil(low / step), math.floor(high / step) + 1) * step


def _font(size: int) -> ImageFont.ImageFont | ImageFont.FreeTypeFont:
    return ImageFont.load_default(size=size)


def _grid(draw: ImageDraw.ImageDraw, view: View, s: int) -> None:
    """Light grid lines at round values, the axes a little darker, values written along the bottom and the right
    edge: x right of its line (left of it at the right edge), y under its line. On the left edge the key covered
    the top value, and the right edge's x value was cut off (QA)."""
    font = _font(TICK_PX * s)
    width, height = view.width * s, view.height * s
    for value in nice_ticks(view.x0, view.x1):
        px = to_pixels([[value, 0.0]], view)[0, 0] * s
        draw.line([(px, 0), (px, height)], fill=ZERO if value == 0 else GRID, width=s)
        text = f"{value:g}"
        at_edge = px + 4 * s + draw.textlength(text, font=font) > width - 2 * s
        draw.text((px - 4 * s if at_edge else px + 4 * s, height - 4 * s), text, fill=LABEL, font=font,
                  anchor="rd" if at_edge else "ld")
    for value in nice_ticks(view.y0, view.y1):
        py = to_pixels([[0.0, value]], view)[0, 1] * s
        draw.line([(0, py), (width, py)], fill=ZERO if value == 0 else GRID, width=s)
        if py + (TICK_PX + 8) * s < height - (TICK_PX + 4) * s:  # clear of the x values along the bottom
            draw.text((width - 5 * s, py + 3 * s), f"{value:g}", fill=LABEL, font=font, anchor="ra")


def _legend(draw: ImageDraw.ImageDraw, class_names: tuple[str, ...], counts: np.ndarray, active: int | None,
            s: int) -> None:
    """Top-left key: each class's colour, name and count; the class being drawn is ringed."""
    font, row = _font(KEY_PX * s), (KEY_PX + 10) * s
    width = max(draw.textlength(f"{n} ({c})", font=font) for n, c in zip(class_names, counts)) + 44 * s
    draw.rounded_rectangle([6 * s, 6 * s, 6 * s + width, 12 * s + row * len(class_names)], radius=6 * s,
                           fill="#ffffffb0", outline=GRID, width=s)
    for k, (name, count) in enumerate(zip(class_names, counts)):
        cx, cy = 22 * s, 9 * s + row * k + row // 2
        radius = 7 * s
        draw.ellipse([cx - radius, cy - radius, cx + radius, cy + radius], fill=class_color(k),
                     outline=INK if k == active else "white", width=2 * s if k == active else s)
        draw.text((cx + 15 * s, cy), f"{name} ({count})", fill=INK if k == active else LABEL, font=font, anchor="lm")


def plane_image(X: np.ndarray, y: np.ndarray, class_names: tuple[str, ...], view: View, *,
                active: int | None = None, point_radius: float = 5.0) -> Image.Image:
    """Points X (n, 2) with labels y drawn on a `view.width` x `view.height` RGB image, with a grid and a key."""
    s = SUPERSAMPLE
    image = Image.new("RGBA", (view.width * s, view.height * s), "white")
    draw = ImageDraw.Draw(image, "RGBA")
    _grid(draw, view, s)
    y = np.asarray(y, dtype=np.int64)
    r = point_radius * s
    for (px, py), label in zip((to_pixels(X, view) * s).tolist(), y.tolist()):
        draw.ellipse([px - r, py - r, px + r, py + r], fill=class_color(label), outline="white", width=s)
    _legend(draw, class_names, np.bincount(y, minlength=len(class_names)), active, s)
    draw.rectangle([0, 0, view.width * s - 1, view.height * s - 1], outline=NEUTRAL, width=s)
    return image.resize((view.width, view.height), Image.Resampling.LANCZOS).convert("RGB")
