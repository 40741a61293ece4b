"""CSV files a user might upload: good ones in several spreadsheet dialects, and at least 20 bad ones."""

from __future__ import annotations

import numpy as np


def rows(n_per_class: int = 6, classes: tuple[str, ...] = ("a", "b"), *, seed: int = 0) -> list[tuple[float, ...]]:
    """Points around one centre per class, as (x, y, label) rows."""
    rng = np.random.default_rng(seed)
    out = []
    for k, name in enumerate(classes):
        for x, y in rng.normal(loc=(3.0 * k, -2.0 * k), scale=0.5, size=(n_per_class, 2)):
            out.append((round(float(x), 4), round(float(y), 4), name))
    return out


def csv_bytes(table: list[tuple], *, header: str = "x,y,label", sep: str = ",", decimal: str = ".",
              bom: bool = False, newline: str = "\n") -> bytes:
    """The rows as CSV text in a given dialect."""
    lines = [header] + [sep.join(str(v).replace(".", decimal) if isinstance(v, float) else str(v) for v in row)
                        for row in table]
    text = newline.join(lines) + newline
    return (b"\xef\xbb\xbf" if bom else b"") + text.encode()


def good() -> dict[str, bytes]:
    """Files that must read as 12 points in 2 classes (named a and b, or 0 and 1)."""
    table = rows()
    numbered = [(x, y, "0" if label == "a" else "1") for x, y, label in table]
    return {
        "plain": csv_bytes(table),
        "semicolons and decimal commas": csv_bytes(table, header="x;y;label", sep=";", decimal=","),
        "byte-order mark": csv_bytes(table, bom=True),
        "Windows line endings": csv_bytes(table, newline="\r\n"),
        "upper-case header with spaces": csv_bytes(table, header=" X , Y , Label "),
        "integer labels": csv_bytes(numbered),
        "tab-separated": csv_bytes(table, header="x\ty\tlabel", sep="\t"),
    }


def bad() -> dict[str, tuple[bytes, str]]:
    """name -> (file, a fragment of the one message it must get)."""
    table = rows()
    first = "x,y,label\n"
    return {
        "empty": (b"", "empty"),
        "binary (a PNG)": (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(200), "not a text file"),
        "not UTF-8": ("x,y,label\n1,2,é\n".encode("latin-1"), "not UTF-8"),
        "over 1 MB": (first.encode() + b"1,2,a\n" * 200_000, "at most 1,048,576"),
        "header only": (first.encode(), "no points"),
        "missing label column": (b"x,y\n1,2\n3,4\n", "missing label"),
        "wrong column names": (b"a,b,c\n1,2,3\n", "missing x, y, label"),
        "an extra column": (csv_bytes([(*r, "z") for r in table], header="x,y,label,colour"), "remove colour"),
        "a word for x": (csv_bytes([("one", 2.0, "a")] + table), "is not a number"),
        "NaN": (csv_bytes([(float("nan"), 2.0, "a")] + table), "is not a number"),
        "infinity": (csv_bytes([(float("inf"), 2.0, "a")] + table), "is not a number"),
        "beyond a million": (csv_bytes([(2e7, 2.0, "a")] + table), "beyond"),
        "an empty label": (csv_bytes([(1.0, 2.0, "")] + table), "label is empty"),
        "one class only": (csv_bytes(rows(classes=("a",))), "only one class"),
        "seven classes": (csv_bytes(rows(classes=tuple("abcdefg"))), "7 classes"),
        "over 10,000 rows": (csv_bytes(rows(n_per_class=5001)), "more than 10,000"),
        "markup in a label": (csv_bytes([(1.0, 2.0, "<script>alert(1)</script>")] + table), "plain words"),
        "a label of 60 characters": (csv_bytes([(1.0, 2.0, "z" * 60)] + table), "plain words"),
        "a class of 2 points": (csv_bytes(table + [(9.0, 9.0, "c"), (9.1, 9.0, "c")]), "has only 2 point"),
        "ragged lines": (b"x,y,label\n1,2,a\n3,4,b,5,6\n", "does not read as CSV"),
        "HTML page": (b"<!doctype html><html><body>hello</body></html>", "missing"),
        "a JSON file": (b'{"x": [1, 2], "y": [3, 4], "label": ["a", "b"]}', "missing"),
    }
