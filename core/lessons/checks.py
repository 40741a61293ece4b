"""A lesson's check: a small fixed vocabulary, its parser (never eval) and its evaluator over a finished run.

A check compares named measurements with numbers or quoted words, joined by `and` and `or` (`and` binds tighter;
parentheses group): `validation_accuracy >= 0.95 and units <= 6`, `status == "diverged"`. Every name is in
MEASURES: an *outcome* is measured on the run (its validation split, its history, its weights), a *setting* is
read from the settings it was trained with. No measure reads the test split, and every alternative of a check must
hold at least one outcome, so that no check passes on settings alone.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from core.lessons.facts import MEASURES, RunFacts

OPERATORS = ("==", "!=", "<=", ">=", "<", ">")
TOKEN = re.compile(r"""\s*(?:(?P<num>-?\d+(?:\.\d+)?(?:e-?\d+)?)|(?P<str>"[^"]*")|(?P<op>==|!=|<=|>=|<|>)"""
                   r"""|(?P<paren>[()])|(?P<word>[A-Za-z_][A-Za-z0-9_]*))""")
MAX_CHECK_CHARS = 300


class CheckError(ValueError):
    """A check that cannot be read; the message says where and what was expected."""


@dataclass(frozen=True)
class Comparison:
    """`name op value`: one measurement against a number or a word."""

    name: str
    op: str
    value: float | str

    def holds(self, measured: float | str) -> bool:
        """True when the measured value satisfies the comparison (NaN never does). A number is compared as the
        learner reads it (Measure.rounded), so that a gap shown as 10.0% meets "≥ 10%" although 0.9 - 0.8 is
        0.0999…: the check and what the page shows always agree."""
        if isinstance(measured, float) and math.isnan(measured):
            return False
        a, b = measured, self.value
        measure = MEASURES[self.name]
        if not measure.text and not isinstance(a, str):
            a, b = measure.rounded(a), measure.limit(b)
        return {"==": a == b, "!=": a != b, "<=": a <= b, ">=": a >= b, "<": a < b, ">": a > b}[self.op]


@dataclass(frozen=True)
class AllOf:
    """Every part holds (`and`)."""

    parts: tuple[Node, ...]


@dataclass(frozen=True)
class AnyOf:
    """At least one part holds (`or`)."""

    parts: tuple[Node, ...]


Node = Comparison | AllOf | AnyOf


@dataclass(frozen=True)
class Verdict:
    """A check on one run: whether it passed and each measurement it read."""

    passed: bool
    values: dict[str, float | str]


def _tokens(text: str) -> list[tuple[str, str]]:
    """(kind, text) of each token; CheckError at the first character that starts none."""
    out, at = [], 0
    while at < len(text.rstrip()):
        match = TOKEN.match(text, at)
        if match is None or match.end() == at:
            raise CheckError(f"cannot read the check at {text[at:at + 12].strip()!r}: expected a name, a comparison "
                             f"({' '.join(OPERATORS)}), a number, a quoted word, 'and', 'or' or a parenthesis.")
        kind = match.lastgroup
        out.append((kind, match.group(kind)))
        at = match.end()
    return out


class _Parser:
    """Recursive descent over the tokens: check := all ('or' all)*; all := atom ('and' atom)*."""

    def __init__(self, tokens: list[tuple[str, str]]) -> None:
        self.tokens, self.at = tokens, 0

    def peek(self) -> tuple[str, str] | None:
        return self.tokens[self.at] if self.at < len(self.tokens) else None

    def take(self, kind: str, what: str) -> str:
        token = self.peek()
        if token is None or token[0] != kind:
            got = "the end" if token is None else repr(token[1])
            raise CheckError(f"expected {what} but found {got}.")
        self.at += 1
        return token[1]

    def joined(self, word: str, inner) -> Node:
        parts = [inner()]
        while self.peek() == ("word", word):
            self.at += 1
            parts.append(inner())
        if len(parts) == 1:
            return parts[0]
        return AnyOf(tuple(parts)) if word == "or" else AllOf(tuple(parts))

    def check(self) -> Node:
        return self.joined("or", lambda: self.joined("and", self.atom))

    def atom(self) -> Node:
        if self.peek() == ("paren", "("):
            self.at += 1
            node = self.check()
            self.take("paren", "')'")
            return node
        return self.comparison()

    def comparison(self) -> Comparison:
        name = self.take("word", "a measurement's name")
        if name not in MEASURES:
            raise CheckError(f"unknown measurement {name!r}; choose one of {', '.join(MEASURES)}.")
        op = self.take("op", f"a comparison ({' '.join(OPERATORS)}) after {name}")
        token = self.peek()
        if MEASURES[name].text:
            if op not in ("==", "!="):
                raise CheckError(f"{name} is a word: compare it with == or !=, not {op}.")
            return Comparison(name, op, self.take("str", f'a quoted word after {name} {op}, like "diverged"')[1:-1])
        if token is not None and token[0] == "str":
            raise CheckError(f"{name} is a number: compare it with a number, not {token[1]}.")
        return Comparison(name, op, float(self.take("num", f"a number after {name} {op}")))


def parse_check(text: str) -> Node:
    """The check `text` as a tree of comparisons; CheckError saying what is wrong (nothing is ever evaluated)."""
    if not isinstance(text, str) or not text.strip():
        raise CheckError("a check needs at least one comparison, like validation_accuracy >= 0.9.")
    if len(text) > MAX_CHECK_CHARS:
        raise CheckError(f"a check holds at most {MAX_CHECK_CHARS} characters. Got {len(text)}.")
    parser = _Parser(_tokens(text))
    node = parser.check()
    if parser.peek() is not None:
        raise CheckError(f"unexpected {parser.peek()[1]!r} after a complete comparison: join comparisons with "
                         "'and' or 'or'.")
    if not measures_outcome(node):
        raise CheckError("every alternative of a check must compare at least one measured outcome of the run "
                         f"({', '.join(n for n, m in MEASURES.items() if m.outcome)}), not settings alone.")
    return node


def comparisons(node: Node) -> tuple[Comparison, ...]:
    """Every comparison in the check, left to right."""
    if isinstance(node, Comparison):
        return (node,)
    return tuple(c for part in node.parts for c in comparisons(part))


def measures_outcome(node: Node) -> bool:
    """True when every way the check can pass includes a measured outcome."""
    if isinstance(node, Comparison):
        return MEASURES[node.name].outcome
    if isinstance(node, AllOf):
        return any(measures_outcome(part) for part in node.parts)
    return all(measures_outcome(part) for part in node.parts)


def _holds(node: Node, values: dict[str, float | str]) -> bool:
    if isinstance(node, Comparison):
        return node.holds(values[node.name])
    combine = all if isinstance(node, AllOf) else any
    return combine(_holds(part, values) for part in node.parts)


def evaluate(node: Node, facts: RunFacts) -> Verdict:
    """The check on one finished run; each measurement it names is measured once."""
    values = {c.name: MEASURES[c.name].measure(facts) for c in comparisons(node)}
    return Verdict(_holds(node, values), values)


def too_close(node: Node, values: dict[str, float | str]) -> list[str]:
    """The measured outcomes within their measure's tolerance ("2 points") of a threshold: a check so close
    to the line that a rounding could flip it."""
    close = []
    for c in comparisons(node):
        measure, value = MEASURES[c.name], values.get(c.name)
        if not measure.outcome or measure.text or not isinstance(value, float) or math.isnan(value):
            continue
        if abs(value - c.value) < measure.tolerance:
            close.append(f"{c.name} {measure.show(value)} is within {measure.show(measure.tolerance)} of {c.op} "
                         f"{measure.show_limit(c.value)}")
    return close


def describe(node: Node) -> str:
    """The check in words for a learner: 'validation accuracy ≥ 95% and hidden units ≤ 6', 'the run diverged'."""
    if isinstance(node, Comparison):
        return MEASURES[node.name].wanted(node.op, node.value)
    word = " and " if isinstance(node, AllOf) else " or "
    return word.join(describe(p) if isinstance(p, Comparison) else f"({describe(p)})" for p in node.parts)
