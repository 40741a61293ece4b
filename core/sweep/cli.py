"""The command line's `sweep` subcommand: its --vary option, the grid run headless, and what it prints."""

from __future__ import annotations

import argparse
from collections.abc import Callable

from core.config import RunOptions
from core.data.dataset import Dataset
from core.sweep.grid import (
    MAX_VALUES,
    RAY_ADDRESS_ENV,
    SETTINGS,
    Axis,
    CellResult,
    SweepError,
    SweepSpec,
    parse_values,
)
from core.sweep.run import LocalBackend, default_backend, run_sweep


def parse_vary(text: str) -> Axis:
    """'lr=0.001,0.01' -> Axis('lr', (0.001, 0.01)); argparse's error names what a value should look like."""
    name, sep, values = text.partition("=")
    try:
        if not sep:
            raise SweepError(f"--vary takes SETTING=V1,V2,... such as lr=0.001,0.01. Got {text!r}.")
        return Axis(name.strip(), parse_values(name.strip(), values))
    except SweepError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def add_vary_argument(parser: argparse.ArgumentParser) -> None:
    """The repeatable --vary option of `python -m core sweep`."""
    parser.add_argument("--vary", type=parse_vary, action="append", required=True, metavar="SETTING=V1,V2,...",
                        help=f"a setting to vary (once or twice), one of {', '.join(SETTINGS)}; at most "
                             f"{MAX_VALUES} values each. units sets every hidden layer's width and keeps the layer "
                             "count")


def sweep_report(spec: SweepSpec, data: Dataset, options: RunOptions, *, run_report: Callable[[CellResult], dict],
                 max_seconds: float | None = None) -> dict:
    """Every cell of the grid as `run_report` describes a run, with its values, the grid and the best cell; with
    `max_seconds`, each batch of cells (or a cell alone) stops after that many CPU seconds, as `train` does."""
    backend = default_backend(slots=None)
    if max_seconds is not None:
        if not isinstance(backend, LocalBackend):
            raise SweepError("--max-seconds bounds a sweep on this machine, and a Ray cluster's cells have no time "
                             f"limit: unset {RAY_ADDRESS_ENV} or leave out --max-seconds.")
        backend = LocalBackend(seconds=max_seconds)
    swept = run_sweep(spec, data, backend=backend, options=options)
    names = [axis.name for axis in spec.axes]
    best = swept.best
    return {
        "grid": {"columns": {"setting": names[0], "values": list(spec.axes[0].values)},
                 "rows": ({"setting": names[1], "values": list(spec.axes[1].values)} if len(names) > 1 else None),
                 "val_accuracy": swept.grid().tolist()},
        "best": None if best is None else {"run": best.cell.index, "values": dict(zip(names, best.values)),
                                           "val_accuracy": best.val_acc, "test_accuracy": best.test_acc},
        "runs": [{"values": dict(zip(names, c.values)), **run_report(c)} for c in swept.cells],
    }


def print_sweep(report: dict) -> None:
    """One line per run of a sweep report, then the best run."""
    for run in report["runs"]:
        values = " ".join(f"{k}={v}" for k, v in run["values"].items())
        m = run["metrics"]
        print(f"{values:<28} validation {m['validation']['accuracy']:.2%} · test {m['test']['accuracy']:.2%} · "
              f"{run['status'].replace('_', ' ')} · {run['seconds']:.2f}s")
    best = report["best"]
    print("best by validation accuracy: " + " ".join(f"{k}={v}" for k, v in best["values"].items())
          + f" ({best['val_accuracy']:.2%}; test {best['test_accuracy']:.2%})")
