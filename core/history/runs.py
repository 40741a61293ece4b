"""Run history: each finished run of a session kept in the database (core.history.db), read back, compared, exported.

A run is kept as plain data: its settings in the query-string form of core.url.state (so `run_settings`
re-opens it through `decode`) with the init scheme its weights were drawn with, one record per epoch, metrics
per split, its status and duration, and for 2-D data its final boundary on a 40 x 40 grid. Retention lives in
`Retention` (env NNLAB_MAX_RUNS, default 200 runs per session; NNLAB_RUN_DAYS, default 7 days) and is applied on
every write; an automatic run (a slider moved) replaces the session's previous unpinned automatic run, so the
history does not flood.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from sqlalchemy import Engine, delete, select, update
from sqlalchemy.orm import Session

from core.boundary import BoundaryGrid
from core.config import OWN_POINTS, Settings
from core.data.drawn import MAX_IN_LINK
from core.history.db import RunRow, now, transaction
from core.models import INIT_SCHEME
from core.url.points import POINTS_PARAM
from core.url.state import SETTING_NAMES, decode, encode, url_fields
from core.url.text import format_value

if TYPE_CHECKING:
    from sqlalchemy import ColumnElement

ORIGINS = ("train", "play", "auto", "sweep")  # what started a run: a button, the replay, a slider, a sweep
BUTTONS = ("train", "play")  # the origins a person asked for by pressing a button
SPLITS = ("train", "validation", "test")
MAX_RUNS_ENV, DAYS_ENV = "NNLAB_MAX_RUNS", "NNLAB_RUN_DAYS"
TABLE_COLUMNS = ("id", "created", "origin", "status", "pinned", "seconds", "epochs", "kept epoch")
# Beside the settings, no link carries it: core.models.INIT_SCHEME of the run. Older rows lack it (scheme 1).
INIT_SCHEME_KEY = "init_scheme"


class RunError(ValueError):
    """A run that cannot be found or saved as asked; the message says what to do."""


@dataclass(frozen=True)
class Retention:
    """How much history a session keeps: the one place for both limits."""

    max_runs: int = 200  # per session; the oldest unpinned runs go first
    days: float = 7.0  # any run older than this is deleted

    def __post_init__(self) -> None:
        if self.max_runs < 1:
            raise RunError(f"{MAX_RUNS_ENV} must be at least 1 run. Got {self.max_runs} instead.")
        if not 0 < self.days < math.inf:
            raise RunError(f"{DAYS_ENV} must be a positive number of days. Got {self.days} instead.")

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Retention:
        """Limits from $NNLAB_MAX_RUNS (a whole number) and $NNLAB_RUN_DAYS (days, may be fractional)."""
        env = os.environ if environ is None else environ
        kw: dict[str, float] = {}
        for var, name, kind in ((MAX_RUNS_ENV, "max_runs", int), (DAYS_ENV, "days", float)):
            text = env.get(var, "").strip()
            if text:
                try:
                    kw[name] = kind(text)
                except ValueError:
                    raise RunError(f"{var} must be a positive number, for example {var}="
                                   f"{200 if kind is int else 7}. Got {text[:40]!r}.") from None
        return cls(**kw)


@dataclass(frozen=True)
class RunRecord:
    """What is saved of one run: JSON-ready values only, so it reads back equal."""

    settings: dict[str, str]  # every setting, by its URL name (core.url.state), and INIT_SCHEME_KEY
    status: str
    seconds: float = 0.0
    history: tuple[dict[str, float | int | None], ...] = ()  # per epoch: the fields of core.training.train.EpochStats
    # split -> accuracy, loss, n and the epoch whose weights were measured (see `kept_epoch`)
    metrics: dict[str, dict[str, float | int | None]] = field(default_factory=dict)
    boundary: dict | None = None  # 2-D data: {"x": [x0, x1], "y": [y0, y1], "proba": r x r x classes}


@dataclass(frozen=True)
class Run:
    """One saved run, as read back."""

    id: int
    session: str
    created: datetime
    origin: str
    pinned: bool
    sweep: str | None
    record: RunRecord

    @property
    def label(self) -> str:
        """'#12': how pages and legends name a run."""
        return f"#{self.id}"


def finite(value: float | None, digits: int = 6) -> float | None:
    """A float rounded for storage; NaN and infinity (a diverged run) become None, which JSON can hold."""
    if value is None or not math.isfinite(value):
        return None
    return round(float(value), digits)


def settings_params(settings: Settings) -> dict[str, str]:
    """Every data, model and training setting by its URL name: `decode` reads it back (see `run_settings`).

    Your own points go too when a link can hold them (pts=, at most MAX_IN_LINK); a larger set is not kept.
    The init scheme of today's builds goes under INIT_SCHEME_KEY.
    """
    params = {key: format_value(tp, getattr(config, name))
              for config in (settings.data, settings.model, settings.train)
              for name, key, tp in url_fields(type(config))}
    points = encode(settings).get(POINTS_PARAM)
    return params | ({POINTS_PARAM: points} if points else {}) | {INIT_SCHEME_KEY: str(INIT_SCHEME)}


def run_settings(run: Run) -> Settings:
    """The settings a run was trained with, ready for the Lab; RunError when its data cannot be rebuilt."""
    saved = {key: value for key, value in run.record.settings.items() if key != INIT_SCHEME_KEY}  # not a setting
    decoded = decode(saved)
    settings = decoded.settings
    if saved.get("data") == OWN_POINTS and POINTS_PARAM not in saved:
        raise RunError(f"Run {run.label} was trained on your own points, more than {MAX_IN_LINK} of them, and the "
                       "history keeps only their settings, not the points: load the same file on the Data page "
                       "and train it again.")
    if settings.data.name != saved.get("data", settings.data.name):
        raise RunError(f"Run {run.label}'s data cannot be rebuilt here: {'; '.join(decoded.problems)}")
    return settings


def history_records(history: Sequence[object]) -> tuple[dict[str, float | int | None], ...]:
    """EpochStats -> plain dicts, floats rounded, non-finite values None."""
    return tuple({k: v if isinstance(v, int) else finite(v) for k, v in asdict(stats).items()} for stats in history)


# --- the database -------------------------------------------------------------------------------


def _check_session(session: str) -> None:
    if not isinstance(session, str) or not 0 < len(session) <= 64:
        raise RunError(f"A run belongs to a session token of 1-64 characters. Got {str(session)[:20]!r}.")


def record_run(engine: Engine, session: str, record: RunRecord, *, origin: str = "train", sweep: str | None = None,
               retention: Retention | None = None, created: datetime | None = None) -> int:
    """Save one finished run and return its id; prunes the session's history in the same transaction.

    An `origin="auto"` run replaces the session's earlier unpinned automatic runs. A run of the same settings that
    ended the same way is kept once: a button's run (train, play) removes such an automatic twin, and an automatic
    run whose twin a button already keeps is not added (its id is the twin's). `sweep` names the sweep
    a run belongs to; `created`, when the run ended (by default now: a run saved later, as the writer saves
    an auto run, keeps its place in the history). Raises RunError for bad arguments and
    core.history.db.StorageError when the database fails.
    """
    _check_session(session)
    if origin not in ORIGINS:
        raise RunError(f"origin must be one of {', '.join(ORIGINS)}. Got {origin!r} instead.")
    retention = retention or Retention.from_env()
    row = RunRow(session=session, created=created or now(), origin=origin, pinned=False, sweep=sweep,
                 status=record.status, seconds=float(record.seconds), settings=dict(record.settings),
                 history=list(record.history), metrics=dict(record.metrics), boundary=record.boundary)
    with transaction(engine) as db:
        db.add(row)  # the write comes first: on SQLite it takes the write lock before any read (no upgrade race)
        db.flush()
        mine = (RunRow.session == session) & (RunRow.id != row.id) & ~RunRow.pinned
        if origin == "auto":
            db.execute(delete(RunRow).where(mine & (RunRow.origin == "auto")))
            twin = next(iter(_twins(db, row, (RunRow.session == session) & RunRow.origin.in_(BUTTONS))), None)
            if twin is not None:  # kept already: moving a slider back to settings trained with the button
                db.delete(row)
                return twin
        elif origin in BUTTONS:  # Train pressed on the settings a slider just trained: one row, the button's
            db.execute(delete(RunRow).where(RunRow.id.in_(_twins(db, row, mine & (RunRow.origin == "auto")))))
        db.execute(delete(RunRow).where(RunRow.created < now() - timedelta(days=retention.days)))
        order = (RunRow.pinned.desc(), RunRow.created.desc(), RunRow.id.desc())
        excess = db.scalars(select(RunRow.id).where(RunRow.session == session).order_by(*order)
                            .offset(retention.max_runs)).all()
        if excess:
            db.execute(delete(RunRow).where(RunRow.id.in_(excess)))
        return row.id


def _twins(db: Session, row: RunRow, where: ColumnElement[bool]) -> list[int]:
    """Ids of the runs `where` picks that repeat `row`: the same settings, ending and figures (runs are seeded, so
    the same settings train the same run; the figures tell apart the few settings no link holds, large point sets)."""
    rows = db.execute(select(RunRow.id, RunRow.settings, RunRow.metrics)
                      .where(where & (RunRow.id != row.id) & (RunRow.status == row.status))).all()
    return [id_ for id_, settings, metrics in rows if settings == row.settings and metrics == row.metrics]


def _run(row: RunRow) -> Run:
    created = row.created if row.created.tzinfo else row.created.replace(tzinfo=UTC)  # SQLite drops the zone
    record = RunRecord(dict(row.settings), row.status, row.seconds, tuple(row.history), dict(row.metrics),
                       row.boundary)
    return Run(row.id, row.session, created, row.origin, row.pinned, row.sweep, record)


def list_runs(engine: Engine, session: str, *, origin: str | None = None, sweep: str | None = None,
              limit: int | None = None) -> list[Run]:
    """The session's runs, newest first, optionally only those of one origin or one sweep."""
    _check_session(session)
    query = select(RunRow).where(RunRow.session == session)
    if origin is not None:
        query = query.where(RunRow.origin == origin)
    if sweep is not None:
        query = query.where(RunRow.sweep == sweep)
    query = query.order_by(RunRow.created.desc(), RunRow.id.desc()).limit(limit)
    with transaction(engine) as db:
        return [_run(row) for row in db.scalars(query)]


def _own_row(db: Session, session: str, run_id: int) -> RunRow:
    _check_session(session)
    row = db.get(RunRow, int(run_id))
    if row is None or row.session != session:  # another session's run is as absent as a deleted one
        raise RunError(f"Run #{run_id} is not in this session's history (it may have been deleted).")
    return row


def get_run(engine: Engine, session: str, run_id: int) -> Run:
    """One of the session's runs; RunError when it is not (or no longer) there."""
    with transaction(engine) as db:
        return _run(_own_row(db, session, run_id))


def delete_runs(engine: Engine, session: str, run_ids: Sequence[int]) -> int:
    """Delete some of the session's runs; returns how many were deleted."""
    _check_session(session)
    with transaction(engine) as db:
        gone = db.execute(delete(RunRow).where((RunRow.session == session) & RunRow.id.in_(
            [int(i) for i in run_ids])))
        return int(gone.rowcount or 0)


def move_runs(engine: Engine, old: str, new: str) -> int:
    """Give session `old`'s runs to session `new` (a link whose session the server forgot); returns how many."""
    _check_session(old)
    _check_session(new)
    with transaction(engine) as db:
        return int(db.execute(update(RunRow).where(RunRow.session == old).values(session=new)).rowcount or 0)


def pin_run(engine: Engine, session: str, run_id: int, pinned: bool = True) -> None:
    """Pin a run (an automatic run then stays, and retention takes unpinned runs first) or unpin it."""
    with transaction(engine) as db:
        _own_row(db, session, run_id).pinned = bool(pinned)


# --- comparing and exporting ----------------------------------------------------------------------


# Settings a model of another kind keeps (a config keeps them when the kind changes, so that switching back
# restores them) but does not use: a run of such a model shows none (a CNN was listed with "hidden 1024").
USED_BY = {"hidden": ("mlp",), "width": ("cnn",)}
# The same for the data: only circles have a factor, only blobs and spirals a number of classes (QA: moons runs
# were listed with "classes 3" and "factor 0.5").
DATA_USED_BY = {"factor": ("circles",), "classes": ("blobs", "spiral")}


def used_setting(run: Run, key: str) -> object | None:
    """A run's stored value of one setting, or None when its model or its data does not use it."""
    settings = run.record.settings
    kinds, datasets = USED_BY.get(key), DATA_USED_BY.get(key)
    if kinds is not None and settings.get("model") not in kinds or \
            datasets is not None and settings.get("data") not in datasets:
        return None
    return settings.get(key)


def differing_settings(runs: Sequence[Run]) -> tuple[str, ...]:
    """The URL names of the settings whose values are not the same in every run, in URL order."""
    if len(runs) < 2:
        return ()
    return tuple(key for key in SETTING_NAMES if len({used_setting(run, key) for run in runs}) > 1)


def shown_setting(run: Run, key: str) -> str | None:
    """A run's value of one setting as people read it (a full batch, bs 0 in links, is "all"); None when its
    model does not use the setting, as the table shows it (a logistic regression has no hidden layers)."""
    value = used_setting(run, key)
    if value is None:
        return None
    return "all" if key == "bs" and value in ("0", 0) else str(value)


def difference_label(run: Run, keys: Sequence[str]) -> str:
    """'lr 0.03, hidden 8,8': a run's values of the settings that differ and that its model uses (its id when
    there are none)."""
    shown = ((key, shown_setting(run, key)) for key in keys)
    return ", ".join(f"{key} {value}" for key, value in shown if value is not None) or run.label


def comparison_title(runs: Sequence[Run], keys: Sequence[str]) -> str:
    """'lr 0.03 vs 0.3': what differs between the runs, each setting's distinct used values in run order."""
    parts = []
    for key in keys:
        values = [v for v in dict.fromkeys(shown_setting(run, key) for run in runs) if v is not None]
        if values:
            parts.append(f"{key} {' vs '.join(values)}")
    return "; ".join(parts) or "same settings"


def kept_epoch(run: Run) -> int | None:
    """The epoch whose weights the run kept, which its metrics and boundary are of: early stopping goes back to
    its best epoch. Runs saved before the history noted it (no "epoch" in their metrics) read as their last."""
    noted = [m["epoch"] for m in run.record.metrics.values() if isinstance(m, dict) and m.get("epoch") is not None]
    if noted:
        return int(noted[0])
    return int(run.record.history[-1]["epoch"]) if run.record.history else None


def epochs_label(run: Run) -> str:
    """'37 of 57' for a run that kept epoch 37's weights after training 57 epochs, else '57'."""
    trained, kept = len(run.record.history), kept_epoch(run)
    return f"{kept:,} of {trained:,}" if kept is not None and kept != trained else f"{trained:,}"


def runs_frame(runs: Sequence[Run]) -> pd.DataFrame:
    """One row per run: id, when, origin, status, the final metrics per split, then every setting."""
    rows = []
    for run in runs:
        rec = run.record
        row = {"id": run.id, "created": run.created, "origin": run.origin, "status": rec.status,
               "pinned": run.pinned, "seconds": rec.seconds, "epochs": len(rec.history), "kept epoch": kept_epoch(run)}
        for split in SPLITS:
            for name in ("accuracy", "loss"):
                row[f"{split} {name}"] = rec.metrics.get(split, {}).get(name)
        row.update({key: shown_setting(run, key) for key in SETTING_NAMES})
        rows.append(row)
    columns = [*TABLE_COLUMNS, *(f"{s} {m}" for s in SPLITS for m in ("accuracy", "loss")), *SETTING_NAMES]
    return pd.DataFrame(rows, columns=columns)


def runs_csv(runs: Sequence[Run]) -> bytes:
    """The runs table as CSV (UTF-8), one row per run."""
    return runs_frame(runs).to_csv(index=False).encode("utf-8")


def runs_json(runs: Sequence[Run]) -> str:
    """Every saved field of the runs, per-epoch history and boundary included, as a JSON list."""
    return json.dumps([{"id": run.id, "created": run.created.isoformat(), "origin": run.origin,
                        "pinned": run.pinned, "sweep": run.sweep, **asdict(run.record)} for run in runs])


def history_arrays(run: Run) -> dict[str, np.ndarray]:
    """A run's per-epoch history as arrays (epoch, train_loss, train_acc, val_loss, val_acc; NaN where missing)."""
    keys = ("epoch", "train_loss", "train_acc", "val_loss", "val_acc")
    return {key: np.array([np.nan if e.get(key) is None else e[key] for e in run.record.history], dtype=float)
            for key in keys}


def run_boundary(run: Run) -> BoundaryGrid | None:
    """A saved run's boundary as a grid again (None for image data or a run that did not train)."""
    saved = run.record.boundary
    if not saved:
        return None
    proba = np.asarray(saved["proba"], dtype=np.float32)
    r = proba.shape[0]
    return BoundaryGrid(np.linspace(*saved["x"], r, dtype=np.float32), np.linspace(*saved["y"], r, dtype=np.float32),
                        proba)
