"""The lessons: one TOML file each in the top-level `lessons/` folder, read with tomllib and checked on loading.

A file `NN-id.toml` (NN orders the list) holds the lesson's `id`, `title` and `concept`; its `start`, the query text
of a share link (with `hide=` and `lock=` for the controls it hides and locks); `explanation` (2-4 sentences),
`task`, `check` (core.lessons.checks), `hints` (shown one by one after failed attempts) and `what_happened` (shown
on success); and its `solution`, link settings that override the start's. A lesson is refused on loading, with
the file and the reason, when any of these is missing or malformed, its check reads settings alone, its links
hold anything the dashboard would ignore, or its solution moves a control the learner cannot reach.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from urllib.parse import parse_qsl

from core.config import Settings
from core.lessons.checks import CheckError, Node, parse_check
from core.url.state import HIDE_PARAM, LOCK_PARAM, Classroom, Decoded, decode, to_query

LESSONS_DIR = Path(__file__).resolve().parents[2] / "lessons"
FILE_NAME = re.compile(r"^(\d{2})-([a-z0-9]+(?:-[a-z0-9]+)*)\.toml$")
TEXT_FIELDS = ("id", "title", "concept", "start", "solution", "explanation", "task", "check", "what_happened")
FIELDS = (*TEXT_FIELDS, "hints")
# The controls the Lessons page draws for a learner to move (by URL name); "init" is its "New weights" button.
PAGE_CONTROLS = ("model", "hidden", "width", "act", "drop", "feat", "lr", "opt", "bs", "ep", "wd", "l1", "sched",
                 "pat", "seed", "init", "n", "noise", "ln")
SENTENCE_END = re.compile(r"[.!?](?:\s|$)")


class LessonError(ValueError):
    """A lesson file that cannot be used; the message names the file and what to fix."""


@dataclass(frozen=True, eq=False)
class Lesson:
    """One lesson, read from its file and checked."""

    order: int
    id: str
    title: str
    concept: str
    start: str  # query text of the starting link, hide= and lock= included
    solution: str  # link settings that, over the start's, pass the check
    explanation: str
    task: str
    check: str
    hints: tuple[str, ...]
    what_happened: str
    rule: Node  # the parsed check

    def decoded(self, which: str = "start") -> Decoded:
        """The start's (or the solution's, over the start) settings and classroom, as a link gives them."""
        if which not in ("start", "solution"):
            raise ValueError(f"which must be 'start' or 'solution'. Got {which!r}.")
        params = dict(parse_qsl(self.start, keep_blank_values=True))
        if which == "solution":
            params.update(parse_qsl(self.solution, keep_blank_values=True))
        return decode(params)

    def settings(self, which: str = "start") -> Settings:
        """The start's or the solution's settings."""
        return self.decoded(which).settings

    @property
    def classroom(self) -> Classroom:
        """The controls the lesson hides and locks."""
        return self.decoded().classroom

    def link(self, which: str = "solution") -> str:
        """The query text of a link to the solution (or the start), for a teacher."""
        if which == "start":
            return self.start
        params = dict(parse_qsl(self.start, keep_blank_values=True))
        params.update(parse_qsl(self.solution, keep_blank_values=True))
        return to_query({k: v for k, v in params.items() if k not in (HIDE_PARAM, LOCK_PARAM)})


def sentences(text: str) -> int:
    """How many sentences `text` holds (each ends with . ! or ? before a space or the end)."""
    return len(SENTENCE_END.findall(text.strip()))


def _fields(raw: dict, name: str) -> dict:
    """The file's fields, each of the right type; LessonError naming the first that is not."""
    missing = [key for key in FIELDS if key not in raw]
    unknown = [key for key in raw if key not in FIELDS]
    if missing or unknown:
        wrong = [f"{what} {', '.join(keys)}" for what, keys in (("missing", missing), ("unknown", unknown)) if keys]
        raise LessonError(f"{name}: {'; '.join(wrong)}. A lesson has {', '.join(FIELDS)}.")
    for key in TEXT_FIELDS:
        if not isinstance(raw[key], str) or not raw[key].strip():
            raise LessonError(f"{name}: {key} must be non-empty text.")
    hints = raw["hints"]
    if not isinstance(hints, list) or not 1 <= len(hints) <= 5 or not all(isinstance(h, str) and h for h in hints):
        raise LessonError(f"{name}: hints must be a list of 1 to 5 pieces of text.")
    if not 2 <= sentences(raw["explanation"]) <= 4:
        raise LessonError(f"{name}: the explanation should be 2 to 4 sentences. Got {sentences(raw['explanation'])}.")
    return {key: raw[key].strip() if isinstance(raw[key], str) else raw[key] for key in FIELDS}


def _check_links(lesson: Lesson, name: str) -> None:
    """Both links usable as they are; the solution moves only controls the learner can reach from the start."""
    for which in ("start", "solution"):
        problems = lesson.decoded(which).problems
        if problems:
            raise LessonError(f"{name}: its {which} has settings the dashboard would not use: {problems[0]}")
    room = lesson.classroom
    moved = [key for key, _ in parse_qsl(lesson.solution, keep_blank_values=True)]
    unreachable = [key for key in moved if key not in PAGE_CONTROLS or key in room.hide or key in room.lock]
    if unreachable:
        raise LessonError(f"{name}: its solution sets {', '.join(unreachable)}, which the learner cannot move on the "
                          f"Lessons page (hidden, locked or not drawn there).")
    start, solution = lesson.settings("start").train.init_seed, lesson.settings("solution").train.init_seed
    if solution < start:
        raise LessonError(f"{name}: 'New weights' only counts up: the solution's init ({solution}) must not be "
                          f"below the start's ({start}).")


def read_lesson(path: Path) -> Lesson:
    """One lesson file, checked; LessonError naming the file and the problem."""
    match = FILE_NAME.match(path.name)
    if match is None:
        raise LessonError(f"{path.name}: a lesson file is named NN-id.toml, like 03-hidden-units.toml.")
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise LessonError(f"{path.name}: cannot be read as TOML: {exc}") from None
    fields = _fields(raw, path.name)
    if fields["id"] != match.group(2):
        raise LessonError(f"{path.name}: its id is {fields['id']!r}; the file name says {match.group(2)!r}.")
    try:
        rule = parse_check(fields["check"])
    except CheckError as exc:
        raise LessonError(f"{path.name}: its check {fields['check']!r}: {exc}") from None
    lesson = Lesson(order=int(match.group(1)), rule=rule, **{**fields, "hints": tuple(fields["hints"])})
    _check_links(lesson, path.name)
    return lesson


@cache
def load_lessons(folder: Path = LESSONS_DIR) -> tuple[Lesson, ...]:
    """Every lesson in `folder`, in file order; LessonError for the first file that cannot be used."""
    lessons = tuple(read_lesson(path) for path in sorted(Path(folder).glob("*.toml")))
    ids = [lesson.id for lesson in lessons]
    if len(set(ids)) != len(ids):
        raise LessonError(f"Lesson ids must differ; repeated: {sorted({i for i in ids if ids.count(i) > 1})}.")
    return lessons


def find_lesson(lesson_id: str, folder: Path = LESSONS_DIR) -> Lesson:
    """The lesson with this id; LessonError listing the ids when there is none."""
    for lesson in load_lessons(folder):
        if lesson.id == lesson_id:
            return lesson
    raise LessonError(f"There is no lesson {str(lesson_id)[:40]!r}; choose one of "
                      f"{', '.join(lesson.id for lesson in load_lessons(folder))}.")
