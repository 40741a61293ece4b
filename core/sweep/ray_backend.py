"""The Ray backend of a sweep: every cell a Ray task on an existing cluster ($NNLAB_RAY_ADDRESS).

Ray is an optional extra (requirements-ray.txt), imported only here and only when a sweep runs on it. A Ray
cluster has no authentication of its own: keep it on a private network. Results come back as they finish.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from core.config import RunOptions
from core.data.dataset import Dataset
from core.sweep.grid import CellResult, SweepCell, SweepError, run_cell

POLL_S = 0.2  # how often a waiting sweep looks at its Stop flag


def _ray():
    """The ray module, or SweepError saying how to install it."""
    try:
        import ray
    except ImportError:
        raise SweepError("NNLAB_RAY_ADDRESS is set but Ray is not installed: "
                         "pip install -r requirements-ray.txt, or unset NNLAB_RAY_ADDRESS to sweep locally.") from None
    return ray


@dataclass(frozen=True)
class RayBackend:
    """Connects to the cluster at `address` on first use (a session already started in this process is reused)."""

    address: str | None = None

    def connect(self):
        """The connected ray module; the engine's code travels to the cluster with the tasks."""
        ray = _ray()
        if not ray.is_initialized():
            try:
                ray.init(address=self.address, include_dashboard=False, log_to_driver=False,
                         runtime_env={"py_modules": [str(Path(__file__).parent)]})
            except Exception as exc:  # Ray raises ConnectionError, RuntimeError, ... : the page shows one line
                raise SweepError(f"Cannot reach the Ray cluster in NNLAB_RAY_ADDRESS: {type(exc).__name__}. "
                                 "Check that it is running and reachable from this server.") from None
        return ray

    def results(self, cells: Sequence[SweepCell], data: Dataset, options: RunOptions,
                should_stop: Callable[[], bool]) -> Iterator[CellResult]:
        """Submit every cell at once; yield each result as it finishes; on Stop, cancel those not finished."""
        ray = self.connect()
        task = ray.remote(num_cpus=1)(run_cell)
        data_ref = ray.put(data)  # sent once, shared by every task
        pending = [task.remote(cell, data_ref, options) for cell in cells]
        try:
            while pending:
                if should_stop():
                    return
                finished, pending = ray.wait(pending, num_returns=1, timeout=POLL_S)
                for ref in finished:
                    yield ray.get(ref)
        finally:
            for ref in pending:
                ray.cancel(ref)
