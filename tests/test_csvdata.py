"""Your own points as CSV: spreadsheet dialects read, every bad file refused with its own message."""

from __future__ import annotations

import numpy as np
import pytest

from core.config import DataError
from core.data.csvfile import CsvError, PointSet, read_points_csv, write_points_csv
from core.data.points import points_dataset
from tests.csv_corpus import bad, good


@pytest.mark.parametrize("name", sorted(good()))
def test_good_files_read_in_every_dialect(name: str) -> None:
    points = read_points_csv(good()[name])
    assert points.X.shape == (12, 2) and points.X.dtype == np.float32
    assert points.class_names in (("a", "b"), ("0", "1")) and np.bincount(points.y).tolist() == [6, 6]
    reference = read_points_csv(good()["plain"])
    np.testing.assert_allclose(points.X, reference.X, atol=1e-6)  # decimal commas read as decimals


def test_the_corpus_holds_at_least_twenty_bad_files_each_with_its_own_message() -> None:
    cases = bad()
    assert len(cases) >= 20
    messages = {}
    for name, (raw, fragment) in cases.items():
        with pytest.raises(CsvError) as caught:
            read_points_csv(raw)
        assert fragment in str(caught.value), (name, str(caught.value))
        assert "\n" not in str(caught.value) and len(str(caught.value)) < 300, name
        messages[name] = str(caught.value)
    assert len(set(messages.values())) >= 18  # specific messages, not one catch-all


def test_a_csv_error_is_a_value_error_the_pages_already_catch() -> None:
    assert issubclass(CsvError, ValueError)


def test_export_gives_the_same_points_back() -> None:
    points = read_points_csv(good()["plain"])
    again = read_points_csv(write_points_csv(points))
    np.testing.assert_allclose(again.X, points.X, rtol=1e-5)
    assert again.class_names == points.class_names and (again.y == points.y).all()


def test_imported_points_become_a_standardised_dataset_in_three_splits() -> None:
    rng = np.random.default_rng(1)
    X = np.concatenate([rng.normal(1000, 50, (60, 2)), rng.normal(1300, 50, (60, 2))])  # far from the origin
    y = np.repeat([0, 1], 60)
    data = points_dataset(X, y, ("low", "high"), seed=3)
    assert len(data.y_train) + len(data.y_val) + len(data.y_test) == 120
    assert abs(float(data.X_train.mean())) < 1e-5 and data.X_train.std(axis=0) == pytest.approx([1, 1], abs=1e-5)
    mean, std = data.units  # undoes the standardisation: every split back in the file's own units
    restored = np.concatenate([data.X_train, data.X_val, data.X_test]) * std + mean
    np.testing.assert_allclose(np.sort(restored, axis=0), np.sort(X, axis=0), rtol=1e-5)
    assert data.origin == "user" and data.class_names == ("low", "high")


def test_too_few_points_to_split_gets_a_clear_message() -> None:
    points = PointSet(np.zeros((10, 2), np.float32), np.repeat([0, 1], 5), ("a", "b"))
    with pytest.raises(DataError, match="every split needs at least 5 of each class"):
        points_dataset(points.X, points.y, points.class_names)


def test_the_command_line_trains_on_a_csv_file(tmp_path, capsys) -> None:
    import json

    from core.__main__ import main
    from tests.csv_corpus import csv_bytes, rows

    path = tmp_path / "points.csv"
    path.write_bytes(csv_bytes(rows(n_per_class=60, classes=("left", "right"))))
    assert main(["train", "--dataset", "csv", "--csv", str(path), "--threads", "1", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["metrics"]["test"]["accuracy"] >= 0.95 and report["metrics"]["test"]["n_samples"] == 24
    assert main(["train", "--dataset", "csv", "--threads", "1"]) == 2
    assert "--dataset csv needs --csv FILE" in capsys.readouterr().err
    (tmp_path / "bad.csv").write_bytes(b"x,y\n1,2\n")
    assert main(["train", "--dataset", "csv", "--csv", str(tmp_path / "bad.csv")]) == 2
    assert "missing label" in capsys.readouterr().err
