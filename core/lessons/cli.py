"""The command line's `lessons` subcommand: list the lessons (`--json` for one JSON array), or `--check` each
one through the engine (exit status 1 when any lesson's start passes, its solution fails, or either sits within
a measure's tolerance of a threshold)."""

from __future__ import annotations

import json
import time

from core.lessons.catalogue import Lesson, load_lessons
from core.lessons.checks import Verdict
from core.lessons.facts import MEASURES
from core.lessons.runner import LessonCheck, cached_loader, check_lesson


def lesson_row(lesson: Lesson) -> dict:
    """A lesson as the listing shows it."""
    return {"id": lesson.id, "title": lesson.title, "concept": lesson.concept, "check": lesson.check}


def _values(verdict: Verdict) -> str:
    return ", ".join(f"{name} {MEASURES[name].show(value)}" for name, value in verdict.values.items())


def check_row(checked: LessonCheck) -> dict:
    """One lesson's check as JSON: both verdicts, their measurements and what is wrong."""
    return {"id": checked.lesson, "ok": checked.ok, "problems": list(checked.problems),
            "seconds": round(checked.seconds, 3),
            **{which: {"passed": v.passed, "values": v.values}
               for which, v in (("start", checked.start), ("solution", checked.solution))}}


def check_all(lessons: tuple[Lesson, ...]) -> list[LessonCheck]:
    """Every lesson through the engine, sharing one dataset cache."""
    loader = cached_loader()
    return [check_lesson(lesson, loader=loader) for lesson in lessons]


def lessons_command(*, check: bool = False, as_json: bool = False) -> int:
    """Print the lessons, or check each one; the exit status."""
    lessons = load_lessons()
    if not check:
        rows = [lesson_row(lesson) for lesson in lessons]
        print(json.dumps(rows) if as_json else "\n".join(
            f"{r['id']:<26} {r['concept']:<36} {r['check']}" for r in rows))
        return 0
    started = time.perf_counter()
    results = check_all(lessons)
    seconds = time.perf_counter() - started
    if as_json:
        print(json.dumps({"lessons": [check_row(r) for r in results], "seconds": round(seconds, 2)}))
    else:
        for r in results:
            print(f"{'ok  ' if r.ok else 'FAIL'} {r.lesson:<26} start: {_values(r.start)} | solution: "
                  f"{_values(r.solution)} ({r.seconds:.2f} s)" + "".join(f"\n     {p}" for p in r.problems))
        bad = sum(not r.ok for r in results)
        print(f"{len(results) - bad} of {len(results)} lessons pass their check, in {seconds:.1f} s.")
    return 0 if all(r.ok for r in results) else 1
