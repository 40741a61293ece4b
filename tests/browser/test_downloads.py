"""Evaluate's "Take it home": every download arrives, click after click, in real Chromium.

A click on a download button used to run the page again; a file written on demand (a callable) was then lost now and
then, and its button stayed disabled with a spinner for good (exploratory QA, 7 December 2026: the third of three
clicks in the popover, three times out of three; in this test, 3 runs out of 3). The buttons no
longer rerun the page (`on_click="ignore"`).
"""

from __future__ import annotations

from playwright.sync_api import Page
from playwright.sync_api import TimeoutError as NoDownload

from tests.browser.helpers import WAIT_MS, go_to

FILES = {"The trained model (.pt)": "nnlab-model.pt", "Per-class metrics (CSV)": "per_class_metrics.csv",
         "Predictions on the test split (CSV)": "test_predictions.csv",
         "Training history, epoch by epoch (CSV)": "training_history.csv"}
ROUNDS = 3
PAUSE_MS = 2000  # between two clicks, as a person reads what arrived


def test_every_download_arrives_click_after_click(page: Page) -> None:
    go_to(page, "Evaluate")
    missing = []
    for round_ in range(ROUNDS):
        page.get_by_role("button", name="Take it home").click()
        for label, name in FILES.items():
            button = page.get_by_role("button", name=label)
            try:
                with page.expect_download(timeout=WAIT_MS // 2) as download:  # 15 s
                    button.click()
                assert download.value.suggested_filename == name
            except NoDownload:
                missing.append(f"round {round_ + 1}: {label} (button disabled: {button.is_disabled()})")
            page.wait_for_timeout(PAUSE_MS)
        page.keyboard.press("Escape")
    assert not missing, missing
