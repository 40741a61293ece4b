"""Evaluate page: metric cards, confusion matrix, per-class table, curves and the mistakes."""

from __future__ import annotations

import numpy as np
import streamlit as st

from core import plots
from core.data import to_pixels
from core.evaluate import confused_pairs, misclassified
from pages.common.state import get_lab
from pages.common.ui import percent, require

OVERFIT_GAP = 0.02  # test this far below train (2 points) is worth a red flag

lab = get_lab()
st.title("Evaluate")
require(lab.data is not None, "Pick a dataset first.", "data", "Go to the Data page")
lab.poll()
if lab.result is not None and lab.result.failed_to_learn:  # diverged (no model) or stalled (a useless one)
    st.warning(lab.result.message, icon=":material/warning:")
require(lab.model is not None, "Nothing to evaluate yet: train a model first.", "train", "Go to the Train page")
data = lab.data
evaluation = lab.evaluation()
train, test = evaluation.train, evaluation.test

cards = [("Accuracy", test.accuracy, train.accuracy), ("Precision (macro)", test.precision_macro,
         train.precision_macro), ("Recall (macro)", test.recall_macro, train.recall_macro),
         ("F1 (macro)", test.f1_macro, train.f1_macro)]
for column, (label, on_test, on_train) in zip(st.columns(4), cards):
    column.metric(f"{label} · test", percent(on_test), f"{100 * (on_test - on_train):+.1f} pts vs train",
                  # Grey while test keeps up with train; red when it falls behind by more (overfitting).
                  delta_color="off" if on_test >= on_train - OVERFIT_GAP else "normal")

left, right = st.columns(2, gap="large")
with left:
    normalized = st.toggle("Normalise by true class", value=False, key="evaluate.normalized")
    matrix = test.confusion_normalized if normalized else test.confusion
    st.plotly_chart(plots.confusion_figure(matrix, data.class_names, normalized=normalized), key="evaluate.cm")
with right:
    st.dataframe(test.report, width="stretch", key="evaluate.report")
    st.download_button("Download per-class metrics (CSV)", test.report.to_csv().encode(), "per_class_metrics.csv",
                       "text/csv", key="evaluate.csv")
    if test.roc is not None:
        roc_tab, pr_tab = st.tabs(["ROC curve", "Precision-recall curve"])
        roc_tab.plotly_chart(plots.roc_figure(test.roc.fpr, test.roc.tpr, test.roc.auc), key="evaluate.roc")
        pr_tab.plotly_chart(plots.pr_figure(test.pr.recall, test.pr.precision, test.pr.average_precision),
                            key="evaluate.pr")

wrong = misclassified(test)
st.subheader(f"Mistakes on the test set: {len(wrong)} of {test.n_samples}")
if data.is_image:
    shown = wrong.head(24)
    if len(shown):
        titles = [f"{data.class_names[t]}→{data.class_names[p]} ({c:.0%})"
                  for t, p, c in zip(shown["true"], shown["predicted"], shown["confidence"])]
        st.plotly_chart(plots.image_grid_figure(to_pixels(data.X_test[shown["index"].to_numpy(), 0]), titles,
                                                columns=8), key="evaluate.gallery")
    st.markdown("**Most confused pairs**")
    pairs = confused_pairs(test)[["true_name", "predicted_name", "count", "share"]]
    st.dataframe(pairs.rename(columns={"true_name": "true", "predicted_name": "predicted as"}), hide_index=True,
                 key="evaluate.pairs", column_config={"share": st.column_config.ProgressColumn(
                     "share of the true class", format="percent", min_value=0, max_value=1)})
else:
    mask = np.zeros(len(data.y_test), dtype=bool)
    mask[wrong["index"].to_numpy()] = True
    st.plotly_chart(plots.boundary_figure(lab.boundary(), data.X_test, data.y_test, data.class_names,
                                          misclassified=mask, title="Test points on the boundary (✕ = wrong)"),
                    key="evaluate.boundary")
