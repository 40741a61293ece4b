"""Guided lessons: the lesson files (catalogue), their checks' vocabulary and evaluator (facts, checks), a
lesson in a learner's Lab (tutor), and each lesson run through the engine (runner, cli: `python -m core lessons`).

The lessons themselves are data, one TOML file each in the top-level `lessons/` folder. May import core.config,
core.url, core.data, core.models, core.evaluate, core.insight, core.training and core.lab; nothing below imports
this package but the command line (lazily) and the pages.
"""

from core.lessons.catalogue import LESSONS_DIR, Lesson, LessonError, find_lesson, load_lessons
from core.lessons.checks import CheckError, Verdict, parse_check
from core.lessons.tutor import Attempt, goal, judge, leave_lesson, open_lesson, progress

__all__ = ["LESSONS_DIR", "Attempt", "CheckError", "Lesson", "LessonError", "Verdict", "find_lesson", "goal",
           "judge", "leave_lesson", "load_lessons", "open_lesson", "parse_check", "progress"]
