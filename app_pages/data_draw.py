"""Your own points on the Data page: draw them on the plane, import or export a CSV, undo any replacement.

The set being drawn (the draft) lives in st.session_state under the keys below; once every class has
enough points it becomes the lab's data, a DataConfig named "csv" that holds the points themselves.
"""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING

import streamlit as st
from streamlit_image_coordinates import streamlit_image_coordinates

from app_pages.common.session import session
from app_pages.common.ui import literal, load_dataset
from core.config import OWN_POINTS, DataConfig
from core.data.csvfile import read_points_csv, write_points_csv
from core.data.dataset import Dataset
from core.data.drawn import (
    DRAWN_NAMES,
    MAX_IN_LINK,
    Points,
    View,
    add_points,
    as_arrays,
    as_points,
    brush_radius,
    click_to_data,
    drawn_config,
    erase_points,
    missing_points,
    points_of,
    resize_classes,
    to_point_set,
    view_for,
)
from core.data.make import make_dataset
from core.lab import Lab
from core.plots.drawn import plane_image
from core.plots.style import class_color

if TYPE_CHECKING:
    from streamlit.delta_generator import DeltaGenerator

DRAFT = "draw.draft"  # (points, class names, view): the set on the plane
HISTORY = "draw.history"  # earlier drafts, newest last: Undo goes back one
PLANE = "draw.plane"  # a counter in the plane's widget key: a new plane forgets the last click
UPLOAD = "draw.upload"  # (file id, error or None) of the last CSV read
MAX_UNDO = 30
PLANE_PX = view_for([]).width  # the plane's widest: its image's own width (wider, it would only blur)
SETTINGS_PX = 320  # the settings' column beside the plane on a wide screen
BRUSHES = {1: "one point", 5: "a cloud of 5", 12: "a cloud of 12", 25: "a cloud of 25"}
Draft = tuple[Points, tuple[str, ...], View]


def draft() -> Draft:
    """The set on the plane (an empty plane with two classes before anything was drawn)."""
    return st.session_state.get(DRAFT) or ((), DRAWN_NAMES[:2], view_for([]))


def replace_draft(points: Points, names: tuple[str, ...], view: View | None = None) -> None:
    """A new draft; the one it replaces can be brought back with Undo."""
    old = draft()
    st.session_state[HISTORY] = (st.session_state.get(HISTORY, []) + [old])[-MAX_UNDO:]
    st.session_state[DRAFT] = (tuple(points), tuple(names), view or old[2])
    st.session_state.pop(UPLOAD, None)  # the last refusal is old news once the set has changed
    if view is not None:
        st.session_state[PLANE] = st.session_state.get(PLANE, 0) + 1


def undo() -> None:
    """Back to the draft before the last change."""
    history = st.session_state.get(HISTORY, [])
    if history:
        st.session_state[DRAFT] = history.pop()
        st.session_state[PLANE] = st.session_state.get(PLANE, 0) + 1


def start_from(points: Points, names: tuple[str, ...]) -> None:
    """Replace the draft by these points, on a plane fitted to them."""
    replace_draft(points, names, view_for(as_arrays(points)[0]))


def _clicked(key: str) -> None:
    """The plane was clicked: add a point or a cloud of the chosen class there, or erase around it."""
    click, (points, names, view) = st.session_state.get(key), draft()
    if not click or "x" not in click:
        return
    at = click_to_data(click, view)
    size = st.session_state.get("data.draw.brush", 1)
    radius = brush_radius(view, 1 + list(BRUSHES).index(size))
    try:
        if st.session_state.get("data.draw.tool") == "Erase":
            changed = erase_points(points, at, radius)
        else:
            label = names.index(st.session_state.get("data.draw.class") or names[0])
            changed = add_points(points, at, label, count=size, radius=radius, seed=len(points))
    except ValueError as exc:
        st.session_state[UPLOAD] = (None, str(exc))
        return
    if changed != points:
        replace_draft(changed, names)


def _classes(key: str) -> None:
    points, names, _ = draft()
    replace_draft(*resize_classes(points, names, st.session_state[key]))


def _read_upload(key: str) -> None:
    """A CSV was chosen: its points replace the draft, or its one message is shown and nothing changes."""
    file = st.session_state.get(key)
    if file is None:  # the file was taken away: its message goes with it
        st.session_state.pop(UPLOAD, None)
        return
    try:
        found = read_points_csv(file.getvalue())
    except ValueError as exc:
        st.session_state[UPLOAD] = (file.file_id, str(exc))
        return
    st.session_state[UPLOAD] = (file.file_id, None)
    start_from(as_points(found.X, found.y), found.class_names)


def _start_from_generated(config: DataConfig) -> None:
    data = load_dataset(config)
    start_from(points_of(data), data.class_names)


def adopt(lab: Lab) -> None:
    """Take the lab's own points into the draft when they were set elsewhere (a reload, a link)."""
    config = lab.data_config
    if config is not None and config.name == OWN_POINTS and session().synced != config:
        session().synced = config
        if draft()[:2] != (config.points, config.class_names):
            start_from(config.points, config.class_names)


def columns() -> tuple[DeltaGenerator, DeltaGenerator]:
    """(settings, plane): the plane and its tools first, as wide as the page up to the image's own width, and the
    settings beside it where the row holds both, else under it. On a 1024-px screen the plane then takes the whole
    width (a column beside the settings left it 315 px wide, its numbers 5 px tall)."""
    row = st.container(horizontal=True, gap="large")
    plane_box = row.container(width=PLANE_PX)
    return row.container(width=SETTINGS_PX), plane_box


def controls(tools: DeltaGenerator, generated: DataConfig | None) -> None:
    """Over the plane (`tools`): classes, class, tool, brush, undo/clear; in the current column: start from the
    generated data, CSV import."""
    points, names, _ = draft()
    # Set before the widgets: an undo or an import can change the classes under them.
    st.session_state["data.draw.n_classes"] = len(names)
    if st.session_state.get("data.draw.class") not in names:
        st.session_state["data.draw.class"] = names[0]
    st.session_state.setdefault("data.draw.tool", "Add")
    # One row of tools, wrapped where the plane is narrow; the buttons on the fields' line, under their labels.
    with tools.container(horizontal=True, vertical_alignment="bottom", gap="small"):
        st.slider("Classes", 2, 6, key="data.draw.n_classes", on_change=_classes, args=("data.draw.n_classes",),
                  width=140)
        st.pills("Class to draw", names, key="data.draw.class", selection_mode="single",
                 format_func=lambda n: f":color[●]{{foreground=\"{class_color(names.index(n))}\"}} {literal(n)}")
        st.segmented_control("Tool", ["Add", "Erase"], key="data.draw.tool")
        st.selectbox("Brush", list(BRUSHES), format_func=BRUSHES.get, key="data.draw.brush", width=170,
                     help="Each click adds this many points around it (a seeded cloud); the eraser grows with it.")
        st.button("Undo", key="data.draw.undo", on_click=undo, icon=":material/undo:",
                  disabled=not st.session_state.get(HISTORY))
        st.button("Clear", key="data.draw.clear", on_click=replace_draft, args=((), names, view_for([])),
                  icon=":material/delete:", disabled=not points)
    if generated is not None:
        st.button(f"Start from {generated.name}", key="data.draw.start", icon=":material/content_copy:",
                  width="stretch", on_click=_start_from_generated, args=(generated,),
                  help=f"Its {generated.n_samples:,} points, to edit: add, erase, or relabel by erasing and drawing "
                       "again.")
    st.file_uploader("Import a CSV (columns x, y, label)", type=["csv", "txt"], key="data.draw.upload",
                     on_change=_read_upload, args=("data.draw.upload",), max_upload_size=1,
                     help="Up to 1 MB, 10,000 rows and 6 classes. Semicolons, decimal commas and a BOM are fine.")


def plane(view_key: str = "data.draw.plane") -> None:
    """The clickable plane with the draft's points, as wide as its box."""
    points, names, view = draft()
    X, y = as_arrays(points)
    active = names.index(st.session_state["data.draw.class"]) if st.session_state.get(
        "data.draw.class") in names else None
    key = f"{view_key}.{st.session_state.get(PLANE, 0)}"
    tool = "erase" if st.session_state.get("data.draw.tool") == "Erase" else "add points"
    st.caption(f"Click the plane to {tool}. {len(points):,} points.")
    streamlit_image_coordinates(plane_image(X, y, names, view, active=active), key=key, width="stretch",
                                png_compression_level=6, cursor="crosshair", on_click=partial(_clicked, key))


def messages() -> None:
    """The last refused CSV's (or click's) message, shown as plain text: it may quote the file."""
    file_id, error = st.session_state.get(UPLOAD, (None, None))
    if error:
        st.error(("This file cannot be used: " if file_id else "") + literal(error), icon=":material/error:")


def drawn_data(base: DataConfig, lab: Lab) -> tuple[DataConfig, Dataset | None, str | None]:
    """(config, dataset or None, what is missing) for the draft with `base`'s seed and split fractions."""
    points, names, _ = draft()
    config = drawn_config(points, names, base)
    if config == lab.data_config:
        return config, lab.data, None
    missing = missing_points(points, names, config)
    try:  # not through the shared cache: hashing 10,000 points there costs more than splitting them
        return config, make_dataset(config), None
    except ValueError as exc:
        if not missing:
            return config, None, str(exc)
    need = ", ".join(f"{count} more {literal(name)}" for name, count in missing.items())
    return config, None, f"Add {need} to train on these points (each class needs points in train, validation and test)."


def points_and_names(data: Dataset) -> tuple[Points, tuple[str, ...]]:
    """A 2-D dataset's points (in their own units) and class names, for the export."""
    return points_of(data), data.class_names


def export_button(points: Points, names: tuple[str, ...], *, key: str) -> None:
    """Download the points as CSV (x, y, label), the format Import reads."""
    st.download_button("Export as CSV", write_points_csv(to_point_set(points, names)), file_name="points.csv",
                       mime="text/csv", key=key, icon=":material/download:", disabled=not points)


def link_note(points: Points, names: tuple[str, ...]) -> None:
    """Whether the set travels in a share link; when too large, the CSV instead."""
    if len(points) > MAX_IN_LINK:
        st.caption(f"{len(points):,} points are too many to travel in a link (at most {MAX_IN_LINK}): "
                   "the link opens the default data. Share the CSV instead.")
    elif points:
        st.caption("These points travel in the share link.")


def show(left: DeltaGenerator, right: DeltaGenerator, missing: str | None, *, in_use: str | None) -> None:
    """The plane (`right`) and under it what is still missing; in `left` the CSV export and whether a link carries
    it."""
    points, names, _ = draft()
    with right:
        messages()
        plane()
        if missing:
            still = f" Until then the other pages use *{literal(in_use)}*." if in_use else ""
            st.info(missing + still, icon=":material/info:")
    with left:
        export_button(points, names, key="data.draw.export")
        link_note(points, names)
