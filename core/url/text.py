"""One setting's value <-> URL text, and the care a hostile link needs: bounded, parsed strictly, shown safely.

Pure helpers for `core.url.state`: nothing a link holds is ever evaluated, and every value it cannot use
becomes one short line of plain text with no markup characters.
"""

from __future__ import annotations

import math
import re
import secrets
import typing
from collections.abc import Callable, Collection, Mapping, Sequence
from types import NoneType, UnionType

MAX_PARAMS, MAX_VALUE_CHARS, MAX_ITEMS = 64, 200, 16
SHOWN_CHARS, MAX_PROBLEM_CHARS, MAX_PROBLEMS = 40, 160, 12
_SCALARS: dict[type, tuple[re.Pattern[str], Callable[[str], typing.Any], str]] = {  # pattern, convert, expected
    int: (re.compile(r"[+-]?\d{1,9}"), int, "a whole number such as 8"),
    float: (re.compile(r"[+-]?(\d{1,20}\.?\d{0,20}|\.\d{1,20})([eE][+-]?\d{1,3})?"), float, "a number such as 0.03"),
    str: (re.compile(r"[A-Za-z0-9_.-]{1,32}"), str, "a name of letters, digits, _ . or -"),
    bool: (re.compile(r"true|false|yes|no|on|off|1|0", re.I), lambda t: t.lower() in ("true", "yes", "on", "1"),
           "true or false"),
}
_UNSAFE = re.compile(r"[^A-Za-z0-9 .,:;=+_'()/%-]")  # user text: anything else is shown as '?'
_MARKUP = re.compile(r"[<>$`\\*{}|#~&\x00-\x1f\x7f-\x9f]")  # never in a problem message


def format_value(tp: typing.Any, value: typing.Any) -> str:
    """A field's value as URL text: 0.03, 8,8, none, true."""
    if value is None:
        return "none"
    if typing.get_origin(tp) in (UnionType, typing.Union):
        return format_value(next(a for a in typing.get_args(tp) if a is not NoneType), value)
    if typing.get_origin(tp) is tuple:
        return ",".join(format_value(typing.get_args(tp)[0], v) for v in value)
    if tp is bool:
        return "true" if value else "false"
    if tp is float:
        text = repr(float(value))  # the shortest text that reads back as the same float
        return text[:-2] if text.endswith(".0") else text
    return str(value)


def parse_value(tp: typing.Any, text: str) -> typing.Any:
    """URL text -> a value of type `tp`; ValueError saying what was expected."""
    args = typing.get_args(tp)
    if typing.get_origin(tp) in (UnionType, typing.Union):
        inner = next(a for a in args if a is not NoneType)
        return None if text.lower() in ("", "none") else parse_value(inner, text)
    if typing.get_origin(tp) is tuple:
        parts = [p.strip() for p in text.split(",")] if text.strip() else []
        if len(parts) > MAX_ITEMS:
            raise ValueError(f"at most {MAX_ITEMS} comma-separated values")
        return tuple(parse_value(args[0], p) for p in parts)
    if tp not in _SCALARS:
        raise TypeError(f"No URL form for {tp}; add one to core.url.text._SCALARS.")
    pattern, convert, expected = _SCALARS[tp]
    if pattern.fullmatch(text):
        value = convert(text)
        if not (tp is float and not math.isfinite(value)):  # 1e999 reads as inf
            return value
    raise ValueError(f"expected {expected}")


def show(text: str, limit: int = SHOWN_CHARS) -> str:
    """User text made safe to show in a message: odd characters become '?', long text is shortened."""
    clean = _UNSAFE.sub("?", str(text))
    return clean if len(clean) <= limit else clean[: limit - 1] + "…"


def tidy(problems: list[str]) -> tuple[str, ...]:
    """Each problem once, as one line of plain text with no markup characters; a long list is cut short."""
    lines = (" ".join(_MARKUP.sub("", text).split()) for text in problems)
    unique = tuple(dict.fromkeys(t if len(t) <= MAX_PROBLEM_CHARS else t[: MAX_PROBLEM_CHARS - 1] + "…" for t in lines))
    if len(unique) <= MAX_PROBLEMS:
        return unique
    return unique[: MAX_PROBLEMS - 1] + (f"…and {len(unique) - MAX_PROBLEMS + 1} more values ignored.",)


def flatten(params: Mapping[str, object], problems: list[str], *,
            long_values: Mapping[str, int] | None = None) -> dict[str, str]:
    """One text value per name (the last, as st.query_params gives), noting repeats, excess and long values.

    A value may be MAX_VALUE_CHARS long, or as long as `long_values` allows for its name.
    """
    flat: dict[str, str] = {}
    for i, (key, raw) in enumerate(params.items()):
        if i == MAX_PARAMS:
            problems.append(f"{len(params) - MAX_PARAMS} more parameters ignored: a link holds at most {MAX_PARAMS}.")
            break
        values = [raw] if isinstance(raw, str) or not isinstance(raw, Sequence) else list(raw)
        if not values:
            continue
        key, text = str(key), str(values[-1])
        if len(values) > 1:
            problems.append(f"{show(key)} was given {len(values)} times; the last value was used.")
        if len(text) > (long_values or {}).get(key, MAX_VALUE_CHARS):
            problems.append(f"{show(key)} ignored: its value is {len(text):,} characters long.")
            continue
        flat[key] = text
    return flat


def pick_names(key: str, text: str, known: Collection[str], problems: list[str]) -> tuple[str, ...]:
    """A comma list of known names (each once); unknown ones become problems."""
    chosen: list[str] = []
    for part in (p.strip() for p in text.split(",")[:MAX_ITEMS]):
        if part in known and part not in chosen:
            chosen.append(part)
        elif part and part not in known:
            problems.append(f"{key}: unknown name {show(part)} ignored.")
    return tuple(chosen)


# The session token (s=): made by the session store, checked wherever a link is read.
TOKEN_BYTES = 16  # 128 bits from `secrets`: unguessable, and 22 URL-safe characters
TOKEN_PATTERN = re.compile(r"[A-Za-z0-9_-]{22,64}")
def new_token() -> str:
    """A fresh unguessable session token: 128 random bits, URL-safe."""
    return secrets.token_urlsafe(TOKEN_BYTES)


def is_token(text: object) -> bool:
    """True when `text` has the shape of a session token (URL-safe, 22-64 characters)."""
    return isinstance(text, str) and TOKEN_PATTERN.fullmatch(text) is not None

