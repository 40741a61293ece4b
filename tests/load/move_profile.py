"""Where a units move's server CPU goes: `python -m tests.load.move_profile {fresh,shared} [--moves N]`.

Starts a warm server (as `make run` does, through serve.py) whose page functions, inline training and script runs
are wrapped in timers of their thread's CPU time, drives N units moves on Train with the protocol client (as
tests/load/test_move_cost.py does; `fresh`: the server shares no runs, so every move trains; `shared`: every timed
move asks for a setting trained before), then prints each timed part's CPU per move beside the whole process's.
The figures in docs/responsiveness.md ("Where a move's server CPU goes now") come from it.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import importlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TIMED = {  # module -> functions (or Class.method), each timed in the CPU time of the thread that calls it
    "core.lab": ["Lab._train_inline", "Lab.apply", "Lab.coach"],
    "streamlit.runtime.scriptrunner.script_runner": ["ScriptRunner._run_script"],
    "app_pages.common.training": ["show_run", "training_controls"],
    "app_pages.common.widgets": ["architecture_controls"],
    "app_pages.coach_panel": ["coach_panel"],
    "app_pages.common.session": ["begin", "end"],
    "app_pages.common.sidebar": ["summary"],
    "core.plots": ["boundary_figure", "curves_figure"],
}


def serve_timed(out: Path, options: list[str]) -> None:
    """The server's side: warm up, wrap TIMED, write the totals to `out` on SIGUSR1 (SIGUSR2 zeroes them)."""
    sys.path.insert(0, str(ROOT))
    import serve

    serve.warm_up()
    totals: dict[str, list[float]] = {}
    lock = threading.Lock()

    def timed(owner: object, name: str, label: str) -> None:
        function = getattr(owner, name)

        @functools.wraps(function)
        def wrapper(*args, **kwargs):
            start = time.thread_time()
            try:
                return function(*args, **kwargs)
            finally:
                with lock:
                    calls, seconds = totals.get(label, (0, 0.0))
                    totals[label] = [calls + 1, seconds + time.thread_time() - start]
        setattr(owner, name, wrapper)

    for module_name, names in TIMED.items():
        module = importlib.import_module(module_name)
        for name in names:
            owner, _, attribute = name.rpartition(".")
            timed(getattr(module, owner) if owner else module, attribute, name)
    signal.signal(signal.SIGUSR2, lambda *_: totals.clear())
    signal.signal(signal.SIGUSR1, lambda *_: out.write_text(json.dumps(totals)))
    from streamlit.web import cli

    sys.argv = ["streamlit", "run", "app.py", *options]
    cli.main()


async def drive(url: str, server: subprocess.Popen, out: Path, kind: str, moves: int) -> dict:
    """Warm the page up, zero the timers, make `moves` moves, and return the timers with the process's CPU."""
    from tests.load.client import Tab
    from tests.load.measure import cpu_seconds
    from tests.load.test_move_cost import UNITS, move_units

    tab = Tab(url, name="profiler")
    await tab.open("train")
    for units in UNITS if kind == "shared" else UNITS[:3]:
        await move_units(tab, units)
    await asyncio.sleep(2)
    server.send_signal(signal.SIGUSR2)
    await asyncio.sleep(0.5)
    before = cpu_seconds(server.pid)
    for i in range(moves):
        await move_units(tab, UNITS[(i + 3) % len(UNITS)])
        await asyncio.sleep(0.3)
    process = cpu_seconds(server.pid) - before
    server.send_signal(signal.SIGUSR1)
    await asyncio.sleep(1)
    await tab.close()
    return {"whole server process, all threads": [moves, process], **json.loads(out.read_text())}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("kind", choices=("fresh", "shared"))
    parser.add_argument("--moves", type=int, default=24)
    args = parser.parse_args()
    from tests.browser.server import HEALTH_TIMEOUT_S, WARM_UP_S, _free_port, _wait_healthy
    from tests.load.measure import run_in_thread

    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryDirectory() as folder:
        out, log_path = Path(folder, "timers.json"), Path(folder, "server.log")
        env = dict(os.environ, PYTHONUNBUFFERED="1", **({"NNLAB_SHARED_RUNS": "0"} if args.kind == "fresh" else {}))
        command = [sys.executable, "-m", "tests.load.move_profile", "--serve", str(out), "--server.headless", "true",
                   "--server.address", "127.0.0.1", "--server.port", str(port)]
        with open(log_path, "w") as log:
            server = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        try:
            _wait_healthy(url, server, log_path, HEALTH_TIMEOUT_S + WARM_UP_S)
            totals = run_in_thread(drive(url, server, out, args.kind, args.moves), 600)
        finally:
            server.terminate()
            server.wait(20)
    print(f"{args.kind} moves: {args.moves}; CPU per move (ms), the thread's own for each timed part")
    for label, (calls, seconds) in sorted(totals.items(), key=lambda item: -item[1][1]):
        print(f"{1000 * seconds / args.moves:8.1f}  {label} ({calls} calls)")


if __name__ == "__main__":
    if sys.argv[1:2] == ["--serve"]:
        serve_timed(Path(sys.argv[2]), sys.argv[3:])
    else:
        main()
