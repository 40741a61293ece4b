"""Fixtures of the protocol-level tests: test-artifacts/, the real MNIST folder when present, the day's machine
speed, and a class played on a fresh server (see crowd.py)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.browser.helpers import ARTIFACTS, record_latency
from tests.browser.server import serve_app
from tests.conftest import mnist_dir
from tests.load.crowd import ClassPlan, play
from tests.load.measure import class_figures, cpu_seconds, import_torch_s, peak_rss_mb, run_in_thread

CLASS_TIMEOUT_S = 900.0


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark every test under tests/load as `load`, except the full capacity run (marker `capacity`, left out of
    `make test` and `make test-load`)."""
    here = Path(__file__).parent
    for item in items:
        if here in item.path.parents and item.get_closest_marker("capacity") is None:
            item.add_marker(pytest.mark.load)


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


@pytest.fixture(scope="session")
def machine_speed() -> float:
    """The day's `import torch` time (s), recorded once with the figures it qualifies."""
    seconds = import_torch_s()
    record_latency(import_torch_s=seconds)
    return seconds


def play_class(plan: ClassPlan, log: Path, *, with_mnist: bool = True) -> dict:
    """`plan` played on a fresh server started as `make run` starts it (MNIST students only where the MNIST files
    are here)."""
    mnist = mnist_dir() if with_mnist else None
    with serve_app(log, mnist, warm=True) as (url, server):
        cpu_before, client_before, start = cpu_seconds(server.pid), time.process_time(), time.monotonic()
        students = run_in_thread(play(url, plan, mnist=mnist is not None), CLASS_TIMEOUT_S)
        wall_s = time.monotonic() - start
        server_cpu_s = cpu_seconds(server.pid) - cpu_before
        figures = class_figures(students, wall_s=wall_s, server_cpu_s=server_cpu_s,
                                server_rss_mb=peak_rss_mb(server.pid),
                                client_cpu_s=time.process_time() - client_before)
    figures["mnist_files"] = mnist is not None
    return figures
