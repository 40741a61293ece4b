"""The Share dialog's QR code: a long link (200 drawn points) still scans back to itself, or the dialog says why not."""

from __future__ import annotations

import io

import numpy as np
import segno
import zxingcpp
from PIL import Image

from app_pages.common.share import QR_DENSE, QR_MAX_VERSION, link_qr
from core.config import DataConfig, Settings, shaped
from core.data.drawn import MAX_IN_LINK, add_points, drawn_config
from core.url.state import Classroom, preset_settings, share_query

PAGE = "http://localhost:8501/train"


def points_link(n_points: int, classroom: Classroom | None = None, names: tuple[str, ...] = ("near", "far")) -> str:
    """A share link for `n_points` drawn points, as the Share dialog writes it."""
    rng = np.random.default_rng(3)
    points: tuple = ()
    for i, (x, y) in enumerate(rng.normal(0.0, 1.5, size=(n_points, 2))):
        points = add_points(points, (x, y), i % len(names))
    config = drawn_config(points, names, DataConfig(seed=4))
    preset = preset_settings("circles")
    query = share_query(Settings(config, shaped(preset.model, config), preset.train),
                        classroom=classroom or Classroom())
    return f"{PAGE}?{query}"


def decoded(png: bytes, width: int) -> list[str]:
    """The texts zxing-cpp reads from the code as the dialog shows it: scaled down to `width` pixels."""
    image = Image.open(io.BytesIO(png)).convert("L")
    shown = image.resize((width, width), Image.Resampling.BILINEAR)
    return [code.text for code in zxingcpp.read_barcodes(shown)]


def test_the_qr_of_a_200_point_link_decodes_back_to_the_link() -> None:
    link = points_link(MAX_IN_LINK)
    assert len(link) > 1_000  # the long case: at medium error correction this would be a version-30 code
    assert segno.make(link, error="m", micro=False).version > QR_MAX_VERSION
    qr = link_qr(link)
    assert qr is not None, f"a {len(link):,}-character link should still get a QR code"
    png, width = qr
    modules = segno.make(link, error="l", micro=False).symbol_size(scale=1)[0]
    assert width >= 3 * modules  # shown large enough for every module to stay three pixels wide
    assert decoded(png, width) == [link]


def test_a_short_link_keeps_medium_error_correction_and_scans() -> None:
    link = points_link(10)
    png, width = link_qr(link)
    assert segno.make(link, error="m", micro=False).version <= QR_DENSE
    assert decoded(png, width) == [link] and width == 320


def test_a_link_too_long_for_a_readable_code_gets_no_qr() -> None:
    # 200 points in six long-named classes, and a teacher's ticks: too dense even at low error correction.
    names = tuple(f"the {side} side of the river bank" for side in ("north", "south", "east", "west", "far", "near"))
    link = points_link(MAX_IN_LINK, Classroom(hide=("lr", "opt", "bs"), lock=("ep", "wd")), names)
    assert segno.make(link, error="l", micro=False).version > QR_MAX_VERSION
    assert link_qr(link) is None
    assert link_qr(PAGE + "?pts=" + "A" * 4_000) is None


def test_links_use_the_public_address_or_warn_that_students_cannot_reach_localhost() -> None:
    from app_pages.common.share import public_url

    url, warning = public_url("http://localhost:8501/train", {})
    assert url == "http://localhost:8501/train" and "NNLAB_PUBLIC_URL" in warning and "localhost" in warning
    assert public_url("http://127.0.0.1:8501/", {})[1] is not None
    url, warning = public_url("http://localhost:8501/train", {"NNLAB_PUBLIC_URL": "https://lab.example.org/nn/"})
    assert (url, warning) == ("https://lab.example.org/nn/train", None)
    assert public_url("http://class-server:8501/board", {}) == ("http://class-server:8501/board", None)
    assert public_url("http://x:1/", {"NNLAB_PUBLIC_URL": "nn-lab.local:8501"})[0] == "http://nn-lab.local:8501/"
