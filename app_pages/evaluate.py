"""Evaluate page: the final score on the held-out test split, the confusion matrix, per-class table, mistakes."""

from __future__ import annotations

import numpy as np
import streamlit as st

from app_pages.common.session import get_lab
from app_pages.common.ui import accuracy_card, count, percent, require
from app_pages.common.widgets import boundary_toggles
from core import plots
from core.evaluate import Metrics, class_curves, confused_pairs, majority_class, misclassified, train_test_gap
from core.export.files import history_csv, predictions_csv, run_script
from core.lab import Lab

OVERFIT_GAP = 0.02  # test this far below train (2 points) is worth a word
REPORT_HELP = {  # the per-class table's columns, scikit-learn's names, for a beginner
    "precision": "Of the test points the model called this class, the share that are of it.",
    "recall": "Of the test points of this class, the share the model called it.",
    "f1-score": "Precision and recall in one number (their harmonic mean): high only when both are.",
    "support": "How many test points are of this class. The last rows average over the classes: 'macro' counts "
               "each class once, 'weighted' by its support.",
}


def take_it_home(lab: Lab, test: Metrics) -> None:
    """Every download of this run in one place: the model file, the CSVs and the script that reproduces it."""
    files = [("The trained model (.pt)", lab.model_file, "nnlab-model.pt", "application/octet-stream", "model"),
             ("Per-class metrics (CSV)", test.report.to_csv().encode(), "per_class_metrics.csv", "text/csv", "csv"),
             ("Predictions on the test split (CSV)", lambda: predictions_csv(test), "test_predictions.csv",
              "text/csv", "predictions")]
    if lab.result is not None and lab.result.history:
        files.append(("Training history, epoch by epoch (CSV)", lambda: history_csv(lab.result.history),
                      "training_history.csv", "text/csv", "history"))
    try:
        script = run_script(lab.data_config, lab.data, lab.model_config, lab.train_config, device=lab.device)
        files.append(("PyTorch script that reproduces this run (.py)", script.encode(), "nnlab_run.py",
                      "text/x-python", "script"))
    except ValueError as exc:
        st.caption(f"No standalone script for this run: {exc}")
    # Callables are written only when their button is clicked. A click does not run the page again ("ignore"): with
    # a rerun, a file written on demand was lost now and then, its button left spinning for good (Chromium, 7
    # December 2026: the second round of clicks in the same popover).
    for label, data, name, mime, key in files:
        st.download_button(label, data, name, mime, key=f"evaluate.{key}", width="stretch", on_click="ignore")
    if not lab.data.is_image:
        st.caption("The replay as an animated GIF: Train page, under *Watch it learn*.")


lab = get_lab()
st.title("Evaluate")
require(lab.data is not None, "Pick a dataset first.", "data", "Go to the Data page")
lab.poll()
if lab.result is not None and lab.result.failed_to_learn:  # diverged (no model), stalled or not learning
    st.warning(lab.result.message, icon=":material/warning:")
require(lab.model is not None, "Nothing to evaluate yet: train a model first.", "train", "Go to the Train page")
data = lab.data
with st.spinner("Scoring the model on every split…"):
    evaluation = lab.evaluation()
train, validation, test = evaluation.train, evaluation.validation, evaluation.test
majority = majority_class(data.y_train)

st.caption("The **test** split was never used in training, for the curves or to choose when to stop: this is the "
           "honest score. Each accuracy comes with its 95% interval on that many points.")
cards = st.columns(4)
accuracy_card(cards[0], "Test accuracy", test.accuracy, test.n_samples, baseline=test.baseline(majority))
if validation is not None:
    accuracy_card(cards[1], "Validation", validation.accuracy, validation.n_samples)
accuracy_card(cards[2], "Train (its labels)" if data.n_flipped else "Train", train.accuracy, train.n_samples)
cards[3].metric("Macro F1 · test", f"{test.f1_macro:.3f}",
                help="The mean over classes of the F1 score: a class the model neglects pulls it down.")
if data.n_flipped:  # label noise: train is scored against the labels the model was given, flipped ones included
    st.info(f"Label noise: {count(data.n_flipped, 'training label')} of {len(data.y_train):,} were flipped to a wrong "
            f"class on purpose. **Train** scores the model against the labels it was trained on; against the true "
            f"labels it gets {percent(evaluation.train_true.accuracy)}. Validation and test labels were not touched.",
            icon=":material/shuffle:")
gap = -train_test_gap(train, test)["accuracy"]  # how far test accuracy falls below train
if gap > OVERFIT_GAP:
    st.info(f"Test accuracy is {100 * gap:.1f} points below train accuracy: the model has partly memorised its "
            "training points (overfitting). More data, fewer units, weight decay or early stopping narrow the gap.",
            icon=":material/info:")

# The matrix, then the table, each the page's width: side by side (as they were for up to 4 classes), the table
# showed only a cut "precisi…" column at 1024 px, its recall, F1 and support behind a sideways scroll.
left, right = st.container(), st.container()
with left:
    normalized = st.toggle("Normalise by true class", value=False, key="evaluate.normalized")
    matrix = test.confusion_normalized if normalized else test.confusion
    st.plotly_chart(plots.confusion_figure(matrix, data.class_names, normalized=normalized), key="evaluate.cm")
with right:
    # Every row shown (at most ten classes and three summaries): a computed height cut the fifth row in half.
    st.dataframe(test.report, width="stretch", key="evaluate.report", height="content",
                 column_config={"_index": st.column_config.Column(width="medium")} | {
                     name: st.column_config.NumberColumn(name, format="%.3f", width="small", help=REPORT_HELP[name])
                     for name in ("precision", "recall", "f1-score")} | {
                     "support": st.column_config.NumberColumn("support", help=REPORT_HELP["support"])})
    with st.popover("Take it home", icon=":material/download:"):
        take_it_home(lab, test)
    roc, pr = test.roc, test.pr
    if roc is None and data.n_classes > 2:  # one class against the rest, for the class the user picks
        positive = st.selectbox("ROC and precision-recall for class (against all the others)",
                                range(data.n_classes), format_func=lambda c: data.class_names[c],
                                key="evaluate.roc_class")
        roc, pr = class_curves(test.y_true, test.proba, positive)
    if roc is not None:
        roc_tab, pr_tab = st.tabs(["ROC curve", "Precision-recall curve"])
        roc_tab.plotly_chart(plots.roc_figure(roc.fpr, roc.tpr, roc.auc), key="evaluate.roc")
        pr_tab.plotly_chart(plots.pr_figure(pr.recall, pr.precision, pr.average_precision), key="evaluate.pr")

wrong = misclassified(test)
st.subheader(f"Mistakes on the test split: {len(wrong):,} of {count(test.n_samples, 'point')}")
if data.is_image:
    shown = wrong.head(24)
    if len(shown):
        titles = [f"{data.class_names[t]}→{data.class_names[p]} ({c:.0%})"
                  for t, p, c in zip(shown["true"], shown["predicted"], shown["confidence"])]
        st.plotly_chart(plots.image_grid_figure(lab.pixels(data.X_test[shown["index"].to_numpy()]), titles,
                                                columns=8), key="evaluate.gallery")
    st.markdown("**Most confused pairs**")
    pairs = confused_pairs(test)[["true_name", "predicted_name", "count", "share"]]
    st.dataframe(pairs.rename(columns={"true_name": "true", "predicted_name": "predicted as"}), hide_index=True,
                 key="evaluate.pairs", column_config={"share": st.column_config.ProgressColumn(
                     "share of the true class", format="percent", min_value=0, max_value=1)})
else:
    mask = np.zeros(len(data.y_test), dtype=bool)
    mask[wrong["index"].to_numpy()] = True
    discretize, _ = boundary_toggles("evaluate", test_points=False)  # the test points are this chart's points
    st.plotly_chart(plots.boundary_figure(lab.boundary(), data.X_test, data.y_test, data.class_names,
                                          misclassified=mask, units=data.units, discretize=discretize,
                                          title="Test points on the boundary (✕ = wrong)"),
                    key="evaluate.boundary")
st.caption(f"Always guessing the largest class ({data.class_names[majority]}) would score "
           f"{percent(test.baseline(majority))} on the test split.")
