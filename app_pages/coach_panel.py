"""The Train page's coach: after a finished run, one short diagnosis (core.training.coach, through Lab.coach), a
button that applies its fix and trains again, and after that run whether the fix helped beyond the noise.

Nothing trains here until the learner clicks. The panel keeps only a label and a hash in the session state (the
settings live in the Lab)."""

from __future__ import annotations

import streamlit as st

from app_pages.common.session import classroom, get_lab, session
from app_pages.common.training import forget_training_widgets
from app_pages.common.ui import literal
from core.lab import Lab
from core.training.coach import Advice
from core.url.state import apply_locks

FIXED = "coach.fixed"  # (the fix's button label, hash of the settings it trained): the run a click started
PROBLEM = "coach.problem"  # why the fix could not train, shown once
ARCH_PREFIX = "train.arch."  # the Train page's architecture widgets (drawn again from the lab after a fix)


def _forget_settings_widgets() -> None:
    """The Train page's settings widgets start again from the lab's settings; its toggles keep their state."""
    forget_training_widgets()
    for key in [k for k in st.session_state if str(k).startswith(ARCH_PREFIX)]:
        del st.session_state[key]


def apply_fix(advice: Advice) -> None:
    """The fix button's callback: the advice's settings made current and trained now (the click is the consent)."""
    lab = get_lab()
    _forget_settings_widgets()
    try:
        lab.apply(advice.fix, train="always")
    except ValueError as exc:  # over the run budget, data that cannot load, a failed run: said in one line
        st.session_state[PROBLEM] = str(exc)
        return
    st.session_state[FIXED] = (advice.fix_label, hash(advice.fix))


def _locked_by_link(advice: Advice) -> bool:
    """True when the fix would change a setting the teacher's link locks (the lock would undo it)."""
    room, link = classroom(), session().locked
    return bool(room.lock) and link is not None and apply_locks(advice.fix, link, room.lock) != advice.fix


def _fix_run_label(lab: Lab) -> str | None:
    """The fix's label when the current run is the one its button trained, else None."""
    fixed, trained = st.session_state.get(FIXED), lab.trained_settings
    return fixed[0] if fixed and trained is not None and hash(trained) == fixed[1] else None


def _diagnosis(advice: Advice) -> None:
    """The diagnosis in a few sentences and the one button that fixes it."""
    st.warning(literal(advice.message), icon=":material/lightbulb:")
    if _locked_by_link(advice):
        st.caption("The link you opened locks the setting this fix changes, so it cannot be applied here.")
        return
    st.button(f"Fix it: {advice.fix_label}", key="coach.fix", on_click=apply_fix, args=(advice,),
              icon=":material/auto_fix_high:", help="Applies this one change and trains again. Then the coach "
                                                    "says whether it helped, beyond the noise or not.")


def coach_panel(lab: Lab) -> None:
    """The coach on the last finished run; nothing while a run goes on, before any run or for an uploaded model."""
    problem = st.session_state.pop(PROBLEM, None)
    if problem:
        st.error(f"The fix could not train: {problem}", icon=":material/error:")
    if lab.training or lab.result is None or lab.from_file:
        return
    try:
        advice, verdict = lab.coach()
    except (ValueError, RuntimeError) as exc:  # a model that cannot read its own data: say so, never a traceback
        st.caption(f"The coach cannot read this run: {exc}")
        return
    with st.container(border=True, key="coach"):
        st.markdown("**:material/school: Coach**")
        fix = _fix_run_label(lab)
        if fix is not None and verdict is not None:
            show = st.success if verdict.outcome == "helped" else st.info
            show(literal(verdict.describe(f"the fix “{fix}”")), icon=":material/compare_arrows:")
        elif fix is not None:
            st.info(literal(f"The fix “{fix}” trained, but its run has no validation accuracy to compare."))
        elif verdict is not None:
            st.caption(literal(verdict.describe("compared with the run before")))
        if advice is None:
            st.caption("Nothing to fix in this run: it learned what these settings allow.")
        else:
            _diagnosis(advice)
