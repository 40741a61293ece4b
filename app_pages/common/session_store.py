"""The server's one session store (core.history.store) as the pages use it: Labs weighed without their shared
datasets, copied without their running jobs, and a reaper that stops the work of a session whose browser tab has
gone for the grace period ($NNLAB_SESSION_GRACE_S, by default Streamlit's own 120-s reconnect window), or whose
entry expired or was evicted: its training job, its sweep's cells and a t-SNE still waiting for a slot."""

from __future__ import annotations

import copy
import weakref
from collections.abc import Callable, Mapping

import streamlit as st
from streamlit.runtime import Runtime

from app_pages.common.ui import shared_dataset
from core.history.store import SessionStore, approx_nbytes
from core.lab import Lab
from core.training.result import TrainResult

TSNE = ("tsne",)  # the Inside page's t-SNE task, kept with the Lab's other looks inside (lab.insight)


def copy_lab(lab: Lab) -> Lab:
    """A deep copy for a fork: the shared dataset is not copied, a running job, sweep or seed spread (threads,
    locks) is left out."""
    memo = {id(lab.data): lab.data, id(lab.job): None, id(lab.sweep): None, id(lab.seeds): None}
    return copy.deepcopy(lab, memo)


def lab_nbytes(lab: Lab) -> int:
    """A Lab's bytes, not counting a dataset the sessions share from one cached copy; an image variant made for
    this session alone (a link's own seed or fractions) counts.

    The run's result, which holds most of them (a copy of the weights per epoch), is weighed once per result and
    per number of boundaries drawn from it (`_result_nbytes`): the store weighs the Lab after every page run, and
    walking the result again was ~6 ms of each slider move.
    """
    shared = lab.data is not None and shared_dataset(lab.data_config)
    skip = ((lab.data,) if shared else ()) + ((lab.result,) if lab.result is not None else ())
    return approx_nbytes(lab, skip=skip) + (_result_nbytes(lab.result, lab.model) if lab.result is not None else 0)


_RESULT_BYTES: weakref.WeakKeyDictionary[TrainResult, tuple[int, int]] = weakref.WeakKeyDictionary()


def _result_nbytes(result: TrainResult, model: object) -> int:
    """The bytes of a (frozen) run result, kept until its replay draws another boundary: its records counted from
    their arrays (a run adopted from the server's shared runs is a new result holding the same records, so a walk
    of it was ~1.5 ms of each such move) and its boundaries, drawn for this session alone, walked. `model`, the
    Lab's, is counted with the Lab: the boundary drawer holds it until it makes its own copy."""
    drawn = getattr(result.snapshots, "drawn", 0)  # a RunSnapshots grows as its boundaries are drawn
    known = _RESULT_BYTES.get(result)
    if known is None or known[0] != drawn:
        boundaries = approx_nbytes(result.snapshots, skip=(result.states, model))  # records: counted already
        known = _RESULT_BYTES[result] = (drawn, result.records_nbytes() + boundaries)
    return known[1]


def is_alive(session_id: str) -> bool:
    """Whether a browser session is still connected (without a server, as under AppTest: assume it is)."""
    try:
        return bool(Runtime.instance().is_active_session(session_id))
    except RuntimeError:
        return True


def stop_work(lab: Lab) -> None:
    """Stop what a session left running: its training job, its sweep's cells and its seed spread (each between two
    steps), and its t-SNE if it still waits for a slot (one already computing cannot be interrupted, and ends on
    its own)."""
    if lab.job is not None:
        lab.job.stop()
    if lab.sweep is not None:
        lab.sweep.stop()
    if lab.seeds is not None:
        lab.seeds.stop()
    task = lab.insight.peek(lab.model, TSNE) if lab.model is not None else None
    if task is not None:
        task.stop()


def new_store(environ: Mapping[str, str] | None = None, *,
              is_owner_alive: Callable[[str], bool] = is_alive) -> SessionStore:
    """A store with its limits from the environment (NNLAB_STORE_MB, NNLAB_STORE_TTL_MIN, NNLAB_SESSION_GRACE_S)
    and its reaper running."""
    store = SessionStore.from_env(environ, size_of=lab_nbytes, copier=copy_lab, is_owner_alive=is_owner_alive,
                                  on_end=stop_work)
    store.start_reaper()
    return store


@st.cache_resource
def session_store() -> SessionStore:
    """The one store of this server process (and its one reaper thread)."""
    return new_store()
