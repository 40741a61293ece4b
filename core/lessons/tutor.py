"""A lesson in a learner's Lab: opening it (its starting setup), judging the learner's latest run, and progress.

The Lab keeps which lesson is open and which are done, so both live as long as the session store keeps the Lab
(a reload finds them).
"""

from __future__ import annotations

from dataclasses import dataclass

from core.lab import Lab
from core.lessons.catalogue import Lesson
from core.lessons.checks import Verdict, describe, evaluate
from core.lessons.facts import MEASURES, facts_of


@dataclass(frozen=True)
class Attempt:
    """The learner's latest finished run in a lesson, judged: passed or not, and each measurement in words."""

    passed: bool
    readings: tuple[str, ...]  # e.g. "validation accuracy 93.3%", "stopped early"
    verdict: Verdict


def open_lesson(lab: Lab, lesson: Lesson) -> None:
    """Make `lesson` the open one: its starting setup, trained at once when a 2-D run fits the page's budget. The
    previous model is dropped, so only runs made in this lesson are judged."""
    lab.stop()
    lab.forget_model()
    lab.apply(lesson.settings("start"), train="auto")
    lab.lesson = lesson.id


def leave_lesson(lab: Lab) -> None:
    """No lesson open any more (the settings and the model stay)."""
    lab.lesson = None


def judge(lab: Lab, lesson: Lesson) -> Attempt | None:
    """The lesson's check on the lab's finished run of its current settings (None while there is none); a pass
    is recorded in the lab's progress."""
    lab.poll()  # a run a worker has just finished becomes the lab's
    facts = facts_of(lab) if lab.lesson == lesson.id else None
    if facts is None:
        return None
    verdict = evaluate(lesson.rule, facts)
    if verdict.passed:
        lab.lessons_done = lab.lessons_done | {lesson.id}
    readings = tuple(MEASURES[name].reading(value) for name, value in verdict.values.items())
    return Attempt(verdict.passed, readings, verdict)


def goal(lesson: Lesson) -> str:
    """The check in words: 'validation accuracy ≥ 90% and hidden units ≤ 4'."""
    return describe(lesson.rule)


def progress(lab: Lab, lessons: tuple[Lesson, ...]) -> tuple[int, int]:
    """(lessons done, lessons in all)."""
    ids = {lesson.id for lesson in lessons}
    return len(lab.lessons_done & ids), len(ids)
