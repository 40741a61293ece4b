"""The Sweep page's seed spread: "Train 5 seeds" trains the current settings five times, differing only by seed,
and shows how far the validation accuracy moves by chance beside the interval the validation split alone gives."""

from __future__ import annotations

import streamlit as st

from app_pages.common.polling import polled
from app_pages.common.ui import friendly_errors, percent
from core.config import RunOptions
from core.lab import Lab
from core.plots.seeds import seed_spread_figure
from core.sweep.seeds import SEEDS, SeedSpread, SeedSpreadJob


def seed_spread_section(lab: Lab) -> None:
    """The heading, the "Train 5 seeds" button, then the running spread's progress or its figure and numbers."""
    st.subheader("Is a difference real? Train with other seeds")
    st.caption(f"Trains the current settings {SEEDS} times, changing only the seeds (shuffle order and starting "
               "weights; the data split stays). 2-D networks train together as one batched model.")
    job = lab.seeds  # kept with the Lab in the session store, so a reload finds it
    if st.button(f"Train {SEEDS} seeds", key="seeds.train", disabled=(job is not None and not job.done)
                 or lab.settings is None, icon=":material/stacked_line_chart:"):
        with friendly_errors("The seed spread could not start"):
            job = lab.seeds = SeedSpreadJob(lab.settings, lab.require_data(), options=RunOptions(threads=lab.threads),
                                            budget=lab.budget).start()
    if job is not None:
        running = not job.done
        polled(lambda: _progress(job, lab, running), every=0.5 if running else None)  # app_pages.common.polling


def _progress(job: SeedSpreadJob, lab: Lab, running: bool) -> None:
    """Polled twice a second while the seeds train; once they are done, the whole page runs again (so the
    polling stops and the button comes back), then shows the spread."""
    if not job.done:
        st.info(f"Training {SEEDS} seeds…", icon=":material/hourglass_top:")
        return
    if running:
        st.rerun()
    if job.error is not None:
        st.error(f"The seed spread failed: {job.error}", icon=":material/error:")
        return
    if job.settings != lab.settings:
        st.caption("These seeds were trained with earlier settings: press the button again for the current ones.")
    _show(job.spread)


def _show(spread: SeedSpread) -> None:
    """The band figure and the sentence that compares the seeds' spread with one run's 95% interval."""
    low, high = spread.interval
    st.plotly_chart(seed_spread_figure(spread.val_acc, spread.final, seeds=spread.seeds, interval=spread.interval),
                    key="seeds.figure")
    st.markdown(f"**Final validation accuracy over {len(spread.seeds)} seeds:** mean {percent(spread.mean)}, "
                f"standard deviation {100 * spread.sd:.1f} points (from {percent(spread.final.min())} to "
                f"{percent(spread.final.max())}). **One run's 95% interval** from {spread.n_val:,} validation points "
                f"alone: {percent(low)} to {percent(high)}. A change smaller than both is within the noise.")
