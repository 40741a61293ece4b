"""Start the dashboard warm: `python serve.py [streamlit run options]`, as `make run` does.

`streamlit run` runs nothing before the first session, so the first visit after a start imported torch, Plotly,
scikit-learn and the pages and trained the Home page's example: about 13 s, usually for the teacher checking the
room. Here that work is done first, in this process, and Streamlit is started after it: the server's health check
answers only once it is warm, and the first visitor waits no longer than the next.
"""

from __future__ import annotations

import sys
import time


def warm_up() -> float:
    """Import what every page needs, open the run history and train the Home page's example; seconds taken."""
    start = time.perf_counter()
    # What core imports only on first use (Inside's and Predict's attributions: captum and matplotlib, 1.7 s; the
    # first MNIST load: torchvision, 1.2 s): a visit that imported them held the interpreter lock meanwhile, and
    # every other student's slider move waited. Then the pages' shared modules, and through them torch and Plotly.
    import captum.attr  # noqa: F401
    import confusable_homoglyphs.confusables  # noqa: F401  (the board's look-alike letters, built below)
    import sklearn.linear_model  # noqa: F401  (the diagnosis's best straight line, for a linear run that failed)
    import torchvision.datasets  # noqa: F401

    import app_pages.common.inside  # noqa: F401
    import app_pages.common.session  # noqa: F401
    import app_pages.common.training  # noqa: F401
    from core.history.board_limits import skeleton
    from core.history.db import shared_engine
    from core.lessons import load_lessons
    from core.showcase import example_run

    shared_engine()  # the history database opened (and migrated) once, as the first session would
    example_run()  # kept for the process: the Home page only sends its figure
    load_lessons()  # read and checked once per process (Home lists them): 0.3 to 0.7 s of the first visit
    skeleton("")  # the board's table of look-alike letters, read once: about 1 s of the first nickname check
    return time.perf_counter() - start


def main(options: list[str]) -> None:
    """Warm up, then hand over to Streamlit's own command line: `streamlit run app.py *options`."""
    seconds = warm_up()
    print(f"NN Lab: warmed up in {seconds:.1f} s; starting the server.", file=sys.stderr, flush=True)
    from streamlit.web import cli

    sys.argv = ["streamlit", "run", "app.py", *options]
    cli.main()


if __name__ == "__main__":
    main(sys.argv[1:])
