"""Shared fixtures: tiny seeded datasets and the real-MNIST folder when it is present."""

from __future__ import annotations

import os
import secrets
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import torch
from sqlalchemy import create_engine, text

from core.config import DataConfig
from core.data.dataset import Dataset
from core.data.make import make_dataset
from core.training.shared_runs import SHARED_RUNS

ROOT = Path(__file__).resolve().parents[1]
SHARED_MNIST = ROOT.parent / "shared" / "data" / "mnist"


def mnist_dir() -> Path | None:
    """The folder with the official MNIST test files, or None."""
    folder = Path(os.environ.get("NNLAB_TEST_MNIST_DIR") or SHARED_MNIST)
    return folder if (folder / "t10k-images-idx3-ubyte.gz").is_file() else None


def wait_until(condition: Callable[[], object], *, timeout: float = 20.0, what: str = "the condition") -> None:
    """Poll `condition` until it is true; fail with a message naming `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(0.01)


def pytest_configure(config: pytest.Config) -> None:
    """Run history and boards written by the tests (the app servers included) go to a throwaway folder, never
    to the checkout's ./runs."""
    os.environ["NNLAB_STATE_DIR"] = tempfile.mkdtemp(prefix="nnlab-test-state-")
    # Runs on device "auto" train on the CPU, GPU or not, unless NNLAB_TEST_DEVICE=cuda asks for the GPU
    # (.ci/gpu-check.sh; docs/testing.md).
    os.environ["NNLAB_DEVICE"] = os.environ.get("NNLAB_TEST_DEVICE", "cpu")


POSTGRES_URL_ENV = "NNLAB_TEST_POSTGRES_URL"  # set by .ci/postgres.sh (a throwaway local cluster)


@pytest.fixture(params=["sqlite", "postgres"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty database: an SQLite file, then a schema of its own on NNLAB_TEST_POSTGRES_URL's server."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'nnlab.sqlite3'}"
        return
    url = os.environ.get(POSTGRES_URL_ENV)
    if not url:
        reason = f"no PostgreSQL server: {POSTGRES_URL_ENV} is unset (run the tests under .ci/postgres.sh)"
        if os.environ.get("NNLAB_REQUIRE_POSTGRES") == "1":
            pytest.fail(reason + ", and NNLAB_REQUIRE_POSTGRES=1 requires it")
        pytest.skip(reason)
    # Each test gets its own schema, first on the search path, so tests never see each other's rows.
    schema = f"test_{secrets.token_hex(6)}"
    admin = create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
    with admin.begin() as connection:
        connection.execute(text(f"CREATE SCHEMA {schema}"))
    try:
        yield f"{url}{'&' if '?' in url else '?'}options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as connection:
            connection.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()


@pytest.fixture(autouse=True, scope="session")
def _one_thread() -> None:
    # Tiny models train faster on one thread, and tests then behave the same on any machine.
    torch.set_num_threads(1)


@pytest.fixture(autouse=True)
def _no_shared_runs_between_tests() -> None:
    # Each test starts with no run shared from an earlier one (core.training.shared_runs), as a new server does.
    SHARED_RUNS.clear()


@pytest.fixture(autouse=True)
def _one_browser_tab_per_test(monkeypatch: pytest.MonkeyPatch) -> None:
    # The AppTests of one test that set no tab share one, as a reload would; another test is another tab. Shared
    # across tests, a tab's sessions in the process-wide store handed one test's lesson progress to the next.
    from app_pages.common import tab_secret  # here, not at the top: most tests never import streamlit

    monkeypatch.setattr(tab_secret, "APPTEST_SECRET", f"apptest-tab-{secrets.token_hex(16)}")


@pytest.fixture(scope="session")
def circles() -> Dataset:
    return make_dataset(DataConfig(name="circles", n_samples=200, noise=0.05, seed=0))


@pytest.fixture(scope="session")
def blobs() -> Dataset:
    return make_dataset(DataConfig(name="blobs", n_samples=150, n_classes=3, seed=1))


@pytest.fixture(scope="session")
def digits() -> Dataset:
    """The offline 8x8 digits as 28x28 images: real handwriting with no network or files."""
    return make_dataset(DataConfig(name="digits", train_size=300, seed=0))


@pytest.fixture(scope="session")
def mnist_folder() -> Path:
    folder = mnist_dir()
    if folder is None:
        pytest.skip("real MNIST test files not found in ../shared/data/mnist (set NNLAB_TEST_MNIST_DIR)")
    return folder


@pytest.fixture(scope="session")
def mnist(mnist_folder: Path) -> Dataset:
    return make_dataset(DataConfig(name="mnist", data_dir=str(mnist_folder), download=False))
