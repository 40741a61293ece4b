"""Your own 2-D points as CSV: columns x, y, label. Read with every check up front; written back the same way.

Reading never half-succeeds: a file is either turned into points and labels, or refused with one
sentence saying what is wrong and how to fix it. Semicolon-separated files, decimal commas and a
byte-order mark are read as a spreadsheet would write them.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass

import numpy as np
import pandas as pd

from core.checkpoint import CLASS_NAME

MAX_BYTES = 1024 * 1024  # checked before parsing
MAX_ROWS = 10_000
MAX_CLASSES = 6
MAX_ABS = 1e6  # coordinates beyond this are typing slips, and would swamp the standardisation
MIN_PER_CLASS = 5
COLUMNS = ("x", "y", "label")
NUMBER = re.compile(r"[+-]?(\d+([.,]\d*)?|[.,]\d+)([eE][+-]?\d+)?")


class CsvError(ValueError):
    """A CSV file that cannot become a point set; the message says what is wrong, in one sentence."""


@dataclass(frozen=True, eq=False)
class PointSet:
    """Points (n, 2) float32 in the file's own units, labels (n,) int64 and a name per class."""

    X: np.ndarray
    y: np.ndarray
    class_names: tuple[str, ...]


def _text(raw: bytes) -> str:
    """The file's text: size checked first, then UTF-8 (a byte-order mark dropped)."""
    if not raw:
        raise CsvError("The file is empty: a CSV needs a header line x, y, label and one line per point.")
    if len(raw) > MAX_BYTES:
        raise CsvError(f"The file is {len(raw):,} bytes; at most {MAX_BYTES:,} (1 MB) are accepted.")
    if b"\x00" in raw[:4096]:
        raise CsvError("This is not a text file: save the points as CSV (x, y, label) and upload that.")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise CsvError("The file is not UTF-8 text: save it as CSV UTF-8 and try again.") from None


def _table(text: str) -> pd.DataFrame:
    """Rows of strings with lower-case, trimmed column names; the separator sniffed from the header."""
    header = text.splitlines()[0] if text.strip() else ""
    sep = ";" if header.count(";") > header.count(",") else ("\t" if "\t" in header else ",")
    try:
        table = pd.read_csv(io.StringIO(text), sep=sep, dtype=str, keep_default_na=False, skipinitialspace=True,
                            quoting=csv.QUOTE_MINIMAL, nrows=MAX_ROWS + 1)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, csv.Error) as exc:
        raise CsvError(f"This does not read as CSV ({str(exc).splitlines()[0][:80]}): one header line "
                       "x, y, label, then one line per point.") from None
    table.columns = [str(c).strip().lower() for c in table.columns]
    return table


def _check_columns(table: pd.DataFrame) -> None:
    missing = [c for c in COLUMNS if c not in table.columns]
    if missing:
        found = ", ".join(str(c)[:20] for c in table.columns[:6]) or "none"
        raise CsvError(f"The columns must be x, y and label; missing {', '.join(missing)} (found: {found}).")
    extra = [c for c in table.columns if c not in COLUMNS]
    if extra:
        raise CsvError(f"Only the columns x, y and label are read; remove {', '.join(str(c)[:20] for c in extra[:3])}.")
    if len(table) > MAX_ROWS:
        raise CsvError(f"The file has more than {MAX_ROWS:,} points; keep at most {MAX_ROWS:,}.")
    if len(table) == 0:
        raise CsvError("The file has a header but no points.")


def _coordinates(table: pd.DataFrame, comma_decimals: bool) -> np.ndarray:
    """(n, 2) float64; non-numbers, NaN, infinities and values beyond MAX_ABS refused with their line."""
    out = np.empty((len(table), 2))
    for j, column in enumerate(("x", "y")):
        for i, cell in enumerate(table[column].str.strip()):
            if not NUMBER.fullmatch(cell):
                raise CsvError(f"Line {i + 2}: {column} = {cell[:20]!r} is not a number. Use digits like 1.25.")
            value = float(cell.replace(",", ".") if comma_decimals else cell)
            if abs(value) > MAX_ABS:
                raise CsvError(f"Line {i + 2}: {column} = {cell[:20]} is beyond ±{MAX_ABS:g}; rescale the data.")
            out[i, j] = value
    return out


def _labels(cells: pd.Series) -> tuple[np.ndarray, tuple[str, ...]]:
    """Integer labels stay as they are (names "0", "1", ...); names become classes in order of first sight."""
    cells = cells.str.strip()
    if (cells == "").any():
        raise CsvError(f"Line {int(np.flatnonzero(cells == '')[0]) + 2}: the label is empty.")
    bad = [c for c in cells.unique() if not CLASS_NAME.fullmatch(c)]
    if bad:
        raise CsvError("Labels must be short plain words or numbers (letters, digits, spaces, - _ . , ( ) only, at "
                       f"most 40 characters); {bad[0][:20]!r} is not.")
    names = list(dict.fromkeys(cells))
    if all(re.fullmatch(r"\d+", c) for c in names):
        names = sorted(names, key=int)
    if len(names) > MAX_CLASSES:
        raise CsvError(f"The file has {len(names)} classes; at most {MAX_CLASSES} are supported.")
    if len(names) < 2:
        raise CsvError("The file has only one class: a classifier needs at least two to tell apart.")
    index = {name: k for k, name in enumerate(names)}
    return cells.map(index).to_numpy(np.int64), tuple(names)


def read_points_csv(raw: bytes) -> PointSet:
    """CSV bytes (x, y, label) -> a PointSet, or CsvError saying what to fix."""
    text = _text(bytes(raw))
    header = text.splitlines()[0] if text.strip() else ""
    table = _table(text)
    _check_columns(table)
    comma_decimals = ";" in header  # a semicolon file is the spreadsheet habit of locales with decimal commas
    X = _coordinates(table, comma_decimals)
    y, names = _labels(table["label"])
    counts = np.bincount(y, minlength=len(names))
    if counts.min() < MIN_PER_CLASS:
        raise CsvError(f"Class {names[int(counts.argmin())]!r} has only {counts.min()} point(s); each class needs "
                       f"at least {MIN_PER_CLASS} so that training, validation and test all see it.")
    return PointSet(X.astype(np.float32), y, names)


def write_points_csv(points: PointSet) -> bytes:
    """The same format back: x, y, label (the class names), UTF-8, comma-separated."""
    table = pd.DataFrame({"x": points.X[:, 0], "y": points.X[:, 1],
                          "label": np.asarray(points.class_names, dtype=object)[points.y]})
    return table.to_csv(index=False, float_format="%.6g").encode()
