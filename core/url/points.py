"""Your own points in a link: `pts=` carries up to `core.data.drawn.MAX_IN_LINK` of them, packed by `pack_link`.

A larger set travels as a CSV file instead. An address bar (it holds a session token) always leaves the points
out: the session store has them for the tab's reload, and no other tab may get them from the address.
"""

from __future__ import annotations

from dataclasses import replace

from core.config import OWN_POINTS, DataConfig
from core.data.drawn import MAX_IN_LINK, DrawnError, pack_link, unpack_link
from core.data.make import make_dataset

POINTS_PARAM = "pts"  # your own points, packed (core.data.drawn.pack_link)
MAX_POINTS_CHARS = 2400  # pts=: 200 points and six long class names fit in about 1,600


def points_param(data: DataConfig) -> dict[str, str]:
    """{POINTS_PARAM: the packed points} for your own points few enough for a link; else {}."""
    if data.name == OWN_POINTS and 0 < len(data.points) <= MAX_IN_LINK:
        return {POINTS_PARAM: pack_link(data.points, data.class_names)}
    return {}


def with_link_points(data: DataConfig, text: str | None, *, quiet: bool, problems: list[str]) -> DataConfig | None:
    """`data` holding the link's points (the text of pts=) when it is data=csv; None when they are missing or unusable.

    `quiet`: a link without pts= is no problem to report here (an address bar's: its session has the points, or
    the page says they went with it).
    """
    if data.name != OWN_POINTS:
        if text is not None:
            problems.append(f"{POINTS_PARAM} ignored: points go with data={OWN_POINTS}.")
        return data
    try:
        if text is None:
            raise DrawnError(f"the link holds no points (sets of more than {MAX_IN_LINK} travel as a CSV file).")
        points, names = unpack_link(text)
    except DrawnError as exc:
        if text is not None or not quiet:
            problems.append(f"data={OWN_POINTS} ignored: {exc}")
        return None
    return replace(data, points=points, class_names=names)


def split_error(data: DataConfig) -> str | None:
    """Why your own points cannot be split into train, validation and test (too few of a class), or None."""
    try:
        make_dataset(data)
    except ValueError as exc:
        return str(exc)
    return None
