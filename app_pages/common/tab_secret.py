"""This browser tab's secret: what a session belongs to. A random value in the tab's sessionStorage, made and
reported by a small component of our own (tab_secret.js beside this file); it never appears in a URL.

A reload, Back or Forward in the tab reports the same secret, so the session finds its work again; a new tab,
another browser, or the same browser after the tab was closed reports a new one. Until the tab has reported,
`secret()` is None: the page shows "Loading…" and ends (one extra rerun on arrival). Only the secret's sha256
(`owner_hash`) is kept with the session's store entry.

Under AppTest there is no browser: the tab is simulated by st.session_state[TEST_SECRET] (absent: the one test tab,
APPTEST_SECRET, so a new AppTest with the same s= is a reload; tests/conftest.py gives each test its own; None: a
tab that has not reported yet). Nothing from the URL
is ever read here.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from pathlib import Path

import streamlit as st
from streamlit import config

KEY = "tab.secret"  # the component's key (its box: .st-key-tab-secret); its state holds the reported secret
ACCEPTED = "tab.accepted"  # the secret this Streamlit session has taken as its tab's
RESET = "tab.reset"  # a value sent once to the tab to replace its secret ("End my session")
FORGOTTEN = "tab.forgotten"  # the hash of the secret just replaced: still reported until the tab answers
TEST_SECRET = "tab.test_secret"  # AppTest only: the simulated tab's secret (see the module docstring)
APPTEST_SECRET = "apptest-shared-tab-secret-0000000000000000"  # the one test tab when a test sets none
SHAPE = re.compile(r"[A-Za-z0-9_-]{43}")  # 32 random bytes, base64url without padding (as tab_secret.js makes)
KEEP = (KEY, RESET, FORGOTTEN, TEST_SECRET)  # what "End my session" leaves in st.session_state

_tab = st.components.v2.component("nnlab_tab_secret", js=Path(__file__).with_name("tab_secret.js").read_text(),
                                  css=".st-key-tab-secret { display: none; }", isolate_styles=False)


def hash_secret(secret: str) -> str:
    """The sha256 of a tab's secret, as the store keeps it (the secret itself is never stored)."""
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def _under_apptest() -> bool:
    """AppTest sets this hidden option for its runs (patching config.get_option, not st.get_option)."""
    return config.get_option("global.appTest") is True


def _reported(value: object) -> str | None:
    """A reported secret of the right shape that is not the one just forgotten; else None."""
    if not isinstance(value, str) or not SHAPE.fullmatch(value):
        return None
    return None if hash_secret(value) == st.session_state.get(FORGOTTEN) else value


def secret() -> str | None:
    """This tab's secret (mounting the component, which must run on every page run); None until reported."""
    data = {"have": ACCEPTED in st.session_state, "reset": st.session_state.get(RESET)}
    result = _tab(key=KEY, data=data, on_secret_change=_ignore, height="content")
    value = st.session_state.get(TEST_SECRET, APPTEST_SECRET) if _under_apptest() else _reported(result.get("secret"))
    if value is None:
        # st.switch_page reruns without the widgets' states, so the component's report is gone; the tab, told it
        # is known (data.have), sends nothing again. This Streamlit session is that same tab (one connection), so
        # the secret it accepted stands; forget() drops it when the tab is to make a new one.
        return st.session_state.get(ACCEPTED)
    st.session_state[ACCEPTED] = value
    return value


def _ignore() -> None:
    """The component's state callback: the page reads the state itself."""


def current() -> str | None:
    """The secret this session has taken from its tab (without mounting the component again)."""
    return st.session_state.get(ACCEPTED)


def owner_hash() -> str | None:
    """The hash of this tab's secret, as stored with the session's token; None before the tab has reported."""
    value = current()
    return hash_secret(value) if value is not None else None


def forget() -> None:
    """Drop this tab's secret: the tab is told to make a new one, and until it reports, the old one is refused."""
    old = current()
    if old is not None:
        st.session_state[FORGOTTEN] = hash_secret(old)
    st.session_state[RESET] = secrets.token_urlsafe(16)
    st.session_state.pop(ACCEPTED, None)
    if _under_apptest():  # no browser to answer: the simulated tab makes its new secret at once
        st.session_state[TEST_SECRET] = secrets.token_urlsafe(32)


def wait() -> None:
    """The run before the tab has reported: a small "Loading…", and nothing else is built (ends the run)."""
    st.caption("Loading…")
    st.stop()
