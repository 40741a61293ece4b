"""The exported script: it runs on its own, reproduces the dashboard's test accuracy, and runs no typed text."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from core.config import DataConfig, ModelConfig, TrainConfig
from core.data.make import make_dataset
from core.data.points import points_dataset
from core.export.script import ScriptInputs, export_script
from core.lab import Lab
from core.models import build_model
from core.training.train import train_model


def run_script(text: str, folder: Path) -> tuple[float, str]:
    """Write and run the script in `folder`; (its test accuracy, everything it printed)."""
    path = folder / "nnlab_run.py"
    path.write_text(text)
    done = subprocess.run([sys.executable, str(path)], cwd=folder, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    found = re.search(r"test accuracy: ([0-9.]+) on", done.stdout)
    assert found, done.stdout
    return float(found.group(1)), done.stdout


def test_the_script_reproduces_the_circles_test_accuracy(tmp_path: Path) -> None:
    config = DataConfig(name="circles", n_samples=400, noise=0.15, seed=4)
    lab = Lab()
    lab.set_data(config, make_dataset(config))
    lab.set_model_config(ModelConfig(kind="mlp", hidden=(8, 8), activation="tanh", features=("x", "y", "xx", "yy")))
    train = TrainConfig(optimizer="adam", lr=0.03, batch_size=32, epochs=30, l1=1e-4, seed=4, init_seed=2)
    lab.train(train, wait=True)
    app = lab.evaluation().test.accuracy
    accuracy, printed = run_script(export_script(ScriptInputs(config, lab.model_config, train, lab.data.class_names)),
                                   tmp_path)
    assert abs(accuracy - app) <= 0.01, (accuracy, app)
    assert f"{len(lab.data.y_train):,} training, {len(lab.data.y_val):,} validation" in printed


def test_the_script_draws_its_weights_batches_and_dropout_as_the_dashboard_does(tmp_path: Path) -> None:
    # Three different seeds and dropout on: any draw made differently would move the validation curve.
    config = DataConfig(name="moons", n_samples=300, noise=0.2, seed=3)
    data = make_dataset(config)
    model = ModelConfig(kind="mlp", hidden=(16, 16), dropout=0.3)
    train = TrainConfig(optimizer="adam", lr=0.01, batch_size=16, epochs=10, seed=5, init_seed=2)
    history = train_model(build_model(model, seed=train.init_seed), data, train).history
    _, printed = run_script(export_script(ScriptInputs(config, model, train, data.class_names)), tmp_path)
    losses = [float(v) for v in re.findall(r"validation loss ([0-9.]+)", printed)]  # every epoch, to 4 places
    assert losses == pytest.approx([e.val_loss for e in history], abs=2e-4)


def test_class_names_cannot_become_code(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    hostile = ('quote " and \\' "'", "new\nline", f"__import__('os').system('touch {marker}')")
    rng = np.random.default_rng(0)
    X = np.concatenate([rng.normal(3 * k, 0.4, (50, 2)) for k in range(3)])
    y = np.repeat([0, 1, 2], 50)
    data = points_dataset(X, y, hostile)
    inputs = ScriptInputs(DataConfig(name="csv"), ModelConfig(hidden=(8,), n_classes=3), TrainConfig(epochs=20),
                          hostile, points=(X, y))
    text = export_script(inputs)
    names_line = next(line for line in text.splitlines() if line.startswith("CLASS_NAMES = "))
    assert ast.literal_eval(names_line.removeprefix("CLASS_NAMES = ")) == hostile  # a literal, kept exactly
    accuracy, _ = run_script(text, tmp_path)
    assert not marker.exists(), "a class name ran as code"
    assert accuracy > 0.9 and len(data.y_test) == 30


def test_only_plain_values_and_known_data_are_written() -> None:
    with pytest.raises(ValueError, match="the script makes its data itself"):
        export_script(ScriptInputs(DataConfig(name="digits"), ModelConfig(), TrainConfig(), ("0", "1")))
    with pytest.raises(ValueError, match="needs the points"):
        export_script(ScriptInputs(DataConfig(name="csv"), ModelConfig(), TrainConfig(), ("a", "b")))


@pytest.mark.mnist
def test_the_script_trains_a_cnn_on_a_small_mnist_subset(tmp_path: Path, mnist_folder: Path) -> None:
    config = DataConfig(name="mnist", data_dir=str(mnist_folder), train_size=500, download=False)
    model = ModelConfig(kind="cnn", width=8, input_shape=(1, 28, 28), n_classes=10)
    train = replace(TrainConfig(), lr=3e-3, batch_size=64, epochs=2)
    accuracy, printed = run_script(export_script(ScriptInputs(config, model, train, tuple("0123456789"))), tmp_path)
    assert "500 training, 1,200 validation and 2,000 test points" in printed and accuracy > 0.6


def test_the_command_line_writes_the_script_and_runs_a_link(tmp_path: Path, capsys) -> None:
    import json

    from core.__main__ import main

    out = tmp_path / "run.py"
    assert main(["export-script", "--dataset", "moons", "--hidden", "8", "--epochs", "40", "--out", str(out)]) == 0
    assert "Wrote" in capsys.readouterr().out
    accuracy, _ = run_script(out.read_text(), tmp_path)
    assert main(["train", "--dataset", "moons", "--hidden", "8", "--epochs", "40", "--threads", "1", "--json"]) == 0
    assert abs(json.loads(capsys.readouterr().out)["metrics"]["test"]["accuracy"] - accuracy) <= 0.01
    link = "http://localhost:8501/train?data=moons&model=mlp&hidden=8&ep=40&bogus=1"
    assert main(["train", "--from-url", link, "--threads", "1", "--json"]) == 0
    captured = capsys.readouterr()
    report = json.loads(captured.out)
    assert report["config"]["data"]["name"] == "moons" and report["config"]["model"]["hidden"] == [8]
    assert "ignored in the link" in captured.err and "bogus" in captured.err
