"""The command line's start-up (`python -m core bench --startup`), against issue 21's targets.

Each command runs in a fresh interpreter, and the commands take turns (one run of each, then the next round), so a
busy moment slows all of them alike; the figures are medians. `import torch` is the day's speed. The floor is what
a training run imports before it trains that the project cannot leave out: torch's first optimizer (making one
imports torch's compiler package, torch._dynamo) and the scikit-learn modules such a run uses. What a circles run
takes beyond the floor is the project's own part.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from core.bench.report import BenchRow

ROOT = Path(__file__).resolve().parents[2]  # where `python -m core` finds the package
SKLEARN_MODULES = ("sklearn.datasets", "sklearn.metrics", "sklearn.model_selection")  # what a circles run imports
FLOOR_MODULES = ("torch._dynamo", *SKLEARN_MODULES)
FLOOR = f"import torch; torch.optim.Adam(torch.nn.Linear(2, 2).parameters()); import {', '.join(SKLEARN_MODULES)}"
COMMANDS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("torch", ("-c", "import torch")),
    ("floor", ("-c", FLOOR)),
    ("help", ("-m", "core", "--help")),
    ("circles", ("-m", "core", "train", "--dataset", "circles")),
)
HELP_TARGET_S = 1.5
BEYOND_TORCH_TARGET_S = 2.0
REPEATS = 7


def time_commands(commands: Sequence[tuple[str, Sequence[str]]] = COMMANDS, *,
                  repeats: int = REPEATS) -> dict[str, list[float]]:
    """Wall-clock seconds of each command (`python *args` in the project's folder, this interpreter), `repeats`
    rounds in turn."""
    if repeats < 1:
        raise ValueError(f"repeats must be at least 1. Got {repeats} instead.")
    times: dict[str, list[float]] = {name: [] for name, _ in commands}
    for _ in range(repeats):
        for name, args in commands:
            start = time.perf_counter()
            done = subprocess.run([sys.executable, *args], cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                  text=True, timeout=600)
            if done.returncode != 0:
                raise RuntimeError(f"`python {' '.join(args)}` failed (exit {done.returncode}): {done.stderr[-500:]}")
            times[name].append(time.perf_counter() - start)
    return times


def startup_rows(times: dict[str, list[float]]) -> list[BenchRow]:
    """The table's rows from `time_commands`' figures (medians), with the targets and whether they were met."""
    median = {name: statistics.median(values) for name, values in times.items()}
    torch_s, runs = median["torch"], len(times["torch"])
    how = f"median of {runs} interleaved runs in fresh interpreters"
    beyond = median["circles"] - torch_s
    return [
        BenchRow("`import torch` (the day's speed)", torch_s, "s", detail=how),
        BenchRow("`python -m core --help`", median["help"], "s", f"<= {HELP_TARGET_S} s",
                 median["help"] <= HELP_TARGET_S, how),
        BenchRow("`python -m core train --dataset circles`, beyond `import torch`", beyond, "s",
                 f"<= {BEYOND_TORCH_TARGET_S} s", beyond <= BEYOND_TORCH_TARGET_S, f"{median['circles']:.2f} s in all"),
        BenchRow("the floor beyond `import torch`: torch's first optimizer and scikit-learn", median["floor"] - torch_s,
                 "s", detail="imported by any training run before it trains"),
        BenchRow("the circles run beyond the floor (the project's own part)", median["circles"] - median["floor"], "s",
                 detail="NN Lab's imports, the data, the run and its report"),
    ]
