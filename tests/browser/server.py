"""A Streamlit server of app.py for the browser tests: on 127.0.0.1, a free port, healthy before use."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.conftest import ROOT

HEALTH_TIMEOUT_S = 60.0
WARM_UP_S = 90.0  # serve.py's warm-up, before the server answers (about 10 s; far longer on a busy machine)
HEALTH_POLL_S = 0.25


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_healthy(url: str, server: subprocess.Popen, log: Path, timeout: float = HEALTH_TIMEOUT_S) -> None:
    deadline = time.monotonic() + timeout
    for _ in range(int(timeout / HEALTH_POLL_S) + 1):
        if server.poll() is not None:
            pytest.fail(f"Streamlit exited with code {server.returncode} before it was healthy; see {log}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        if time.monotonic() > deadline:
            break
        time.sleep(HEALTH_POLL_S)
    pytest.fail(f"Streamlit was not healthy at {url} after {timeout:.0f} s; see {log}")


@contextmanager
def serve_app(log_path: Path, mnist: Path | None, *, warm: bool = False, lag_file: Path | None = None,
              env: dict[str, str] | None = None, script: Path | None = None) -> Iterator[tuple[str, subprocess.Popen]]:
    """A Streamlit server for app.py on a free local port: (its URL, its process), stopped on exit. `warm`: started
    as `make run` starts it, through serve.py (healthy only once the engine is imported and Home's example
    trained); `lag_file`: with an event loop that handles each script run's messages as late as that file says
    (tests/load/lagging_server.py); `env`: more environment variables; `script`: another Streamlit script served
    instead of app.py, with the project's settings (.streamlit/config.toml)."""
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    env = dict(os.environ, PYTHONUNBUFFERED="1", **(env or {}))
    if mnist is not None:
        env["NNLAB_DATA_DIR"] = str(mnist)
    venv_python = ROOT / ".venv" / "bin" / "python"
    python = str(venv_python) if venv_python.is_file() else sys.executable
    # As `make run` starts it (so .streamlit/config.toml applies, file watcher included), plus only what a
    # test needs: no browser to open, this machine only, a free port.
    launcher = (["serve.py"] if warm else ["-m", "tests.load.lagging_server", str(lag_file)] if lag_file is not None
                else ["-m", "streamlit", "run", str(script or "app.py")])
    command = [python, *launcher, "--server.headless", "true", "--server.address", "127.0.0.1", "--server.port",
               str(port)]
    with open(log_path, "w") as log:
        server = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        try:
            _wait_healthy(url, server, log_path, HEALTH_TIMEOUT_S + (WARM_UP_S if warm else 0.0))
            yield url, server
        finally:
            server.terminate()
            try:
                server.wait(timeout=10)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait(timeout=10)


