"""Runs a lesson's settings through the engine as the Lessons page would, and checks each lesson end to end.

`run_query` trains one link's settings in a fresh Lab: a 2-D run as a moved slider trains it (auto-train, when it
fits the page's inline budget), anything longer as the Train button does. `check_lesson` runs a lesson's start and
its solution: the solution must pass the check, the start must fail it, and neither may sit within a measure's
tolerance of a threshold. Every run is seeded by its settings, so the answer is the same on every machine.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

from core.config import DataConfig
from core.data.dataset import Dataset
from core.data.make import make_dataset
from core.lab import Lab
from core.lessons.catalogue import Lesson
from core.lessons.checks import Verdict, evaluate, too_close
from core.lessons.facts import RunFacts, facts_of
from core.training.jobs import RUN_THREADS

Loader = Callable[[DataConfig], Dataset]


@dataclass(frozen=True)
class LessonCheck:
    """One lesson through the engine: its start's and solution's verdicts, what is wrong, and the seconds."""

    lesson: str
    start: Verdict
    solution: Verdict
    problems: tuple[str, ...]
    seconds: float

    @property
    def ok(self) -> bool:
        return not self.problems


def cached_loader() -> Loader:
    """make_dataset remembering the last few datasets (lessons share their data)."""
    return lru_cache(maxsize=8)(make_dataset)


def run_settings(lesson: Lesson, which: str, *, loader: Loader) -> RunFacts:
    """Train the lesson's start or solution ("start" or "solution") in a fresh Lab, as the page would."""
    lab = Lab(threads=RUN_THREADS, loader=loader)
    lab.apply(lesson.settings(which), train="auto")
    if lab.needs_retrain:
        lab.train(wait=True)
    facts = facts_of(lab)
    if facts is None:
        raise RuntimeError(f"lesson {lesson.id}: its {which} left no finished run")
    return facts


def check_lesson(lesson: Lesson, *, loader: Loader | None = None) -> LessonCheck:
    """The lesson's start must fail its check and its solution pass it, each clear of every threshold."""
    loader = loader or cached_loader()
    started = time.perf_counter()
    verdicts = {which: evaluate(lesson.rule, run_settings(lesson, which, loader=loader))
                for which in ("start", "solution")}
    problems = []
    if verdicts["start"].passed:
        problems.append("its start already passes the check")
    if not verdicts["solution"].passed:
        problems.append("its solution fails the check")
    for which, verdict in verdicts.items():
        problems += [f"{which}: {line}" for line in too_close(lesson.rule, verdict.values)]
    return LessonCheck(lesson.id, verdicts["start"], verdicts["solution"], tuple(problems),
                       time.perf_counter() - started)
