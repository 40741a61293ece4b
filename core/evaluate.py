"""Evaluation: scikit-learn metrics of a classifier's probabilities, its mistakes and confusions."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn import metrics as skm
from torch import nn

from core.models import predict_proba

HEADLINE = ("accuracy", "precision_macro", "recall_macro", "f1_macro")
REPORT_COLUMNS = ("precision", "recall", "f1-score", "support")
SUM_TOLERANCE = 1e-3  # softmax rows in float32 sum to 1 within ~1e-6; anything further off is not proba


@dataclass(frozen=True, eq=False)
class RocCurve:
    """ROC curve of the positive class (index 1) of a two-class problem."""

    fpr: np.ndarray
    tpr: np.ndarray
    thresholds: np.ndarray
    auc: float


@dataclass(frozen=True, eq=False)
class PrCurve:
    """Precision-recall curve of the positive class (index 1) of a two-class problem."""

    precision: np.ndarray
    recall: np.ndarray
    thresholds: np.ndarray
    average_precision: float


@dataclass(frozen=True, eq=False)
class Metrics:
    """Everything measured on one split. Per-class arrays are indexed by label 0..n_classes-1.

    `roc` and `pr` exist only for two-class problems whose y_true holds both classes.
    """

    accuracy: float
    precision: np.ndarray  # (n_classes,) float
    recall: np.ndarray  # (n_classes,) float
    f1: np.ndarray  # (n_classes,) float
    support: np.ndarray  # (n_classes,) int: true samples per class
    precision_macro: float
    recall_macro: float
    f1_macro: float
    confusion: np.ndarray  # (n_classes, n_classes) int; rows = true, columns = predicted
    confusion_normalized: np.ndarray  # rows sum to 1; a class with no samples is a row of zeros
    report: pd.DataFrame  # index: class names + "macro avg", "weighted avg"; columns: REPORT_COLUMNS
    class_names: tuple[str, ...]
    n_samples: int
    y_true: np.ndarray  # (n,) int
    y_pred: np.ndarray  # (n,) int
    proba: np.ndarray  # (n, n_classes) float
    roc: RocCurve | None = None
    pr: PrCurve | None = None

    @property
    def n_classes(self) -> int:
        return len(self.class_names)

    @property
    def accuracy_interval(self) -> tuple[float, float]:
        """95% interval for the accuracy on this many samples (Wilson score)."""
        return accuracy_interval(self.accuracy, self.n_samples)

    def baseline(self, majority_class: int) -> float:
        """Accuracy of always answering `majority_class` (the training split's largest) on this split."""
        return float(np.mean(self.y_true == majority_class))

    def summary(self, majority_class: int | None = None) -> dict[str, object]:
        """The headline numbers as plain Python values (JSON-ready), with the accuracy's 95% interval."""
        out: dict[str, object] = {name: float(getattr(self, name)) for name in HEADLINE}
        out["accuracy_ci95"] = [round(v, 4) for v in self.accuracy_interval]
        if majority_class is not None:
            out["majority_baseline"] = self.baseline(majority_class)
        out["n_samples"] = self.n_samples
        return out


Z95 = 1.959964  # the normal quantile for a two-sided 95% interval


def accuracy_interval(accuracy: float, n: int) -> tuple[float, float]:
    """Wilson 95% interval for a proportion `accuracy` observed on `n` samples (it stays within [0, 1])."""
    if n < 1 or not 0.0 <= accuracy <= 1.0:
        raise ValueError(f"need n >= 1 and accuracy in [0, 1]. Got n={n}, accuracy={accuracy}.")
    z2 = Z95 * Z95
    centre = (accuracy + z2 / (2 * n)) / (1 + z2 / n)
    half = Z95 * np.sqrt(accuracy * (1 - accuracy) / n + z2 / (4 * n * n)) / (1 + z2 / n)
    return float(max(0.0, centre - half)), float(min(1.0, centre + half))


def majority_class(y_train: np.ndarray) -> int:
    """The largest class of the training labels (ties: the lowest label)."""
    return int(np.bincount(np.asarray(y_train)).argmax())


def majority_baseline(y_train: np.ndarray, y: np.ndarray) -> float:
    """Accuracy on labels y of always answering the training labels' largest class."""
    return float(np.mean(np.asarray(y) == majority_class(y_train)))


def _read_only(a: np.ndarray) -> np.ndarray:
    """A private read-only copy, so results handed to the UI cannot be changed in place."""
    out = np.array(a, copy=True)
    out.flags.writeable = False
    return out


def _check_class_names(class_names: Sequence[str]) -> tuple[str, ...]:
    names = tuple(str(name) for name in class_names)
    if len(names) < 2:
        raise ValueError(f"class_names must name at least 2 classes. Got {len(names)}: {list(names)}.")
    if len(set(names)) != len(names):
        raise ValueError(f"class_names must be unique. Got {list(names)}.")
    return names


def _check_inputs(y_true: np.ndarray, proba: np.ndarray, n_classes: int) -> None:
    if y_true.ndim != 1 or not np.issubdtype(y_true.dtype, np.integer):
        raise ValueError(f"y_true must be a 1-D array of integer labels. Got shape {y_true.shape}, "
                         f"dtype {y_true.dtype}.")
    if len(y_true) == 0:
        raise ValueError("There are no samples to evaluate: y_true is empty.")
    if proba.shape != (len(y_true), n_classes):
        raise ValueError(f"proba must have shape (n_samples, n_classes) = ({len(y_true)}, {n_classes}) "
                         f"to match y_true and class_names. Got {proba.shape} instead.")
    if y_true.min() < 0 or y_true.max() >= n_classes:
        raise ValueError(f"Labels in y_true must be between 0 and {n_classes - 1} (one per class name). "
                         f"Got values from {y_true.min()} to {y_true.max()}.")
    if not np.isfinite(proba).all():
        raise ValueError("proba contains NaN or infinite values; the model probably diverged during training. "
                         "Retrain it with a lower learning rate.")
    sums = proba.sum(axis=1)
    if np.abs(sums - 1.0).max() > SUM_TOLERANCE:
        raise ValueError(f"Each row of proba must sum to 1 (softmax probabilities). Got row sums from "
                         f"{sums.min():.4g} to {sums.max():.4g}.")


def _report(y_true: np.ndarray, y_pred: np.ndarray, names: tuple[str, ...]) -> pd.DataFrame:
    """sklearn's classification report as a table: one row per class, then the two averages."""
    report = skm.classification_report(y_true, y_pred, labels=range(len(names)), target_names=names,
                                       output_dict=True, zero_division=0)
    rows = [*names, "macro avg", "weighted avg"]  # drops "accuracy" / "micro avg", which are not per-row
    table = pd.DataFrame.from_dict({row: report[row] for row in rows}, orient="index")
    return table.loc[:, list(REPORT_COLUMNS)].astype({"support": int})


def _binary_curves(y_true: np.ndarray, proba: np.ndarray) -> tuple[RocCurve | None, PrCurve | None]:
    """ROC and PR curves for class 1 of a two-class problem; (None, None) when they are undefined."""
    if proba.shape[1] != 2 or len(np.unique(y_true)) < 2:
        return None, None
    return class_curves(y_true, proba, 1)


def class_curves(y_true: np.ndarray, proba: np.ndarray, positive: int) -> tuple[RocCurve, PrCurve]:
    """One-vs-rest ROC and PR curves of class `positive`: that class against all the others."""
    if not 0 <= positive < proba.shape[1]:
        raise ValueError(f"positive must be a class index from 0 to {proba.shape[1] - 1}. Got {positive}.")
    is_positive = np.asarray(y_true) == positive
    if is_positive.all() or not is_positive.any():
        raise ValueError(f"ROC and PR curves need samples of class {positive} and of other classes in y_true.")
    score = proba[:, positive]
    fpr, tpr, roc_thresholds = skm.roc_curve(is_positive, score)
    precision, recall, pr_thresholds = skm.precision_recall_curve(is_positive, score)
    roc = RocCurve(_read_only(fpr), _read_only(tpr), _read_only(roc_thresholds),
                   float(skm.roc_auc_score(is_positive, score)))
    pr = PrCurve(_read_only(precision), _read_only(recall), _read_only(pr_thresholds),
                 float(skm.average_precision_score(is_positive, score)))
    return roc, pr


def metrics_from_proba(y_true: np.ndarray, proba: np.ndarray, class_names: Sequence[str]) -> Metrics:
    """Every metric for true labels y_true (n,) and class probabilities proba (n, n_classes)."""
    names = _check_class_names(class_names)
    y_true, proba = np.asarray(y_true), np.asarray(proba)
    _check_inputs(y_true, proba, len(names))
    labels = range(len(names))  # every class, even one missing from this split
    y_pred = proba.argmax(axis=1)
    precision, recall, f1, support = skm.precision_recall_fscore_support(
        y_true, y_pred, labels=labels, zero_division=0)
    macro = skm.precision_recall_fscore_support(y_true, y_pred, labels=labels, average="macro", zero_division=0)
    roc, pr = _binary_curves(y_true, proba)
    return Metrics(
        accuracy=float(skm.accuracy_score(y_true, y_pred)),
        precision=_read_only(precision), recall=_read_only(recall), f1=_read_only(f1),
        support=_read_only(support.astype(np.int64)),
        precision_macro=float(macro[0]), recall_macro=float(macro[1]), f1_macro=float(macro[2]),
        confusion=_read_only(skm.confusion_matrix(y_true, y_pred, labels=labels)),
        confusion_normalized=_read_only(skm.confusion_matrix(y_true, y_pred, labels=labels, normalize="true")),
        report=_report(y_true, y_pred, names), class_names=names, n_samples=len(y_true),
        y_true=_read_only(y_true.astype(np.int64)), y_pred=_read_only(y_pred.astype(np.int64)),
        proba=_read_only(proba), roc=roc, pr=pr,
    )


def evaluate_model(model: nn.Module, X: np.ndarray, y: np.ndarray, class_names: Sequence[str], *,
                   batch_size: int | None = None) -> Metrics:
    """Run `model` on X (by default in passes of core.models.inference_batch) and measure its predictions against
    the labels y."""
    if len(X) != len(y):
        raise ValueError(f"X and y must have the same number of samples. Got {len(X)} inputs and {len(y)} labels.")
    if len(y) == 0:
        raise ValueError("There are no samples to evaluate: X and y are empty.")
    if batch_size is not None and batch_size < 1:
        raise ValueError(f"batch_size must be at least 1. Got {batch_size} instead.")
    return metrics_from_proba(np.asarray(y), predict_proba(model, X, batch_size=batch_size), class_names)


def _check_count(name: str, value: int | None) -> None:
    if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 0):
        raise ValueError(f"{name} must be a non-negative integer or None. Got {value!r} instead.")


def misclassified(metrics: Metrics, *, limit: int | None = None) -> pd.DataFrame:
    """The wrong predictions, most confident first: one row per sample, `index` into the split.

    Columns: index, true, predicted (labels), true_name, predicted_name, confidence (probability
    of the predicted class) and true_proba (probability the model gave the right class).
    """
    _check_count("limit", limit)
    wrong = np.flatnonzero(metrics.y_true != metrics.y_pred)
    true, predicted = metrics.y_true[wrong], metrics.y_pred[wrong]
    confidence = metrics.proba[wrong, predicted]
    order = np.argsort(-confidence, kind="stable")[:limit]  # ties keep sample order
    names = np.asarray(metrics.class_names, dtype=object)
    return pd.DataFrame({
        "index": wrong[order], "true": true[order], "predicted": predicted[order],
        "true_name": names[true[order]], "predicted_name": names[predicted[order]],
        "confidence": confidence[order], "true_proba": metrics.proba[wrong, true][order],
    })


def confused_pairs(metrics: Metrics, *, top: int = 5) -> pd.DataFrame:
    """The `top` most frequent (true, predicted) mistakes, largest count first.

    Columns: true, predicted (labels), true_name, predicted_name, count, and share (the
    fraction of that true class's samples predicted as that class).
    """
    _check_count("top", top)
    off_diagonal = metrics.confusion * (1 - np.eye(metrics.n_classes, dtype=np.int64))
    true, predicted = np.nonzero(off_diagonal)
    counts = off_diagonal[true, predicted]
    order = np.lexsort((predicted, true, -counts))[:top]  # count desc, then by label for stable ties
    names = np.asarray(metrics.class_names, dtype=object)
    true, predicted = true[order], predicted[order]
    return pd.DataFrame({
        "true": true, "predicted": predicted, "true_name": names[true], "predicted_name": names[predicted],
        "count": counts[order], "share": metrics.confusion_normalized[true, predicted],
    })


def train_test_gap(train: Metrics, test: Metrics) -> dict[str, float]:
    """Test minus train for each headline metric (negative: the model does worse on unseen data)."""
    if train.class_names != test.class_names:
        raise ValueError(f"train and test metrics must cover the same classes. Got {list(train.class_names)} "
                         f"and {list(test.class_names)}.")
    return {name: float(getattr(test, name) - getattr(train, name)) for name in HEADLINE}


@dataclass(frozen=True, eq=False)
class LogitChain:
    """One input's way to its label: the logits, the probabilities (softmax, or the sigmoid of one logit z), the
    label (the most probable class)."""

    logits: np.ndarray  # (n_classes,) with a softmax head; (1,) = z with a sigmoid head
    proba: np.ndarray  # (n_classes,)
    label: int
    class_names: tuple[str, ...]

    @property
    def head(self) -> str:
        return "sigmoid" if len(self.logits) == 1 else "softmax"

    def table(self) -> pd.DataFrame:
        """One row per class: its logit (with a sigmoid head z sits on the second class's row), its probability
        and whether it is the label."""
        logits = np.array([np.nan, self.logits[0]]) if self.head == "sigmoid" else self.logits
        return pd.DataFrame({"class": list(self.class_names), "logit": logits.astype(float),
                             "probability": self.proba.astype(float),
                             "label": [k == self.label for k in range(len(self.class_names))]})

    def formula(self) -> str:
        """The step from logits to probabilities, with this input's numbers, in one line of plain text."""
        names, p = self.class_names, self.proba
        if self.head == "sigmoid":
            z = float(self.logits[0])
            return (f"sigmoid: p({names[1]}) = 1 / (1 + e^(-z)) = 1 / (1 + e^({-z:.3g})) = {p[1]:.3f}, "
                    f"p({names[0]}) = 1 - {p[1]:.3f} = {p[0]:.3f}; the label is {names[self.label]} "
                    f"(z {'>' if z > 0 else '<='} 0).")
        return (f"softmax: p(k) = e^(z_k) / (sum of e^(z_j) over the {len(names)} classes); the label is the "
                f"class with the largest logit, {names[self.label]} (p = {p[self.label]:.3f}).")


def logit_chain(logits: np.ndarray, class_names: Sequence[str]) -> LogitChain:
    """The chain for one input's logits: (n_classes,) for softmax, (1,) for a sigmoid head."""
    names, z = _check_class_names(class_names), np.asarray(logits, dtype=np.float64).ravel()
    if len(z) == 1 and len(names) == 2:
        p1 = 1.0 / (1.0 + np.exp(-z[0]))
        return LogitChain(_read_only(z), _read_only(np.array([1.0 - p1, p1])), int(z[0] > 0), names)
    if len(z) != len(names):
        raise ValueError(f"logits must hold one value per class ({len(names)}), or one for a sigmoid head with "
                         f"two classes. Got {len(z)}.")
    e = np.exp(z - z.max())  # shifted by the largest: the same softmax, without overflow
    return LogitChain(_read_only(z), _read_only(e / e.sum()), int(z.argmax()), names)
