"""The command line's start-up benchmark (core/bench/startup.py): its timing loop, its rows, and that its floor is
made of imports a circles run really makes."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from core.__main__ import main
from core.bench import startup


def test_each_command_is_timed_once_a_round_and_a_failure_says_which() -> None:
    times = startup.time_commands((("pass", ("-c", "pass")), ("sys", ("-c", "import sys"))), repeats=2)
    assert set(times) == {"pass", "sys"} and all(len(v) == 2 and all(t > 0 for t in v) for v in times.values())
    with pytest.raises(RuntimeError, match="boom"):
        startup.time_commands((("bad", ("-c", "raise SystemExit('boom')")),), repeats=1)
    with pytest.raises(ValueError, match="at least 1"):
        startup.time_commands(repeats=0)


def test_the_rows_compare_medians_with_the_targets() -> None:
    rows = startup.startup_rows({"torch": [1.0, 1.2, 5.0], "floor": [3.0, 3.1, 9.0], "help": [0.1, 0.1, 2.0],
                         "circles": [3.4, 3.6, 9.0]})
    by_name = {row.name: row for row in rows}
    help_row = by_name["`python -m core --help`"]
    assert help_row.value == pytest.approx(0.1) and help_row.met is True  # a median: the slow round is ignored
    run = by_name["`python -m core train --dataset circles`, beyond `import torch`"]
    assert run.value == pytest.approx(2.4) and run.met is False and "3.60 s in all" in run.detail
    floor = next(row for row in rows if row.name.startswith("the floor"))
    own = next(row for row in rows if row.name.startswith("the circles run beyond"))
    assert floor.value == pytest.approx(1.9) and own.value == pytest.approx(0.5)


def test_bench_startup_prints_the_rows(monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    fake = {"torch": [1.5], "floor": [3.5], "help": [0.05], "circles": [3.8]}
    monkeypatch.setattr(startup, "time_commands", lambda: fake)
    assert main(["bench", "--startup", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [row["met"] for row in rows] == [None, True, False, None, None]
    assert rows[2]["value"] == pytest.approx(2.3)


def test_a_circles_run_imports_everything_the_floor_imports() -> None:
    """The floor stands for imports the run cannot leave out: if a run stopped making one, the floor would be
    overstated and the project's own part understated."""
    code = ("import sys\nfrom core.__main__ import main\n"
            "main(['train', '--dataset', 'circles', '--epochs', '2', '--threads', '1', '--json'])\n"
            f"print([m for m in {list(startup.FLOOR_MODULES)!r} if m not in sys.modules])")
    done = subprocess.run([sys.executable, "-c", code], cwd=startup.ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip().splitlines()[-1] == "[]", f"not imported by the run: {done.stdout.splitlines()[-1]}"
