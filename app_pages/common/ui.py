"""Small Streamlit helpers shared by the pages: the page list, prerequisites, ending a page early, errors, cached
datasets, and the sidebar's summary."""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import NoReturn

import streamlit as st

from core.config import IMAGE_DATASETS, DataConfig
from core.data.dataset import Dataset
from core.data.make import make_dataset
from core.evaluate import accuracy_interval
from core.lab import Lab
from core.models import resolve_device

IMAGE_UPLOAD_MB = 10  # the engine refuses larger images anyway (core.data.images.MAX_BYTES)
MODEL_UPLOAD_MB = 30  # the largest network the sliders build (6 x 1024 units on MNIST) saves to ~25 MB
MARKDOWN_PUNCTUATION = re.compile(r"([!-/:-@\[-`{-~])")  # all ASCII punctuation: CommonMark lets each be escaped
PAGES = {
    "home": "app_pages/home.py",
    "lessons": "app_pages/lessons.py",
    "data": "app_pages/data.py",
    "model": "app_pages/model.py",
    "inside": "app_pages/inside.py",
    "train": "app_pages/train.py",
    "evaluate": "app_pages/evaluate.py",
    "predict": "app_pages/predict.py",
    "runs": "app_pages/runs.py",
    "sweep": "app_pages/sweep.py",
    "board": "app_pages/board.py",
}


class PageEnded(Exception):
    """Raised by `end_page`; app.py catches it and draws the sidebar and the URL as after any page."""

    def __init__(self, *, bare: bool = False) -> None:
        super().__init__("the page ended early")
        self.bare = bare  # nothing more on screen: no sidebar summary or buttons (a projector view)


def end_page(*, bare: bool = False) -> NoReturn:
    """End the page here (a missing prerequisite, or a view that has shown all it has); `bare`: draw nothing
    after it, not even the sidebar's summary and buttons.

    Not st.stop(): after it Streamlit refuses every message and session-state access for the rest of the run,
    so app.py could not draw the sidebar's summary or keep the session.
    """
    raise PageEnded(bare=bare)


def shared_dataset(config: DataConfig) -> bool:
    """True for data every session may share from one cached copy: any 2-D set (a few KB), or digits with the
    split and seed a preset or the Data page's controls give. Other image variants (a link's own seed or
    fractions: a new 30-200 MB copy each) are made for their session alone and count against its memory."""
    if config.name not in IMAGE_DATASETS:
        return True
    base = DataConfig(name=config.name)
    return (config.seed, config.test_fraction, config.val_fraction) == (base.seed, base.test_fraction,
                                                                       base.val_fraction)


@st.cache_resource(show_spinner="Loading the dataset…", max_entries=16)
def _shared(config: DataConfig) -> Dataset:
    return make_dataset(config)


def load_dataset(config: DataConfig) -> Dataset:
    """make_dataset: shared between sessions, cached read-only, for common data (datasets are never mutated);
    made afresh for a session's own image variant, which then counts against that session (`shared_dataset`)."""
    return _shared(config) if shared_dataset(config) else make_dataset(config)


def require(ok: bool, message: str, page: str, label: str) -> None:
    """Stop the page with guidance and a link when a prerequisite is missing."""
    if not ok:
        st.info(message, icon=":material/info:")
        st.page_link(PAGES[page], label=label, icon=":material/arrow_forward:")
        end_page()


@contextmanager
def friendly_errors(what: str) -> Iterator[None]:
    """Turn the engine's ValueErrors into a clear message instead of a traceback."""
    try:
        yield
    except ValueError as exc:
        st.error(f"{what}: {exc}", icon=":material/error:")


def percent(x: float) -> str:
    """0.9731 -> '97.3%'."""
    return f"{100 * x:.1f}%"


def count(n: int, noun: str) -> str:
    """(1, 'epoch') -> '1 epoch'; (2000, 'point') -> '2,000 points'."""
    return f"{n:,} {noun}{'' if n == 1 else 's'}"


PAGE_NOW, PAGE_ENTERED = "ui.page", "ui.page_entered"  # the page the last run drew; whether this run's is another


def unless_set(key: str, **default: object) -> dict[str, object]:
    """A widget's default (`value=`, `index=`, `default=`) only while the session state holds no value for its key:
    Streamlit warns about a widget given both, as after the coach's fix set it.

    On the first run of a page (`note_page`), a stored `value=` or `default=` equal to the default is dropped instead
    and the default given. A widget new to this page (another page drew the last one under this key) takes a stored
    value it did not set as no value at all, and started at its minimum (QA: after the coach's fix on Train, the
    lesson's Epochs slider read 1 and retrained the lesson's start). On later runs the stored value stays: the
    browser shows a value the state sets, not one only dropped."""
    if key not in st.session_state:
        return default
    if st.session_state.get(PAGE_ENTERED) and len(default) == 1 and next(iter(default)) in ("value", "default") \
            and st.session_state[key] == next(iter(default.values())):
        del st.session_state[key]
        return default
    return {}


def note_page(path: str) -> None:
    """Once a run, before the page: note whether it draws another page than the last run did (`unless_set`)."""
    st.session_state[PAGE_ENTERED] = st.session_state.get(PAGE_NOW) != path
    st.session_state[PAGE_NOW] = path


def nearest(options: Sequence[float], value: float) -> float:
    """The option closest to `value`: sliders snap a stored setting to one of their own values."""
    return min(options, key=lambda o: abs(o - value))


def accuracy_card(column, label: str, accuracy: float, n: int, *, baseline: float | None = None) -> None:
    """A metric card: the accuracy, its 95% interval on n samples and (optionally) the majority baseline."""
    lo, hi = accuracy_interval(accuracy, n)
    note = (f"95% interval {percent(lo)}–{percent(hi)} on {count(n, 'sample')}: on another {n:,} points like "
            "these the accuracy would likely fall in this range (fewer points, a wider range), so a difference "
            "smaller than the range may be chance.")
    if baseline is not None:
        note += (f" Always guessing the largest class scores {percent(baseline)} (the baseline): a model has "
                 "learned something only where it clearly beats that.")
    column.metric(label, percent(accuracy), help=note)
    # The interval itself, not ± half its width: it is lopsided near 0 and 100% (one digit right: "±39.7 pts" read
    # as a bound below 0).
    column.caption(f"95%: {100 * lo:.1f}–{percent(hi)} on {n:,}" + (f" · baseline {percent(baseline)}"
                                                                    if baseline is not None else ""))


def session_summary(lab: Lab) -> list[str]:
    """Markdown lines for the sidebar: this session's dataset, model and training state."""
    data, config = lab.data, lab.model_config
    lines = [f"**Data** · {data.name if data else 'none yet'}"]
    if config is not None:
        shape = "-".join(str(u) for u in config.hidden) if config.kind == "mlp" else ""
        lines.append(f"**Model** · {config.kind} {shape}".strip())
    lines.append(f"**Device** · {device_summary(lab)}")
    progress = lab.poll()
    if lab.training:
        running = progress.state == "running"
        lines.append(f"**Training** · epoch {min(len(progress.history) + 1, progress.epochs):,}, up to "
                     f"{progress.epochs:,}"
                     if running else "**Training** · waiting for a free slot")
    elif lab.result is not None:
        status = lab.result.status.replace("_", " ")
        lines.append(f"**Trained** · {status}, {count(len(lab.result.history), 'epoch')}")
    else:
        lines.append("**Trained** · not yet")
    return lines


def device_summary(lab: Lab) -> str:
    """'auto (CPU)', 'CPU' or 'CUDA': where this session's runs train."""
    try:
        where = resolve_device(lab.device, images=lab.data is not None and lab.data.is_image).type.upper()
    except ValueError:  # CUDA chosen on a machine without it
        where = "unavailable"
    return f"auto ({where})" if lab.device == "auto" else where


def literal(text: object) -> str:
    """`text` with every Markdown and HTML special character escaped, so text from a file shows exactly as typed."""
    return MARKDOWN_PUNCTUATION.sub(r"\\\1", str(text))
