"""`streamlit run app.py` with a slow event loop, for tests: `python -m tests.load.lagging_server LAG_FILE [options]`.

On a busy server the event loop handles a script run's messages late: the script thread has finished a run while
its deltas, script_finished and auto_rerun messages still wait on the loop. Here every ScriptRunner event reaches
the session as many seconds late as LAG_FILE says (0 when it is empty or missing; read at each event, so a test
can set up a page first), in order, so that state can be reached on purpose: a fragment's timer in the tab still
ticks then, because the tab has not yet heard of the full run that stopped it.
"""

from __future__ import annotations

import asyncio
import sys
from collections import deque
from collections.abc import Callable
from pathlib import Path

from streamlit.runtime.app_session import AppSession
from streamlit.web import cli


def lag_s(lag_file: Path) -> float:
    """The lag the file asks for now (seconds)."""
    try:
        return float(lag_file.read_text() or 0)
    except FileNotFoundError:
        return 0.0


def lagging(lag_file: Path) -> Callable[[AppSession, Callable[[], None]], None]:
    """AppSession._call_soon_on_event_loop, delivering each callback as late as `lag_file` says, first in first
    out."""

    def call_late(session: AppSession, callback: Callable[[], None]) -> None:
        loop: asyncio.AbstractEventLoop = session._event_loop
        waiting: deque = session.__dict__.setdefault("_lagging", deque())

        def drain() -> None:
            while waiting and waiting[0][0] <= loop.time():
                waiting.popleft()[1]()
            if waiting:
                loop.call_at(waiting[0][0], drain)

        def arrive() -> None:
            waiting.append((loop.time() + lag_s(lag_file), callback))
            if len(waiting) == 1:
                loop.call_at(waiting[0][0], drain)

        if not loop.is_closed():
            loop.call_soon_threadsafe(arrive)

    return call_late


def main(lag_file: Path, options: list[str]) -> None:
    """Patch the session's event delivery, then run `streamlit run app.py *options`."""
    AppSession._call_soon_on_event_loop = lagging(lag_file)
    sys.argv = ["streamlit", "run", "app.py", *options]
    cli.main()


if __name__ == "__main__":
    main(Path(sys.argv[1]), sys.argv[2:])
