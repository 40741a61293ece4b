"""The Train page's coach: after a finished run, one short diagnosis (core.training.coach, through Lab.coach), a
button that applies its fix and trains again, and after that run whether the fix helped beyond the noise.

Nothing trains here until the learner clicks. The panel keeps only a label and a hash in the session state (the
settings live in the Lab)."""

from __future__ import annotations

import streamlit as st

from app_pages.common.session import get_lab, link_locks
from app_pages.common.training import WEIGHT_DECAYS
from app_pages.common.ui import literal, nearest
from core.config import Settings
from core.lab import Lab
from core.training.coach import Advice
from core.training.presets import LEARNING_RATES
from core.training.verdict import Verdict, unscored

FIXED = "coach.fixed"  # (the fix's label, hash of the settings it trained, its rule): the run a click started
PROBLEM = "coach.problem"  # why the fix could not train, shown once


def _widget_values(fix: Settings, *, points: bool) -> dict[str, object]:
    """The Train page's widgets a fix can move, each at the fix's value. Set through the session state, so the
    browser shows them too (a widget whose key is only dropped keeps showing its old value there)."""
    train, model = fix.train, fix.model
    values: dict[str, object] = {"train.lr": nearest(LEARNING_RATES, train.lr), "train.epochs": train.epochs,
                                 "train.patience": train.patience,
                                 "train.wd": nearest(WEIGHT_DECAYS, train.weight_decay)}
    if points:  # the architecture's widgets are on the Train page for 2-D points only (hidden layers follow the lab)
        values.update({"train.arch.activation": model.activation, "train.arch.features": list(model.features)})
    return values


def apply_fix(advice: Advice) -> None:
    """The fix button's callback: the advice's settings made current and trained now (the click is the consent)."""
    lab = get_lab()
    try:
        lab.apply(advice.fix, train="always")
    except ValueError as exc:  # over the run budget, data that cannot load, a failed run: said in one line
        st.session_state[PROBLEM] = str(exc)
        return
    finally:  # the controls show the settings now current, whether or not the run could start
        if lab.settings is not None and lab.data is not None:
            st.session_state.update(_widget_values(lab.settings, points=not lab.data.is_image))
    st.session_state[FIXED] = (advice.fix_label, hash(advice.fix), advice.rule)


def _fix_run(lab: Lab) -> tuple[str, str] | None:
    """(the fix's label, the rule it fixed) when the current run is the one its button trained, else None."""
    fixed, trained = st.session_state.get(FIXED), lab.trained_settings
    if not fixed or trained is None or hash(trained) != fixed[1]:
        return None
    return fixed[0], (*fixed, "")[2]  # a session from before the rule was kept has none


def _diagnosis(advice: Advice) -> None:
    """The diagnosis in a few sentences and the one button that fixes it."""
    st.markdown(f":material/lightbulb: {literal(advice.message)}")  # plain text: the run's own warnings come first
    if advice.locked:
        st.caption("The link you opened locks the setting this fix changes, so it cannot be applied here.")
        return
    st.button(f"Fix it: {advice.fix_label}", key="coach.fix", on_click=apply_fix, args=(advice,),
              icon=":material/auto_fix_high:", help="Applies this one change and trains again. Then the coach "
                                                    "says whether it helped, beyond the noise or not.")


def _fix_verdict(fix: tuple[str, str], verdict: Verdict | None, lab: Lab) -> None:
    """Whether the fix's run did better than the run it fixed, beyond the noise or not (or which has no score)."""
    what, rule = f"the fix “{fix[0]}”", fix[1]
    if verdict is None:
        said = unscored(what, lab.result, before_diverged=rule == "diverged")
        st.info(literal(said), icon=":material/compare_arrows:")
        return
    show = st.success if verdict.outcome == "helped" else st.info
    show(literal(verdict.describe(what)), icon=":material/compare_arrows:")


def _quiet_line(verdict: Verdict | None) -> str:
    """A healthy run's one line: nothing to fix, and how it compares with the run before."""
    line = "Coach: nothing to fix in this run."
    if verdict is not None:
        line += (f" Against the run before: validation {verdict.before.describe()} → {verdict.after.describe()}, "
                 f"{verdict.outcome}.")
    return literal(line)


def coach_panel(lab: Lab) -> None:
    """The coach on the last finished run; nothing while a run goes on, before any run or for an uploaded model."""
    lab.poll()  # a run a worker has just finished becomes the lab's
    problem = st.session_state.pop(PROBLEM, None)
    if problem:
        st.error(f"The fix could not train: {problem}", icon=":material/error:")
    if lab.training or lab.result is None or lab.from_file:
        return
    try:
        advice, verdict = lab.coach(link_locks())  # never a fix that the link's locks would undo
    except (ValueError, RuntimeError) as exc:  # a model that cannot read its own data: say so, never a traceback
        st.caption(f"The coach cannot read this run: {exc}")
        return
    fix = _fix_run(lab)
    if advice is None and fix is None:
        st.caption(f":material/school: {_quiet_line(verdict)}")
        return
    with st.container(border=True, key="coach"):
        st.markdown("**:material/school: Coach**")
        if fix is not None:
            _fix_verdict(fix, verdict, lab)
        if advice is None:
            st.caption("Nothing more to fix in this run.")
        else:
            _diagnosis(advice)
