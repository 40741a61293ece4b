"""One browser tab without a browser: a websocket to /_stcore/stream that sends BackMsg and reads ForwardMsg as
Streamlit's frontend (1.67) does.

Like the frontend, a tab: sends `rerun_script` with a ClientState (its address's query string, the page's script
hash, every widget value it holds, a fragment id for a fragment's run); learns widget ids from the deltas and finds
them by key; sends a button as a one-shot trigger; keeps the query string the server writes (page_info_changed)
and drops it on a page change; runs one timer per `auto_rerun` fragment, stopped when a full run starts or the
server sends `stop_auto_rerun`; drops elements a finished run did not draw again; and reports its tab secret
(`handshake`), as app_pages/common/tab_secret.js does.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import websockets
from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
from streamlit.proto.WidgetStates_pb2 import WidgetState

from tests.load.protocol import (
    EARLY,
    FRAGMENT_SUCCESS,
    STATUS,
    SUCCESS,
    Widget,
    element_error,
    element_text,
    element_widget,
    key_of,
    widget_state,
)

TAB_SECRET = "nnlab_tab_secret"  # the component that reports a tab's secret (app_pages/common/tab_secret.py)
SIDEBAR = 1  # Streamlit's root containers: 0 the main area, 1 the sidebar


@dataclass(frozen=True)
class Run:
    """A script run as the tab saw it: from its new_session to its script_finished (monotonic seconds)."""

    run_id: str
    fragments: tuple[str, ...]
    started: float
    finished: float
    status: str

    @property
    def full(self) -> bool:
        return not self.fragments


@dataclass
class Node:
    """One element or block on the tab's screen."""

    kind: str
    text: str
    run_id: str
    fragment: str


@dataclass
class Counters:
    """What the tab sent and received."""

    messages: int = 0
    ticks: int = 0  # auto-reruns its fragment timers sent
    reruns: int = 0  # every rerun_script it sent
    errors: list[str] = field(default_factory=list)


class Tab:
    """A browser tab on one Streamlit server; use `open`, then `send`/`click`/`goto` and `wait_for`."""

    def __init__(self, base_url: str, *, name: str = "tab") -> None:
        self.base_url, self.name = base_url.rstrip("/"), name
        self.secret = secrets.token_urlsafe(32)  # 32 random bytes, base64url: the shape tab_secret.js makes
        self.query, self.page_hash, self.path = "", "", ""
        self.pages: dict[str, str] = {}  # url path ("" for the default page) -> page script hash
        self.widgets: dict[str, Widget] = {}  # by user key, as last drawn
        self.values: dict[str, WidgetState] = {}  # by widget id: the values this tab reports on every rerun
        self.nodes: dict[tuple[int, ...], Node] = {}
        self.runs: list[Run] = []
        self.full_starts: list[float] = []  # when each full run started (monotonic), stopped ones included
        self.on_finish: list[Callable[[Run], None]] = []  # called as each run's script_finished arrives
        self.counters = Counters()
        self._timers: dict[str, tuple[float, asyncio.Task]] = {}
        self._started: dict[str, tuple[float, tuple[str, ...]]] = {}  # run id -> (when, fragment ids)
        self._run_id = ""  # the run whose deltas arrive now (only new_session and script_finished name their run)
        self._seen: set[str] = set()  # widget ids drawn by the current full run
        self._reported: tuple[str, str] | None = None  # the secret last reported, and on which page
        self._reported_at = 0.0  # when (monotonic)
        self._reset_done: str | None = None
        self._changed = asyncio.Condition()
        self._ws = None
        self._reader: asyncio.Task | None = None

    # --- connecting ------------------------------------------------------------------------------

    async def open(self, path: str = "", query: str = "", *, timeout: float = 60.0) -> None:
        """Connect and load `path` (a page's url path, "" for the default page) with `query`, as a browser opening
        the address does; returns once a full run has drawn the page after the handshake."""
        ws_url = self.base_url.replace("http://", "ws://", 1) + "/_stcore/stream"
        self._ws = await websockets.connect(ws_url, subprotocols=["streamlit"], max_size=None, open_timeout=timeout)
        self._reader = asyncio.create_task(self._read(), name=f"{self.name}-reader")
        self.query, self.path = query, path
        sent = await self.send()
        await self.wait_for(lambda: self.finished_since(max(sent, self._reported_at)) and (
            self._reported_at or self._secret_component() is None), timeout, "first page")

    async def close(self) -> None:
        """Stop the timers and close the websocket (the server sees the tab go)."""
        for _interval, task in self._timers.values():
            task.cancel()
        self._timers.clear()
        if self._ws is not None:
            await self._ws.close()
        if self._reader is not None:
            self._reader.cancel()

    # --- what the tab sends ----------------------------------------------------------------------

    async def send(self, changes: dict[str, object] | None = None, *, page: str | None = None,
                   fragment: str = "", auto: bool = False) -> float:
        """A rerun_script with every held value and `changes` (by widget key); `page`: switch to that page (its url
        path). Returns when it was sent (monotonic)."""
        triggers = []
        for key, value in (changes or {}).items():
            state = widget_state(self.widget(key), value)
            if state.WhichOneof("value") == "trigger_value":
                triggers.append(state)  # one-shot: not kept
            else:
                self.values[state.id] = state
        message = BackMsg()
        client = message.rerun_script
        if page is not None and self.pages.get(page) != self.page_hash:
            self.query = ""  # the frontend keeps only widget-bound parameters on a page change (none here)
            client.page_script_hash = self.pages[page]
        elif self.page_hash:
            client.page_script_hash = self.page_hash
        else:
            client.page_name = self.path  # the first load: the address's path names the page
        client.query_string, client.fragment_id, client.is_auto_rerun = self.query, fragment, auto
        client.widget_states.widgets.extend([*self.values.values(), *triggers])
        client.context_info.timezone, client.context_info.locale = "UTC", "en-US"
        client.context_info.url = f"{self.base_url}/{self.path}" + (f"?{self.query}" if self.query else "")
        await self._ws.send(message.SerializeToString())
        self.counters.reruns += 1
        return time.monotonic()

    async def click(self, key: str) -> float:
        """Press the button `key`."""
        return await self.send({key: True})

    async def goto(self, page: str) -> float:
        """Switch page through the navigation, as a click in the sidebar's page list does."""
        if page not in self.pages:
            raise KeyError(f"{self.name}: no page {page!r} in {sorted(self.pages)}")
        return await self.send(page=page)

    async def handshake(self) -> None:
        """Report this tab's secret as tab_secret.js does when its component mounts: its state {"secret": ...},
        sent when Python does not hold it yet; a new `reset` value from Python first replaces the secret ("End my
        session")."""
        component = self._secret_component()
        if component is None:
            return
        data = json.loads(component.proto.json or "{}")
        reset = data.get("reset")
        if isinstance(reset, str) and reset != self._reset_done:
            self.secret, self._reset_done = secrets.token_urlsafe(32), reset
        mounted = (self.secret, self.page_hash)  # the script runs again when the component mounts on a new page
        if not data.get("have") and self._reported != mounted:
            self._reported = mounted
            self._reported_at = await self.send({key_of(component.id): {"secret": self.secret}})

    def _secret_component(self) -> Widget | None:
        return next((w for w in self.widgets.values()
                     if w.kind == "bidi_component" and w.proto.component_name.endswith(TAB_SECRET)), None)

    # --- what the tab reads ----------------------------------------------------------------------

    def widget(self, key: str) -> Widget:
        """The widget drawn with `key` (its id as last drawn)."""
        if key not in self.widgets:
            raise KeyError(f"{self.name}: no widget with key {key!r} on the page (have {sorted(self.widgets)})")
        return self.widgets[key]

    def text(self, root: int = 0) -> str:
        """The lines of text in one root container (0 the main area, 1 the sidebar), top to bottom."""
        return "\n".join(node.text for path, node in sorted(self.nodes.items()) if path[0] == root and node.text)

    def sidebar(self) -> str:
        return self.text(SIDEBAR)

    def finished_since(self, when: float, *, full: bool = True) -> Run | None:
        """The first run that started after `when` and finished successfully (a full run, unless `full` is False)."""
        return next((run for run in self.runs if run.started >= when and run.status in (SUCCESS, FRAGMENT_SUCCESS)
                     and (run.full or not full)), None)

    def early_since(self, when: float) -> bool:
        """Whether a run was stopped for a newer one since `when`."""
        return any(run.finished >= when and run.status == EARLY for run in self.runs)

    async def wait_for(self, condition: Callable[[], object], timeout: float, what: str) -> None:
        """Until `condition()` holds after some message; TimeoutError naming `what` after `timeout` seconds."""
        async with self._changed:
            try:
                await asyncio.wait_for(self._changed.wait_for(condition), timeout)
            except TimeoutError:
                raise TimeoutError(f"{self.name}: no {what} within {timeout:g} s") from None

    # --- what the tab receives -------------------------------------------------------------------

    async def _read(self) -> None:
        try:
            async for data in self._ws:
                message = ForwardMsg()
                message.ParseFromString(data)
                self.counters.messages += 1
                await self._receive(message)
                async with self._changed:
                    self._changed.notify_all()
        except websockets.ConnectionClosed:
            pass

    async def _receive(self, message: ForwardMsg) -> None:
        kind = message.WhichOneof("type")
        if kind == "new_session":
            self._run_started(message)
        elif kind == "delta":
            self._delta(message)
        elif kind == "script_finished":
            await self._run_finished(message)
        elif kind == "auto_rerun":
            self._schedule(message.auto_rerun.fragment_id, message.auto_rerun.interval)
        elif kind == "stop_auto_rerun":
            for fragment in message.stop_auto_rerun.fragment_ids:
                self._stop_timer(fragment)
        elif kind == "page_info_changed":
            self.query = message.page_info_changed.query_string
        elif kind == "navigation":
            self._navigated(message.navigation)
        elif kind == "page_not_found":
            self.counters.errors.append(f"page not found: {message.page_not_found.page_name!r}")

    def _run_started(self, message: ForwardMsg) -> None:
        run = message.metadata.run
        self._run_id = run.script_run_id
        self._started[run.script_run_id] = (time.monotonic(), tuple(run.fragment_ids))
        if run.fragment_ids:
            return
        self.full_starts.append(time.monotonic())
        for _interval, task in self._timers.values():  # a full run: the frontend drops every fragment timer
            task.cancel()
        self._timers.clear()
        self._seen = set()

    def _navigated(self, navigation) -> None:
        """The app's pages and the one this run shows (a new page's main area starts empty)."""
        self.pages = {page.url_pathname: page.page_script_hash for page in navigation.app_pages}
        if navigation.page_script_hash != self.page_hash:
            self.page_hash = navigation.page_script_hash
            self.path = next((path for path, hash_ in self.pages.items() if hash_ == self.page_hash), self.path)
            self.nodes = {path: node for path, node in self.nodes.items() if path[0] != 0}

    def _delta(self, message: ForwardMsg) -> None:
        delta, path = message.delta, tuple(message.metadata.delta_path)
        run_id = self._run_id
        kind = delta.WhichOneof("type")
        if kind == "new_element":
            element = delta.new_element
            self.nodes = {p: n for p, n in self.nodes.items() if p[:len(path)] != path}  # replaces a subtree
            self.nodes[path] = Node(element.WhichOneof("type"), element_text(element), run_id, delta.fragment_id)
            error = element_error(element)
            if error:
                self.counters.errors.append(f"{self.path or 'home'}: {error}")
            widget = element_widget(element)
            key = key_of(widget.id) if widget else None
            if key is not None:
                self.widgets[key] = widget
                self._seen.add(widget.id)
        elif kind == "add_block":
            self.nodes[path] = Node("block", "", run_id, delta.fragment_id)

    async def _run_finished(self, message: ForwardMsg) -> None:
        run_id, status = message.metadata.run.script_run_id, STATUS[message.script_finished]
        started, fragments = self._started.pop(run_id, (time.monotonic(), tuple(message.metadata.run.fragment_ids)))
        run = Run(run_id, fragments, started, time.monotonic(), status)
        self.runs.append(run)
        if status == SUCCESS and not fragments:  # what this run did not draw is gone (the frontend's stale nodes)
            self.nodes = {p: n for p, n in self.nodes.items() if n.run_id == run_id}
            self.values = {id_: v for id_, v in self.values.items() if id_ in self._seen}
            self.widgets = {key: w for key, w in self.widgets.items() if w.id in self._seen}
        elif status == FRAGMENT_SUCCESS:
            self.nodes = {p: n for p, n in self.nodes.items() if n.fragment not in fragments or n.run_id == run_id}
        for watcher in self.on_finish:
            watcher(run)
        if status == SUCCESS and not fragments:
            await self.handshake()

    def _schedule(self, fragment: str, interval: float) -> None:
        """A fragment's run_every timer, as the frontend's setInterval (kept when the same interval comes again)."""
        if fragment in self._timers and self._timers[fragment][0] == interval:
            return
        self._stop_timer(fragment)
        self._timers[fragment] = (interval, asyncio.create_task(self._tick(fragment, interval)))

    def _stop_timer(self, fragment: str) -> None:
        interval_task = self._timers.pop(fragment, None)
        if interval_task is not None:
            interval_task[1].cancel()

    async def _tick(self, fragment: str, interval: float) -> None:
        while True:
            await asyncio.sleep(interval)
            self.counters.ticks += 1
            await self.send(fragment=fragment, auto=True)

    @property
    def timers(self) -> dict[str, float]:
        """The fragment timers running now: fragment id -> interval (s)."""
        return {fragment: interval for fragment, (interval, _task) in self._timers.items()}
