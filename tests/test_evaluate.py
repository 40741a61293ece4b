"""Evaluation: every metric checked against scikit-learn, the mistakes tables, and argument checks."""

from __future__ import annotations

import json

import numpy as np
import pytest
from sklearn import metrics as skm

from core.config import ModelConfig, TrainConfig
from core.evaluate import (
    REPORT_COLUMNS,
    Metrics,
    accuracy_interval,
    class_curves,
    confused_pairs,
    evaluate_model,
    majority_class,
    metrics_from_proba,
    misclassified,
    train_test_gap,
)
from core.models import build_model, predict_proba
from core.training.train import train_model

pytestmark = pytest.mark.filterwarnings("error::UserWarning")  # sklearn's UndefinedMetricWarning included


def random_case(n_classes: int, n: int = 200, seed: int = 0, present: int | None = None):
    """Seeded labels and softmax-like probabilities; labels drawn from the first `present` classes only."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, present or n_classes, size=n)
    proba = rng.dirichlet(np.ones(n_classes), size=n)
    proba[np.arange(n), y] += rng.uniform(0, 1.5, size=n)  # better than chance, still many mistakes
    proba /= proba.sum(axis=1, keepdims=True)
    return y, proba.astype(np.float32), tuple(f"class {i}" for i in range(n_classes))


def check_against_sklearn(m: Metrics, y: np.ndarray, proba: np.ndarray) -> None:
    labels = list(range(proba.shape[1]))
    pred = proba.argmax(axis=1)
    assert m.accuracy == pytest.approx(skm.accuracy_score(y, pred))
    p, r, f, s = skm.precision_recall_fscore_support(y, pred, labels=labels, zero_division=0)
    np.testing.assert_allclose(m.precision, p)
    np.testing.assert_allclose(m.recall, r)
    np.testing.assert_allclose(m.f1, f)
    np.testing.assert_array_equal(m.support, s)
    macro = skm.precision_recall_fscore_support(y, pred, labels=labels, average="macro", zero_division=0)
    assert (m.precision_macro, m.recall_macro, m.f1_macro) == pytest.approx(macro[:3])
    np.testing.assert_array_equal(m.confusion, skm.confusion_matrix(y, pred, labels=labels))
    np.testing.assert_array_equal(m.y_pred, pred)
    assert m.n_samples == len(y) and m.confusion.sum() == len(y)


@pytest.mark.parametrize("n_classes", [2, 3])
def test_metrics_match_sklearn(n_classes: int) -> None:
    y, proba, names = random_case(n_classes)
    m = metrics_from_proba(y, proba, names)
    check_against_sklearn(m, y, proba)
    assert 0.3 < m.accuracy < 0.95  # the case has both hits and mistakes, so the check means something
    np.testing.assert_allclose(m.confusion_normalized.sum(axis=1), 1.0)
    assert list(m.report.index) == [*names, "macro avg", "weighted avg"]
    assert tuple(m.report.columns) == REPORT_COLUMNS
    np.testing.assert_allclose(m.report.loc[list(names), "f1-score"], m.f1)
    assert m.report.loc["macro avg", "precision"] == pytest.approx(m.precision_macro)
    assert m.report.loc["weighted avg", "support"] == len(y)


def test_two_classes_have_roc_and_pr_curves_for_class_one() -> None:
    y, proba, names = random_case(2, seed=1)
    m = metrics_from_proba(y, proba, names)
    fpr, tpr, _ = skm.roc_curve(y, proba[:, 1])
    np.testing.assert_allclose(m.roc.fpr, fpr)
    np.testing.assert_allclose(m.roc.tpr, tpr)
    assert m.roc.auc == pytest.approx(skm.roc_auc_score(y, proba[:, 1]))
    precision, recall, _ = skm.precision_recall_curve(y, proba[:, 1])
    np.testing.assert_allclose(m.pr.precision, precision)
    np.testing.assert_allclose(m.pr.recall, recall)
    assert m.pr.average_precision == pytest.approx(skm.average_precision_score(y, proba[:, 1]))
    assert 0.5 < m.roc.auc < 1.0


def test_multiclass_has_no_binary_curves() -> None:
    m = metrics_from_proba(*random_case(3))
    assert m.roc is None and m.pr is None


def test_a_class_missing_from_y_true_gives_zeros_not_nan() -> None:
    y, proba, names = random_case(3, present=2, seed=2)
    assert 2 not in y and 2 in proba.argmax(axis=1)  # class 2 is predicted but never true
    m = metrics_from_proba(y, proba, names)
    check_against_sklearn(m, y, proba)
    assert m.support[2] == 0 and m.recall[2] == 0 and m.precision[2] == 0
    np.testing.assert_array_equal(m.confusion_normalized[2], 0.0)
    assert np.isfinite(m.confusion_normalized).all() and not m.report.isna().any().any()
    assert list(m.report.index)[:3] == list(names)


def test_a_class_neither_true_nor_predicted_keeps_its_row_and_column() -> None:
    y = np.array([0, 1, 1, 0])
    proba = np.array([[0.7, 0.2, 0.1], [0.4, 0.5, 0.1], [0.6, 0.3, 0.1], [0.5, 0.4, 0.1]])
    m = metrics_from_proba(y, proba, ("a", "b", "c"))
    check_against_sklearn(m, y, proba)
    assert m.confusion.shape == m.confusion_normalized.shape == (3, 3)
    np.testing.assert_allclose(m.confusion_normalized, [[1, 0, 0], [0.5, 0.5, 0], [0, 0, 0]])
    assert len(m.report) == 5 and m.report.loc["c", "support"] == 0


def test_two_classes_with_one_present_skip_the_curves() -> None:
    y, proba, names = random_case(2, present=1, seed=3)
    m = metrics_from_proba(y, proba, names)
    assert m.roc is None and m.pr is None
    check_against_sklearn(m, y, proba)


def test_results_are_read_only_copies() -> None:
    y, proba, names = random_case(2)
    m = metrics_from_proba(y, proba, names)
    y_copy = y.copy()
    y[:] = 0  # the caller's arrays stay the caller's
    assert m.y_true.sum() > 0
    with pytest.raises(ValueError, match="read-only"):
        m.confusion[0, 0] = 99
    summary = json.loads(json.dumps(m.summary(majority_class=1)))
    low, high = summary.pop("accuracy_ci95")
    assert low < m.accuracy < high
    assert summary == pytest.approx(
        {"accuracy": m.accuracy, "precision_macro": m.precision_macro, "recall_macro": m.recall_macro,
         "f1_macro": m.f1_macro, "n_samples": 200, "majority_baseline": float(np.mean(y_copy == 1))})


def small_case() -> Metrics:
    """Five samples, three classes, with known mistakes."""
    y = np.array([0, 0, 1, 2, 2])
    proba = np.array([
        [0.9, 0.05, 0.05],  # right
        [0.2, 0.7, 0.1],  # 0 -> 1 at 0.7
        [0.1, 0.3, 0.6],  # 1 -> 2 at 0.6
        [0.05, 0.9, 0.05],  # 2 -> 1 at 0.9: the most confident mistake
        [0.1, 0.6, 0.3],  # 2 -> 1 at 0.6: ties with sample 2, comes after it
    ])
    return metrics_from_proba(y, proba, ("a", "b", "c"))


def test_misclassified_puts_the_most_confident_mistakes_first() -> None:
    wrong = misclassified(small_case())
    assert list(wrong["index"]) == [3, 1, 2, 4]
    assert list(wrong["true"]) == [2, 0, 1, 2] and list(wrong["predicted"]) == [1, 1, 2, 1]
    assert list(wrong["true_name"]) == ["c", "a", "b", "c"] and list(wrong["predicted_name"]) == ["b", "b", "c", "b"]
    np.testing.assert_allclose(wrong["confidence"], [0.9, 0.7, 0.6, 0.6])
    np.testing.assert_allclose(wrong["true_proba"], [0.05, 0.2, 0.3, 0.3])
    assert list(misclassified(small_case(), limit=2)["index"]) == [3, 1]


def test_misclassified_on_random_cases_is_every_mistake_in_order() -> None:
    m = metrics_from_proba(*random_case(3, seed=4))
    wrong = misclassified(m)
    np.testing.assert_array_equal(np.sort(wrong["index"]), np.flatnonzero(m.y_true != m.y_pred))
    assert wrong["confidence"].is_monotonic_decreasing
    assert (wrong["confidence"] > wrong["true_proba"]).all()


def test_no_mistakes_gives_an_empty_table() -> None:
    m = metrics_from_proba(np.array([0, 1]), np.array([[0.8, 0.2], [0.3, 0.7]]), ("no", "yes"))
    assert misclassified(m).empty and confused_pairs(m).empty


def test_confused_pairs_match_the_confusion_matrix() -> None:
    pairs = confused_pairs(small_case())
    assert list(zip(pairs["true"], pairs["predicted"], pairs["count"])) == [(2, 1, 2), (0, 1, 1), (1, 2, 1)]
    assert list(pairs["true_name"]) == ["c", "a", "b"] and list(pairs["predicted_name"]) == ["b", "b", "c"]
    np.testing.assert_allclose(pairs["share"], [1.0, 0.5, 1.0])

    m = metrics_from_proba(*random_case(3, seed=5))
    pairs = confused_pairs(m, top=10)
    cm = m.confusion
    assert len(pairs) == np.count_nonzero(cm - np.diag(np.diag(cm)))  # fewer than 10 off-diagonal cells
    for _, row in pairs.iterrows():
        assert row["true"] != row["predicted"] and row["count"] == cm[row["true"], row["predicted"]]
        assert row["share"] == pytest.approx(cm[row["true"], row["predicted"]] / cm[row["true"]].sum())
    assert pairs["count"].is_monotonic_decreasing and len(confused_pairs(m, top=2)) == 2


def test_train_test_gap_is_test_minus_train() -> None:
    train, test = metrics_from_proba(*random_case(3, seed=6)), metrics_from_proba(*random_case(3, seed=7))
    gap = train_test_gap(train, test)
    assert gap == pytest.approx({"accuracy": test.accuracy - train.accuracy,
                                 "precision_macro": test.precision_macro - train.precision_macro,
                                 "recall_macro": test.recall_macro - train.recall_macro,
                                 "f1_macro": test.f1_macro - train.f1_macro})
    with pytest.raises(ValueError, match="same classes"):
        train_test_gap(train, metrics_from_proba(*random_case(2)))


def test_evaluate_model_on_a_trained_model(circles) -> None:
    model = build_model(ModelConfig(hidden=(16, 16)), seed=0)
    train_model(model, circles, TrainConfig(epochs=20))
    m = evaluate_model(model, circles.X_test, circles.y_test, circles.class_names)
    assert m.accuracy >= 0.9 and m.roc.auc >= 0.9 and m.n_samples == len(circles.y_test)
    check_against_sklearn(m, circles.y_test, predict_proba(model, circles.X_test))
    small_batches = evaluate_model(model, circles.X_test, circles.y_test, circles.class_names, batch_size=7)
    np.testing.assert_allclose(small_batches.proba, m.proba, atol=1e-6)


def test_evaluate_model_multiclass(blobs) -> None:
    model = build_model(ModelConfig(hidden=(8,), n_classes=3), seed=0)
    train_model(model, blobs, TrainConfig(epochs=10))
    m = evaluate_model(model, blobs.X_test, blobs.y_test, blobs.class_names)
    assert m.accuracy >= 0.8 and m.confusion.shape == (3, 3) and m.roc is None


Y2, P2, NAMES2 = np.array([0, 1, 1]), np.array([[0.6, 0.4], [0.3, 0.7], [0.5, 0.5]]), ("no", "yes")


@pytest.mark.parametrize(("y", "proba", "names", "match"), [
    (Y2[:2], P2, NAMES2, r"shape \(n_samples, n_classes\) = \(2, 2\).*Got \(3, 2\)"),
    (Y2, P2, ("a", "b", "c"), r"= \(3, 3\).*Got \(3, 2\)"),
    (Y2, P2[:, 0], NAMES2, r"Got \(3,\)"),
    (Y2[:0], P2[:0], NAMES2, "no samples"),
    (Y2.astype(float), P2, NAMES2, "integer labels"),
    (np.array([0, 1, 2]), P2, NAMES2, "between 0 and 1.*Got values from 0 to 2"),
    (Y2, P2 * 2, NAMES2, "sum to 1.*Got row sums from 2 to 2"),
    (Y2, np.array([[np.nan, 0.5], [0.3, 0.7], [0.5, 0.5]]), NAMES2, "NaN.*lower learning rate"),
    (Y2, P2, ("only",), "at least 2 classes"),
    (Y2, P2, ("same", "same"), "unique"),
])
def test_bad_arguments_say_what_was_expected(y, proba, names, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        metrics_from_proba(y, proba, names)


def test_evaluate_model_checks_its_arguments(circles) -> None:
    model = build_model(ModelConfig(hidden=(4,)))
    X, y, names = circles.X_test, circles.y_test, circles.class_names
    with pytest.raises(ValueError, match=f"same number of samples. Got {len(X)} inputs and 3 labels"):
        evaluate_model(model, X, y[:3], names)
    with pytest.raises(ValueError, match="no samples"):
        evaluate_model(model, X[:0], y[:0], names)
    with pytest.raises(ValueError, match="batch_size must be at least 1. Got 0"):
        evaluate_model(model, X, y, names, batch_size=0)
    with pytest.raises(ValueError, match=r"\(n_samples, n_classes\) = \(\d+, 3\)"):
        evaluate_model(model, X, y, ("a", "b", "c"))  # a two-class model, three class names


@pytest.mark.parametrize("bad", [-1, 1.5, True])
def test_table_sizes_must_be_counts(bad) -> None:
    with pytest.raises(ValueError, match=f"limit must be a non-negative integer or None. Got {bad!r}"):
        misclassified(small_case(), limit=bad)
    with pytest.raises(ValueError, match="top must be"):
        confused_pairs(small_case(), top=bad)


@pytest.mark.parametrize(("accuracy", "n", "low", "high"), [
    # Wilson score intervals: the roots p of (p̂ - p)² = z² p(1 - p) / n, solved as a quadratic.
    (0.9, 100, 0.8256, 0.9448), (0.5, 100, 0.4038, 0.5962), (1.0, 100, 0.9630, 1.0), (0.98, 2000, 0.9729, 0.9853),
])
def test_accuracy_interval_is_the_wilson_95_interval(accuracy: float, n: int, low: float, high: float) -> None:
    assert accuracy_interval(accuracy, n) == pytest.approx((low, high), abs=1e-4)


def test_accuracy_interval_narrows_with_more_samples_and_refuses_nonsense() -> None:
    widths = [np.subtract(*accuracy_interval(0.9, n)[::-1]) for n in (100, 1000, 10_000)]
    assert widths[0] > widths[1] > widths[2] > 0
    for bad in ((0.9, 0), (1.5, 10), (-0.1, 10)):
        with pytest.raises(ValueError, match="need n >= 1"):
            accuracy_interval(*bad)
    assert majority_class(np.array([2, 2, 1, 0, 2])) == 2


def test_one_vs_rest_curves_match_scikit_learn_on_the_binarised_labels() -> None:
    from sklearn.metrics import average_precision_score, roc_auc_score

    y, proba, names = random_case(4)
    roc, pr = class_curves(y, proba, 2)
    assert roc.auc == pytest.approx(roc_auc_score(y == 2, proba[:, 2]))
    assert pr.average_precision == pytest.approx(average_precision_score(y == 2, proba[:, 2]))
    with pytest.raises(ValueError, match="class index from 0 to 3"):
        class_curves(y, proba, 4)
    with pytest.raises(ValueError, match="need samples of class 1 and of other classes"):
        class_curves(np.ones(5, dtype=int), np.full((5, 4), 0.25), 1)
