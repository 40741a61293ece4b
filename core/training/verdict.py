"""Did a change help? Two runs' validation accuracies compared with their 95% intervals: "helped" (or "hurt") only
when the change is larger than the interval of the difference, else "within the noise". The coach's fix
(core.training.coach) is judged so, and so is the Train button's rerun of the same settings. Where one of the two
has no validation accuracy (a diverged run has none), `unscored` says which.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from core.evaluate import accuracy_interval
from core.training.result import TrainResult


@dataclass(frozen=True)
class Score:
    """A run's validation accuracy on n points, with its 95% interval."""

    accuracy: float
    n: int

    @property
    def half_width(self) -> float:
        low, high = accuracy_interval(self.accuracy, self.n)
        return (high - low) / 2

    def describe(self) -> str:
        """'84% ± 4'."""
        return f"{100 * self.accuracy:.0f}% ± {100 * self.half_width:.0f}"


@dataclass(frozen=True)
class Verdict:
    """Two runs' validation accuracies compared: helped (better beyond the noise), hurt, or within the noise."""

    before: Score
    after: Score
    outcome: str  # "helped", "hurt" or "within the noise"

    def describe(self, what: str = "the change") -> str:
        """'validation 84% ± 4 → 93% ± 3: it helped'."""
        said = {"helped": "it helped", "hurt": "it made it worse",
                "within the noise": "within the noise: the difference is smaller than the intervals allow"}
        return f"{what[0].upper()}{what[1:]}: validation {self.before.describe()} → {self.after.describe()}, " \
               f"{said[self.outcome]}."


def score(result: TrainResult, n_val: int) -> Score | None:
    """The validation accuracy of the weights a run kept (its best epoch, else its last); None without one."""
    kept = result.kept_stats
    if kept is None or n_val < 1 or result.diverged:
        return None
    return None if math.isnan(kept.val_acc) else Score(kept.val_acc, n_val)


def compare(before: Score, after: Score) -> Verdict:
    """"helped"/"hurt" when the change is larger than the 95% interval of the difference (the two intervals'
    half-widths combined), else "within the noise"."""
    change, noise = after.accuracy - before.accuracy, math.hypot(before.half_width, after.half_width)
    outcome = "helped" if change > noise else "hurt" if change < -noise else "within the noise"
    return Verdict(before, after, outcome)


def unscored(what: str, after: TrainResult, *, before_diverged: bool) -> str:
    """Why a change gets no verdict, naming the run without a validation accuracy: a diverged run has none, so a fix
    of one is told how its own run did instead."""
    kept = after.kept_stats
    what = f"{what[0].upper()}{what[1:]}"
    if after.diverged or kept is None or math.isnan(kept.val_acc):
        why = "diverged" if after.diverged else "has no validation accuracy"
        return f"{what} trained, but its run {why}: there is nothing to compare."
    done = f"{what} trained: validation {100 * kept.val_acc:.0f}%, training {100 * kept.train_acc:.0f}%."
    if before_diverged:
        return f"{done} The run before it diverged, so it has no validation accuracy to compare with."
    return f"{done} The run before it has no validation accuracy to compare with."
